// Guided scenarios for solo mode: each sets up a network (size, faults, seed) and is a short script
// of steps; each step runs the simulation until something worth looking at happens, then pauses
// there with a few sentences about it. Data only, plus the matcher that decides when a step is
// reached, so that the worker (which runs them) and the tests share one definition.

import type { ReplicaEvent } from '../protocol/types.ts';
import type { SoloConfig, SoloSession } from './session.ts';

export type StopWhen =
  /** Stop at once (a closing remark). */
  | { readonly kind: 'now' }
  /** Every honest validator has committed this height. */
  | { readonly kind: 'height'; readonly atLeast: number }
  /** Some validator reports an event of this type (and, for some, of this detail). */
  | { readonly kind: 'view-change' }
  | { readonly kind: 'quarantined' }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'settled-later' }
  /** Two honest validators committed different blocks at one height. */
  | { readonly kind: 'fork' };

export interface LessonStep {
  readonly text: string;
  readonly until: StopWhen;
  /** Virtual time this step may take before the lesson says it did not happen. */
  readonly withinMs: number;
}

export interface Lesson {
  readonly id: string;
  readonly title: string;
  readonly config: SoloConfig;
  readonly steps: readonly LessonStep[];
}

const quiet = { protocol: 'mlt', seed: 1, txPerSecond: 2 } as const;

export const lessons: readonly Lesson[] = [
  {
    id: 'normal-height',
    title: 'A normal height: three phases',
    config: { ...quiet, validators: 4, byzantine: 0, fault: 'none' },
    steps: [
      {
        text: 'Four honest validators: n = 4 = 3f + 1 with f = 1, so every quorum is q = 3. The primary sends PRE-PREPARE with its block; each member that accepts it sends PREPARE to the others.',
        until: { kind: 'height', atLeast: 1 },
        withinMs: 10_000,
      },
      {
        text: 'Height 1 is committed: each member held 3 matching PREPAREs ("prepared 3/3"), then sent COMMIT, and committed on 3 COMMITs. Any two quorums of 3 out of 4 share an honest member, so no two blocks can both be committed at one height.',
        until: { kind: 'height', atLeast: 3 },
        withinMs: 10_000,
      },
    ],
  },
  {
    id: 'silent-primary',
    title: 'A silent primary and the view change',
    config: { ...quiet, validators: 4, byzantine: 1, fault: 'silent' },
    steps: [
      {
        text: 'One of the four is a silent primary: it votes like the others but never proposes. While it is not the primary, nothing shows.',
        until: { kind: 'height', atLeast: 2 },
        withinMs: 20_000,
      },
      {
        text: 'Now the silent one is primary: no PRE-PREPARE comes. Each member times out and sends VIEW-CHANGE for the next view; on q of them the next primary sends NEW-VIEW and proposes.',
        until: { kind: 'view-change' },
        withinMs: 60_000,
      },
      {
        text: 'The height was decided in a later view by the next primary. The silent validator let its view time out, which the certificate records (its view is above 0): its trust falls at the end of the epoch.',
        until: { kind: 'height', atLeast: 8 },
        withinMs: 60_000,
      },
    ],
  },
  {
    id: 'equivocator',
    title: 'An equivocating validator caught and quarantined',
    config: { ...quiet, validators: 7, byzantine: 1, fault: 'equivocate' },
    steps: [
      {
        text: 'Seven validators (f = 2), one of them an equivocator: when primary, it signs two different blocks for one height and sends one to each half.',
        until: { kind: 'height', atLeast: 2 },
        withinMs: 20_000,
      },
      {
        text: 'Two signed PRE-PREPAREs for one height and view are proof. Whoever holds both puts them in a block as evidence; at the next epoch the equivocator is moved to Quarantined and leaves the committee.',
        until: { kind: 'quarantined' },
        withinMs: 120_000,
      },
    ],
  },
  {
    id: 'sleeper',
    title: 'A sleeper earns trust, then attacks',
    config: { ...quiet, validators: 7, byzantine: 1, fault: 'sleeper' },
    steps: [
      {
        text: 'The sleeper behaves perfectly: it votes on time, and its trust rises like everyone else’s.',
        until: { kind: 'height', atLeast: 4 },
        withinMs: 30_000,
      },
      {
        text: 'Trust is earned from committed signatures, so it reaches the Core committee and turns: it starts to equivocate.',
        until: { kind: 'quarantined' },
        withinMs: 180_000,
      },
      {
        text: 'Its first equivocation is its last: the evidence is committed and it is quarantined. Trust let it in; proof took it out. Safety held throughout.',
        until: { kind: 'now' },
        withinMs: 0,
      },
    ],
  },
  {
    id: 'more-than-f',
    title: 'More than f faults break safety',
    config: { ...quiet, validators: 4, byzantine: 2, fault: 'equivocate', seed: 1 },
    steps: [
      {
        text: 'Four validators tolerate f = 1. Here two collude: when one is primary it sends two blocks, and both vote for both, each to its half of the honest members.',
        until: { kind: 'height', atLeast: 1 },
        withinMs: 20_000,
      },
      {
        text: 'Each honest member sees 3 matching votes for “its” block: 2 from the colluders and its own. Two honest validators commit different blocks at one height: the chain forked. 3f + 1 is a promise only while at most f misbehave.',
        until: { kind: 'fork' },
        withinMs: 60_000,
      },
    ],
  },
  {
    id: 'bill-payments',
    title: 'Bills: a double payment, and a high-value payment settled at level 2',
    config: { ...quiet, validators: 20, byzantine: 0, fault: 'none', txPerSecond: 8 },
    steps: [
      {
        text: 'Twenty validators: the Core committee holds at most 16, the next are Candidates. The city issues bills and households pay them. Here a household pays a bill it has already paid: the ledger rejects it, whoever the primary is.',
        until: { kind: 'rejected', reason: 'bill-already-paid' },
        withinMs: 120_000,
      },
      {
        text: 'A high-value payment is committed by the Core committee but is final only when enough Candidates attest it: level-2 settlement, a few heights after its commit.',
        until: { kind: 'settled-later' },
        withinMs: 240_000,
      },
    ],
  },
];

export function lessonById(id: string): Lesson | undefined {
  return lessons.find((l) => l.id === id);
}

/**
 * Whether `event` (reported by a validator, Byzantine or not; `inView` when by the validator whose
 * ledger the page shows) reaches the stop `until`. A ledger moment waits for the validator in view,
 * so that its ledger shows what the lesson speaks of when the lesson pauses.
 */
export function eventReaches(
  until: StopWhen,
  event: ReplicaEvent,
  byzantine: boolean,
  inView = true,
): boolean {
  switch (until.kind) {
    case 'view-change':
      return event.type === 'view-change' && !byzantine;
    case 'quarantined':
      return event.type === 'tier-change' && event.to === 'quarantined' && !byzantine;
    case 'rejected':
      return inView && event.type === 'tx-rejected' && event.reason === until.reason;
    case 'settled-later':
      return inView && event.type === 'payment-settled' && event.settledAtHeight > event.height;
    default:
      return false;
  }
}

/**
 * Runs `session` until `step` is reached; false (with the reason) if it is not within its time.
 * Steps one item at a time, so the run pauses exactly at the moment.
 */
export async function runLessonStep(
  session: SoloSession,
  step: LessonStep,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const until = step.until;
  if (until.kind === 'now') return { ok: true };
  const byzantine = new Set(
    session
      .snapshot()
      .validators.filter((v) => v.fault !== null)
      .map((v) => v.validator),
  );
  let hit = false;
  const unsubscribe = session.subscribe((o) => {
    if (
      o.kind === 'event' &&
      eventReaches(
        until,
        o.event,
        byzantine.has(o.validator),
        o.endpoint === session.endpointInView,
      )
    )
      hit = true;
  });
  try {
    const start = session.virtualTime;
    for (let i = 0; !hit; i++) {
      const sim = session.simulation;
      if (until.kind === 'height' && sim.minHonestHeight() >= until.atLeast) break;
      if (until.kind === 'fork' && i % 25 === 0 && sim.summaryNow().safety.forks > 0) break;
      if (session.virtualTime - start > step.withinMs)
        return { ok: false, reason: `it did not happen within ${step.withinMs / 1000} s` };
      if ((await session.step(1)) === 0) return { ok: false, reason: 'the run ended first' };
    }
    return { ok: true };
  } finally {
    unsubscribe();
  }
}
