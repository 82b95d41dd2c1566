// Deterministic primary selection. Multi-level trust: a Tendermint-style proposer-priority walk
// weighted by trust, so trusted members propose more often but everyone in the committee gets
// turns; flat PBFT: plain round robin. The primary of (height, view) is entry
// (height − firstHeight + view) of the epoch's sequence, so a view change moves to the next entry.

import type { ProtocolMode, ValidatorId } from './types.ts';

export class ProposerSchedule {
  private readonly sequence: ValidatorId[] = [];
  private readonly priorities: number[];

  constructor(
    readonly mode: ProtocolMode,
    /** First height of the epoch this schedule serves. */
    readonly firstHeight: number,
    readonly committee: readonly ValidatorId[],
    /** Weight per committee member (trust, at least 1); ignored in flat PBFT. */
    private readonly weights: readonly number[],
  ) {
    if (committee.length === 0) throw new Error('a committee is never empty');
    this.priorities = committee.map(() => 0);
  }

  primary(height: number, view: number): ValidatorId {
    const index = height - this.firstHeight + view;
    if (index < 0) throw new RangeError(`height ${height} precedes this epoch (first ${this.firstHeight})`);
    if (this.mode === 'pbft') return this.committee[(height + view) % this.committee.length]!;
    while (this.sequence.length <= index) this.sequence.push(this.advance());
    return this.sequence[index]!;
  }

  private advance(): ValidatorId {
    const total = this.weights.reduce((a, b) => a + Math.max(1, b), 0);
    let best = 0;
    for (let i = 0; i < this.committee.length; i++) {
      this.priorities[i]! += Math.max(1, this.weights[i]!);
      if (this.priorities[i]! > this.priorities[best]!) best = i;
    }
    this.priorities[best]! -= total;
    return this.committee[best]!;
  }
}
