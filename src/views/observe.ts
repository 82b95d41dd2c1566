// Turning protocol messages into view observations: the height and view a message is about.

import type { Message } from '../protocol/types.ts';

export function heightViewOf(m: Message): { height: number; view: number } | null {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return { height: m.vote.height, view: m.vote.view };
    case 'view-change':
      return { height: m.viewChange.height, view: m.viewChange.view };
    case 'new-view':
      return { height: m.height, view: m.view };
    case 'decided':
      return { height: m.committed.block.height, view: m.committed.certificate.view };
    default:
      return null;
  }
}
