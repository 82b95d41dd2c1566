// Quorum arithmetic of a PBFT committee (DESIGN.md §4.2). With n members and at most
// f = ⌊(n−1)/3⌋ Byzantine, any two sets of q = ⌊2n/3⌋+1 members share at least one honest member:
// |Q1 ∩ Q2| ≥ 2q − n ≥ f + 1. That intersection is the whole safety argument.

/** Byzantine members a committee of `n` tolerates. */
export function faultsTolerated(n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`committee size must be a positive integer, got ${n}`);
  return Math.floor((n - 1) / 3);
}

/** Matching votes needed for a prepared or commit certificate in a committee of `n`. */
export function quorumSize(n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`committee size must be a positive integer, got ${n}`);
  return Math.floor((2 * n) / 3) + 1;
}

/** View-changes for higher views that make a member join (at least one of them is honest). */
export function weakQuorumSize(n: number): number {
  return faultsTolerated(n) + 1;
}
