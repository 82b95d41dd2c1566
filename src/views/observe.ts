// Turning protocol messages into view observations: the height and view a message is about.

import { heightAndView } from '../protocol/about.ts';
import type { Message } from '../protocol/types.ts';

export function heightViewOf(m: Message): { height: number; view: number } | null {
  const { height, view } = heightAndView(m);
  return height === null ? null : { height, view: view ?? 0 };
}
