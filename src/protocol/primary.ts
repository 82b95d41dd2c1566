// Deterministic primary selection. Multi-level trust: a Tendermint-style proposer-priority walk
// weighted by trust, so trusted members propose more often but everyone in the committee gets
// turns; flat PBFT: plain round robin. The primary of (height, view) is entry
// (height − firstHeight + view) of the epoch's sequence, so a view change moves to the next entry.

import type { ProtocolMode, ValidatorId } from './types.ts';

/** Entries a schedule will compute; views beyond this are refused before they get here. */
export const maxScheduleEntries = 100_000;

export class ProposerSchedule {
  private readonly sequence: ValidatorId[] = [];
  private readonly priorities: number[];
  private readonly total: number;

  constructor(
    readonly mode: ProtocolMode,
    /** First height of the epoch this schedule serves. */
    readonly firstHeight: number,
    readonly committee: readonly ValidatorId[],
    /** Weight per committee member (trust, at least 1); ignored in flat PBFT. */
    private readonly weights: readonly number[],
    /**
     * Priorities carried over from the previous epoch (Tendermint does the same), so that the
     * walk continues across epochs instead of restarting: with a fresh start every epoch, a
     * committee larger than an epoch would let the same members propose every time.
     */
    carried: ReadonlyMap<ValidatorId, number> = new Map(),
    /** After how many entries to remember the priorities for the next epoch (its length). */
    private readonly carryAfter = 0,
  ) {
    if (committee.length === 0) throw new Error('a committee is never empty');
    this.priorities = committee.map((id) => carried.get(id) ?? 0);
    this.start = [...this.priorities];
    this.total = weights.reduce((a, b) => a + Math.max(1, b), 0);
  }

  primary(height: number, view: number): ValidatorId {
    const index = height - this.firstHeight + view;
    if (height < this.firstHeight || view < 0 || !Number.isSafeInteger(index)) {
      throw new RangeError(
        `no primary for height ${height} view ${view} (epoch starts at ${this.firstHeight})`,
      );
    }
    if (this.mode === 'pbft') return this.committee[(height + view) % this.committee.length]!;
    if (index >= maxScheduleEntries) throw new RangeError(`view ${view} is beyond the schedule`);
    while (this.sequence.length <= index) this.sequence.push(this.advance());
    return this.sequence[index]!;
  }

  /**
   * The priorities after exactly `carryAfter` steps of the walk, centred (as Tendermint does) so
   * they stay bounded however long the chain runs: what the next epoch carries. The same on every
   * node, however many views this node has seen.
   */
  carriedPriorities(): Map<ValidatorId, number> {
    if (this.mode === 'pbft') return new Map();
    let snapshot: readonly number[] = this.start;
    if (this.carryAfter > 0) {
      this.primary(this.firstHeight + this.carryAfter - 1, 0);
      snapshot = this.carrySnapshot!;
    }
    const mean = Math.trunc(snapshot.reduce((a, b) => a + b, 0) / snapshot.length);
    return new Map(this.committee.map((id, i) => [id, snapshot[i]! - mean]));
  }

  /** Priorities after `carryAfter` steps (kept so the carry does not depend on views seen). */
  private carrySnapshot: readonly number[] | null = null;
  private readonly start: readonly number[];

  private advance(): ValidatorId {
    const previous =
      this.sequence.length > 0
        ? this.committee.indexOf(this.sequence[this.sequence.length - 1]!)
        : -1;
    let best = -1;
    for (let i = 0; i < this.committee.length; i++) {
      this.priorities[i]! += Math.max(1, this.weights[i]!);
      // A view change must move to another member (DESIGN.md §4.2: the primary rotates), so the
      // walk never names the same member twice in a row.
      if (i === previous && this.committee.length > 1) continue;
      if (best < 0 || this.priorities[i]! > this.priorities[best]!) best = i;
    }
    this.priorities[best]! -= this.total;
    if (this.sequence.length + 1 === this.carryAfter) this.carrySnapshot = [...this.priorities];
    return this.committee[best]!;
  }
}
