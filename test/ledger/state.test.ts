// The persistent state: HexMap semantics, no mutation of input states, structural sharing, and a
// state root that depends on content only.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashOf } from '../../src/crypto/index.ts';
import {
  type LedgerState,
  HexMap,
  accountOf,
  accountsOf,
  applyBlock,
  applyTx,
  balanceOf,
  billOf,
  checkTx,
  stateRoot,
} from '../../src/ledger/ledger.ts';
import type { SignedTx } from '../../src/ledger/types.ts';
import { alice, bob, carol, ctx, freshLedger, issuer, power, tx, val, water } from './fixtures.ts';

const key = (i: number): string => hashOf(['k', i]);

describe('HexMap', () => {
  it('set returns a new map and leaves the old one as it was', () => {
    const m0 = HexMap.empty<number>((v) => v);
    const m1 = m0.set(key(1), 10);
    const m2 = m1.set(key(2), 20).set(key(1), 11);
    expect(m0.size).toBe(0);
    expect(m0.get(key(1))).toBeUndefined();
    expect(m1.get(key(1))).toBe(10);
    expect(m1.size).toBe(1);
    expect(m2.get(key(1))).toBe(11);
    expect(m2.size).toBe(2);
    expect(m2.set(key(2), 20)).toBe(m2); // no change, same map
  });

  it('rejects keys that are not 64 lowercase hex chars and finds nothing for them', () => {
    const m = HexMap.empty<number>((v) => v).set(key(1), 1);
    expect(() => m.set('AB'.repeat(32), 1)).toThrow(RangeError);
    expect(() => m.set('ab', 1)).toThrow(RangeError);
    expect(m.get(key(1).toUpperCase())).toBeUndefined();
    expect(m.get('zz')).toBeUndefined();
  });

  it('behaves like a Map, iterates in key order, and its digest ignores insertion order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer()), { maxLength: 120 }),
        (ops) => {
          let m = HexMap.empty<number>((v) => v);
          const model = new Map<string, number>();
          const snapshots: [HexMap<number>, Map<string, number>][] = [];
          for (const [k, v] of ops) {
            m = m.set(key(k), v);
            model.set(key(k), v);
            snapshots.push([m, new Map(model)]);
          }
          expect(m.size).toBe(model.size);
          expect([...m.entries()]).toEqual(
            [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
          );
          for (const [snap, snapModel] of snapshots) {
            expect(snap.size).toBe(snapModel.size);
            for (const [k, v] of snapModel) expect(snap.get(k)).toBe(v);
          }
          // Same content built in reverse order: same digest.
          let r = HexMap.empty<number>((v) => v);
          for (const [k, v] of [...model.entries()].reverse()) r = r.set(k, v);
          expect(r.digest()).toBe(m.digest());
          if (model.size > 0) {
            const [k0, v0] = [...model.entries()][0]!;
            expect(r.set(k0, v0 + 1).digest()).not.toBe(m.digest());
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keys sharing a long prefix split correctly', () => {
    const a = '0'.repeat(63) + '1';
    const b = '0'.repeat(63) + '2';
    const m = HexMap.empty<string>((v) => v)
      .set(a, 'a')
      .set(b, 'b');
    expect(m.get(a)).toBe('a');
    expect(m.get(b)).toBe('b');
    expect(m.get('0'.repeat(64))).toBeUndefined();
    expect([...m.keys()]).toEqual([a, b]);
  });
});

function snapshot(s: LedgerState): string {
  return JSON.stringify({
    accounts: accountsOf(s),
    bills: [...s.bills.entries()],
    payments: [...s.billPayments.entries()],
    validators: [...s.validators.entries()],
    minted: s.minted,
    txCount: s.txCount,
  });
}

function deepFreeze(s: LedgerState): void {
  Object.freeze(s);
  Object.freeze(s.minted);
  for (const a of s.accounts.values()) Object.freeze(Object.freeze(a).balances);
  for (const b of s.bills.values()) Object.freeze(b);
  for (const v of s.validators.values()) Object.freeze(v);
}

function busyBlock(): SignedTx[] {
  return [
    tx(power, {
      type: 'issue-bill',
      nonce: 0,
      payer: alice.id,
      asset: 'CNY',
      amount: 9_000,
      period: 'p1',
      dueHeight: 20,
    }),
    tx(alice, { type: 'pay-bill', nonce: 0, billId: hashOf(['tierbft/bill/v1', power.id, 0]) }),
    tx(alice, { type: 'transfer', nonce: 1, to: bob.id, asset: 'eCNY', amount: 1_000 }),
    tx(issuer, { type: 'mint', nonce: 0, to: bob.id, asset: 'CNY', amount: 777 }),
    tx(carol, { type: 'register', nonce: 0, kind: 'household', name: 'Carol', category: null }),
    tx(val, { type: 'validator-leave', nonce: 0 }),
    tx(bob, { type: 'transfer', nonce: 0, to: alice.id, asset: 'CNY', amount: 10_000_000 }), // rejected
  ];
}

describe('applying never mutates the input state', () => {
  it('applyBlock leaves the old state (balances, bills, nonces, root) exactly as before', () => {
    const s0 = freshLedger();
    const before = snapshot(s0);
    const root = stateRoot(s0);
    const aliceCny = balanceOf(s0, alice.id, 'CNY');
    const r = applyBlock(s0, busyBlock(), ctx);
    expect(r.results.filter((x) => x.ok)).toHaveLength(6);
    expect(snapshot(s0)).toBe(before);
    expect(stateRoot(s0)).toBe(root);
    expect(balanceOf(s0, alice.id, 'CNY')).toBe(aliceCny);
    expect(billOf(s0, hashOf(['tierbft/bill/v1', power.id, 0]))).toBeUndefined();
    expect(stateRoot(r.state)).not.toBe(root);
  });

  it('works on a deeply frozen state (any in-place write would throw)', () => {
    const s0 = freshLedger();
    deepFreeze(s0);
    expect(() => applyBlock(s0, busyBlock(), ctx)).not.toThrow();
  });

  it('two speculative blocks from the same state do not see each other', () => {
    const s0 = freshLedger();
    const a = applyTx(
      s0,
      tx(alice, { type: 'transfer', nonce: 0, to: bob.id, asset: 'CNY', amount: 100 }),
      ctx,
    ).state;
    const b = applyTx(
      s0,
      tx(alice, { type: 'transfer', nonce: 0, to: water.id, asset: 'CNY', amount: 200 }),
      ctx,
    ).state;
    expect(balanceOf(a, bob.id, 'CNY') - balanceOf(s0, bob.id, 'CNY')).toBe(100);
    expect(balanceOf(a, water.id, 'CNY')).toBe(0);
    expect(balanceOf(b, water.id, 'CNY')).toBe(200);
    expect(balanceOf(b, bob.id, 'CNY')).toBe(balanceOf(s0, bob.id, 'CNY'));
  });

  it('untouched entries are shared between old and new state (copy-on-write, not a full copy)', () => {
    const s0 = freshLedger();
    const s1 = applyTx(
      s0,
      tx(alice, { type: 'transfer', nonce: 0, to: bob.id, asset: 'CNY', amount: 100 }),
      ctx,
    ).state;
    expect(accountOf(s1, power.id)).toBe(accountOf(s0, power.id));
    expect(accountOf(s1, issuer.id)).toBe(accountOf(s0, issuer.id));
    expect(accountOf(s1, alice.id)).not.toBe(accountOf(s0, alice.id));
    expect(s1.bills).toBe(s0.bills);
    expect(s1.validators).toBe(s0.validators);
  });

  it('checkTx gives the same result as applyTx and changes nothing', () => {
    const s0 = freshLedger();
    const before = snapshot(s0);
    let s = s0;
    for (const t of busyBlock()) {
      const checked = checkTx(s, t, ctx);
      const applied = applyTx(s, t, ctx);
      expect(checked).toEqual(applied.result);
      s = applied.state;
    }
    expect(snapshot(s0)).toBe(before);
  });

  it('the same block on the same state gives the same root (determinism)', () => {
    const a = applyBlock(freshLedger(), busyBlock(), ctx);
    const b = applyBlock(freshLedger(), busyBlock(), ctx);
    expect(stateRoot(a.state)).toBe(stateRoot(b.state));
    expect(a.results).toEqual(b.results);
    expect(
      stateRoot(applyBlock(freshLedger(), busyBlock(), { ...ctx, height: ctx.height + 1 }).state),
    ).not.toBe(stateRoot(a.state));
  });

  it('an invalid execution height is a programming error', () => {
    expect(() => applyBlock(freshLedger(), [], { ...ctx, height: -1 })).toThrow(RangeError);
    expect(() => checkTx(freshLedger(), busyBlock()[0]!, { ...ctx, height: 1.5 })).toThrow(
      RangeError,
    );
  });
});
