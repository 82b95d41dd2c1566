// The behaviours a tab can switch its validator to, in words (DESIGN.md §5).

import type { FaultMode } from '../faults/index.ts';

export const faultText = {
  none: 'Honest: follows the protocol',
  crash: 'Crash: stops handling and sending anything; switched back, it catches up',
  silent:
    'Silent primary: never proposes when it is the primary (its views time out); votes otherwise',
  equivocate:
    'Equivocate: tells two halves different things (two blocks as primary, votes for a block that does not exist otherwise)',
  'wrong-digest': 'Wrong digest: votes, to everyone alike, for a block nobody proposed',
  'invalid-proposal':
    'Invalid proposal: as primary, proposes a block with a double payment or a broken signature',
  forge: 'Forge: sends messages with forged signatures',
  'stale-view-change':
    'Lies in view changes: claims it prepared nothing (hides its prepared block)',
  delay: 'Delay: holds every message for 1.5 s',
  drop: 'Drop: ignores half of its peers',
  twins: 'Twins: a second copy with the same key, each copy talking to half of the peers',
  sleeper: 'Sleeper: honest until it reaches Core, then equivocates',
} as const satisfies Record<FaultMode, string>;

export type LiveFault = keyof typeof faultText;
