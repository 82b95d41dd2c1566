// DESIGN.md §4.2, quorum arithmetic: f = ⌊(n−1)/3⌋ Byzantine members tolerated, quorum q = ⌊2n/3⌋+1.
// Safety rests on any two quorums sharing an honest member; liveness on the honest members alone
// forming a quorum.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultsTolerated, quorumSize, weakQuorumSize } from '../../src/protocol/quorum.ts';

// n → [f, q], written out by hand from the formulas (and the classic PBFT sizes 3f+1 → 2f+1).
const table: Readonly<Record<number, readonly [number, number]>> = {
  1: [0, 1],
  2: [0, 2],
  3: [0, 3],
  4: [1, 3],
  5: [1, 4],
  6: [1, 5],
  7: [2, 5],
  8: [2, 6],
  9: [2, 7],
  10: [3, 7],
  13: [4, 9],
  16: [5, 11],
};

describe('quorum sizes', () => {
  for (const [nText, [f, q]] of Object.entries(table)) {
    const n = Number(nText);
    it(`a committee of ${n} tolerates f=${f} faults and needs q=${q} matching votes`, () => {
      expect(faultsTolerated(n)).toBe(f);
      expect(quorumSize(n)).toBe(q);
      expect(weakQuorumSize(n)).toBe(f + 1);
    });
  }

  it('committees of 3f+1 members tolerate f faults with quorums of 2f+1', () => {
    for (let f = 0; f <= 60; f++) {
      expect(faultsTolerated(3 * f + 1)).toBe(f);
      expect(quorumSize(3 * f + 1)).toBe(2 * f + 1);
    }
  });

  it('f is the largest number with 3f < n', () => {
    for (let n = 1; n <= 200; n++) {
      const f = faultsTolerated(n);
      expect(3 * f).toBeLessThan(n);
      expect(3 * (f + 1)).toBeGreaterThanOrEqual(n);
    }
  });
});

describe('quorum properties for every committee size 1..200', () => {
  it('any two quorums share at least f+1 members (2q − n ≥ f+1), so at least one honest member', () => {
    for (let n = 1; n <= 200; n++) {
      const f = faultsTolerated(n);
      const q = quorumSize(n);
      expect(2 * q - n, `n=${n}`).toBeGreaterThanOrEqual(f + 1);
    }
  });

  it('the honest members alone form a quorum (q ≤ n − f): f silent members cannot block progress', () => {
    for (let n = 1; n <= 200; n++) {
      expect(quorumSize(n), `n=${n}`).toBeLessThanOrEqual(n - faultsTolerated(n));
    }
  });

  it('a quorum never exceeds the committee and is a strict majority', () => {
    for (let n = 1; n <= 200; n++) {
      const q = quorumSize(n);
      expect(q).toBeLessThanOrEqual(n);
      expect(2 * q).toBeGreaterThan(n);
    }
  });

  it('f+1 view-changes always include an honest sender, and the honest members can supply them', () => {
    for (let n = 1; n <= 200; n++) {
      const f = faultsTolerated(n);
      expect(weakQuorumSize(n)).toBe(f + 1);
      expect(weakQuorumSize(n)).toBeLessThanOrEqual(n - f);
      expect(weakQuorumSize(n)).toBeLessThanOrEqual(quorumSize(n));
    }
  });

  it('two concrete quorums drawn at random intersect in at least f+1 members', () => {
    const committeeAndTwoQuorums = fc.integer({ min: 1, max: 200 }).chain((n) => {
      const q = quorumSize(n);
      const subset = fc.shuffledSubarray([...Array(n).keys()], { minLength: q, maxLength: q });
      return fc.tuple(fc.constant(n), subset, subset);
    });
    fc.assert(
      fc.property(committeeAndTwoQuorums, ([n, a, b]) => {
        const inA = new Set(a);
        const shared = b.filter((x) => inA.has(x)).length;
        expect(shared).toBeGreaterThanOrEqual(faultsTolerated(n) + 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('invalid committee sizes', () => {
  const bad = [
    0,
    -1,
    -4,
    1.5,
    3.999,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ];
  for (const n of bad) {
    it(`n = ${n} is a RangeError for f, q and the weak quorum`, () => {
      expect(() => faultsTolerated(n)).toThrow(RangeError);
      expect(() => quorumSize(n)).toThrow(RangeError);
      expect(() => weakQuorumSize(n)).toThrow(RangeError);
    });
  }
});
