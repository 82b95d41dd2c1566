// What a message is about: for views, traces and the simulator's observations.

import type { Message } from './types.ts';

/** The height and view a message is about, where it names them. */
export function heightAndView(m: Message): { height: number | null; view: number | null } {
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
    case 'block-request':
      return { height: m.fromHeight, view: null };
    case 'block-response':
      return { height: m.blocks[0]?.block.height ?? null, view: null };
    case 'attestation':
      return { height: m.attestation.height, view: null };
    case 'evidence': {
      const v = m.evidence.type === 'equivocation' ? m.evidence.first : m.evidence.proposal;
      return { height: v.height, view: v.view };
    }
    case 'tx':
      return { height: null, view: null };
  }
}
