import { describe, expect, it } from 'vitest';
import { share } from '../../src/app/share.ts';

/** Shares `next` with `prev` and checks that the result still says what `next` said. */
function shared<T>(prev: unknown, next: T): T {
  const expected = structuredClone(next);
  const out = share(prev, next);
  expect(out).toEqual(expected);
  return out;
}

describe('structural sharing of snapshots', () => {
  it('gives back the previous object when the new one is deep-equal', () => {
    const prev = { a: 1, list: [{ id: 'x', n: 1 }], nested: { s: 'y', none: null } };
    const before = structuredClone(prev);
    expect(shared(prev, structuredClone(prev))).toBe(prev);
    expect(prev).toEqual(before);
  });

  it('keeps the unchanged parts of a changed object', () => {
    const prev = { height: 1, stats: { framesIn: 1 }, ledger: { bills: [{ id: 'b', s: 'open' }] } };
    const next = structuredClone(prev);
    next.stats.framesIn = 2;
    const out = shared(prev, next);
    expect(out).not.toBe(prev);
    expect(out.ledger).toBe(prev.ledger);
    expect(prev.stats.framesIn).toBe(1);
  });

  it('matches list items by key when the list shifts', () => {
    const prev = [
      { hash: 'h2', txs: [1, 2] },
      { hash: 'h1', txs: [3] },
    ];
    const top = { hash: 'h3', txs: [] as number[] };
    const out = shared(prev, [top, ...structuredClone(prev)]);
    expect(out[0]).toBe(top);
    expect(out[1]).toBe(prev[0]);
    expect(out[2]).toBe(prev[1]);
  });

  it('never keeps a part that differs, whatever the keys say', () => {
    shared(
      [
        { id: '', text: 'a' },
        { id: '', text: 'b' },
      ],
      [
        { id: '', text: 'b' },
        { id: '', text: 'c' },
      ],
    );
    shared([{ id: 'x', n: 1 }], [{ id: 'x', n: 2 }]);
    shared({ a: 1, b: 2 }, { a: 1 });
    shared({ a: 1 }, { a: 1, b: undefined });
    shared({ a: 1, b: undefined }, { a: 1, c: undefined });
    shared([1, 2], [1]);
    shared([1], [1, 2]);
    shared({ a: [1] }, { a: { 0: 1 } });
    shared(null, { a: 1 });
    expect(share({ a: 1 }, null)).toBe(null);
    expect(share({ a: NaN }, { a: NaN }).a).toBeNaN();
  });

  it('compares Maps and other instances by identity', () => {
    const m = new Map([[1, 2]]);
    const prev = { m, other: new Map([[1, 2]]) };
    const next = { m, other: new Map([[1, 2]]) };
    const out = share(prev, next);
    expect(out.m).toBe(m);
    expect(out.other).toBe(next.other);
  });
});
