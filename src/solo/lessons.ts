// Guided scenarios for solo mode: each sets up a network (size, faults, seed) and is a short script
// of steps; each step runs the simulation until something worth looking at happens, then pauses
// there with a few sentences about it. Data only, plus the matcher that decides when a step is
// reached, so that the worker (which runs them) and the tests share one definition.

import type { ReplicaEvent, Tier } from '../protocol/types.ts';
import type { SoloConfig, SoloSession } from './session.ts';

export type StopWhen =
  /** Stop at once (a closing remark). */
  | { readonly kind: 'now' }
  /** Every honest validator has committed this height. */
  | { readonly kind: 'height'; readonly atLeast: number }
  /** Some validator reports an event of this type (and, for some, of this detail). */
  | { readonly kind: 'view-change' }
  | { readonly kind: 'quarantined' }
  /** An honest validator holds (`detected`) or committed (`committed`) proof of misbehaviour. */
  | { readonly kind: 'evidence'; readonly stage: 'detected' | 'committed' }
  /** A Byzantine validator is moved to this tier (as an honest validator records it). */
  | { readonly kind: 'byzantine-moved'; readonly to: Tier }
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
        text: 'Seven validators (f = 2, q = 5), one of them an equivocator. As primary it signed two different blocks for one height and sent one to each half: with the six honest members split, neither block could gather q = 5 matching PREPAREs, and the view timed out (the ▼ marks). An honest member now holds both proposals: two PRE-PREPAREs signed with one key for one height and view are proof.',
        until: { kind: 'evidence', stage: 'detected' },
        withinMs: 20_000,
      },
      {
        text: 'The next primary’s block carries the proof as evidence, and every validator checked both signatures itself. The equivocator’s trust is 0 at once; its tier changes when the epoch ends.',
        until: { kind: 'evidence', stage: 'committed' },
        withinMs: 30_000,
      },
      {
        text: 'The epoch ended: the equivocator is Quarantined and has left the committee. Nobody had to trust the accuser; the two signatures are the proof.',
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
        text: 'The sleeper joined as an Observer with the trust of a newcomer (200), below the founders. It behaves perfectly, and its trust rises with what the chain records of its work.',
        until: { kind: 'height', atLeast: 4 },
        withinMs: 30_000,
      },
      {
        text: 'Its trust passed the Core line: at this epoch boundary it joined the Core committee. Trust is earned from signed, committed work, so an attacker can earn it by being patient.',
        until: { kind: 'byzantine-moved', to: 'core' },
        withinMs: 180_000,
      },
      {
        text: 'Now it turns: it signed two conflicting messages for one height, and an honest member has just received both. That pair is the proof against it.',
        until: { kind: 'evidence', stage: 'detected' },
        withinMs: 60_000,
      },
      {
        text: 'Its first equivocation was its last: the evidence was committed, and at the end of the epoch it is quarantined. Trust let it in; proof took it out. Safety held throughout.',
        until: { kind: 'quarantined' },
        withinMs: 120_000,
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

/** Who reported an event, and who is Byzantine in the run. */
export interface Reporter {
  /** The reporting validator is Byzantine (its word is not taken). */
  readonly byzantine: boolean;
  /** The reporting validator is the one whose ledger the page shows. */
  readonly inView: boolean;
  readonly byzantineIds: ReadonlySet<string>;
}

/**
 * Whether `event` reaches the stop `until`. A ledger moment waits for the validator in view, so
 * that its ledger shows what the lesson speaks of when the lesson pauses.
 */
export function eventReaches(until: StopWhen, event: ReplicaEvent, by: Reporter): boolean {
  const { byzantine, inView, byzantineIds } = by;
  switch (until.kind) {
    case 'evidence':
      return event.type === 'evidence' && event.stage === until.stage && !byzantine;
    case 'byzantine-moved':
      return (
        event.type === 'tier-change' &&
        event.to === until.to &&
        !byzantine &&
        byzantineIds.has(event.id)
      );
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
  const faulty = session.snapshot().validators.filter((v) => v.fault !== null);
  const byzantine = new Set(faulty.map((v) => v.validator));
  const byzantineIds = new Set(faulty.map((v) => v.id));
  let hit = false;
  const unsubscribe = session.subscribe((o) => {
    if (o.kind !== 'event') return;
    const by = {
      byzantine: byzantine.has(o.validator),
      inView: o.endpoint === session.endpointInView,
      byzantineIds,
    };
    if (eventReaches(until, o.event, by)) hit = true;
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
