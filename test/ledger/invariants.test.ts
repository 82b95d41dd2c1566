// Ledger invariants (DESIGN.md §3): per asset Σ balances = Σ minted, no negative balance, a bill is
// paid at most once, nonces non-negative. Each check is shown to fire on a hand-corrupted state, and
// random workloads plus random garbage transactions never break them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifySync } from '../../src/crypto/index.ts';
import { createCity, createWorkload } from '../../src/ledger/city.ts';
import {
  type LedgerState,
  accountOf,
  applyBlock,
  applyTx,
  billIdOf,
  checkInvariants,
  checkTx,
  createLedger,
  maxAmount,
  signTx,
  stateRoot,
} from '../../src/ledger/ledger.ts';
import { type Account, type Bill, type TxBody, billCategories } from '../../src/ledger/types.ts';
import {
  alice,
  bob,
  carol,
  ctx,
  dave,
  fakeId,
  freshLedger,
  power,
  tx,
  val,
  type Who,
} from './fixtures.ts';

function withAccount(s: LedgerState, id: string, edit: (a: Account) => Account): LedgerState {
  const a = accountOf(s, id);
  if (a === undefined) throw new Error('no such account');
  return { ...s, accounts: s.accounts.set(id, edit(a)) };
}

/** A state with one open bill (Alice owes City Power 5 000 CNY) and one paid bill. */
function billedState(): { state: LedgerState; open: string; paid: string } {
  let s = freshLedger();
  const issue = (nonce: number): TxBody => ({
    type: 'issue-bill',
    nonce,
    payer: alice.id,
    asset: 'CNY',
    amount: 5_000,
    period: 'p1',
    dueHeight: 9,
  });
  s = applyBlock(
    s,
    [
      tx(power, issue(0)),
      tx(power, issue(1)),
      tx(alice, { type: 'pay-bill', nonce: 0, billId: billIdOf(power.id, 1) }),
    ],
    ctx,
  ).state;
  expect(checkInvariants(s)).toEqual([]);
  return { state: s, open: billIdOf(power.id, 0), paid: billIdOf(power.id, 1) };
}

function withBill(s: LedgerState, id: string, edit: (b: Bill) => Bill): LedgerState {
  const b = s.bills.get(id);
  if (b === undefined) throw new Error('no such bill');
  return { ...s, bills: s.bills.set(id, edit(b)) };
}

describe('checkInvariants reports each kind of corruption', () => {
  it('a sound state has no violations', () => {
    expect(checkInvariants(freshLedger())).toEqual([]);
    expect(checkInvariants(billedState().state)).toEqual([]);
  });

  it('money appearing without a mint: Σ balances ≠ Σ minted', () => {
    const s = withAccount(freshLedger(), alice.id, (a) => ({
      ...a,
      balances: { ...a.balances, CNY: a.balances.CNY + 1 },
    }));
    expect(checkInvariants(s)).toEqual([
      expect.stringMatching(/sum of CNY balances .* differs from total minted/),
    ]);
  });

  it('money vanishing: the total minted above Σ balances', () => {
    const s0 = freshLedger();
    const s = { ...s0, minted: { ...s0.minted, eCNY: s0.minted.eCNY + 5 } };
    expect(checkInvariants(s)).toEqual([expect.stringMatching(/sum of eCNY balances .* differs/)]);
  });

  it('a negative balance (even when the sums still match)', () => {
    let s = withAccount(freshLedger(), alice.id, (a) => ({
      ...a,
      balances: { ...a.balances, eCNY: a.balances.eCNY - 60_000 },
    }));
    s = withAccount(s, bob.id, (a) => ({
      ...a,
      balances: { ...a.balances, eCNY: a.balances.eCNY + 60_000 },
    }));
    expect(checkInvariants(s)).toEqual([expect.stringMatching(/negative eCNY balance -10000/)]);
  });

  it('a fractional balance', () => {
    let s = withAccount(freshLedger(), alice.id, (a) => ({
      ...a,
      balances: { ...a.balances, CNY: a.balances.CNY + 0.5 },
    }));
    s = withAccount(s, bob.id, (a) => ({
      ...a,
      balances: { ...a.balances, CNY: a.balances.CNY - 0.5 },
    }));
    expect(checkInvariants(s)).toContainEqual(expect.stringMatching(/non-integer CNY balance/));
  });

  it('a negative nonce', () => {
    const s = withAccount(freshLedger(), bob.id, (a) => ({ ...a, nonce: -1 }));
    expect(checkInvariants(s)).toEqual([expect.stringMatching(/invalid nonce -1/)]);
  });

  it('a bill paid twice (payment counter 2)', () => {
    const { state, paid } = billedState();
    const s = { ...state, billPayments: state.billPayments.set(paid, 2) };
    expect(checkInvariants(s)).toContainEqual(expect.stringMatching(/was paid 2 times/));
  });

  it('a bill marked paid with no payment recorded, and an open bill with one', () => {
    const { state, open, paid } = billedState();
    const markedPaid = withBill(state, open, (b) => ({ ...b, status: 'paid', paidHeight: 3 }));
    expect(checkInvariants(markedPaid)).toEqual([
      expect.stringMatching(/marked paid but has 0 payments/),
    ]);
    const reopened = withBill(state, paid, (b) => ({ ...b, status: 'open', paidHeight: null }));
    expect(checkInvariants(reopened)).toEqual([
      expect.stringMatching(/is open but has 1 payments/),
    ]);
  });

  it('a paid bill without a paid height', () => {
    const { state, paid } = billedState();
    expect(checkInvariants(withBill(state, paid, (b) => ({ ...b, paidHeight: null })))).toEqual([
      expect.stringMatching(/status paid and paidHeight null/),
    ]);
  });

  it('a payment recorded for a bill that does not exist', () => {
    const s0 = freshLedger();
    const s = { ...s0, billPayments: s0.billPayments.set(fakeId('ghost'), 1) };
    expect(checkInvariants(s)).toEqual([
      expect.stringMatching(/payment is recorded for unknown bill/),
    ]);
  });

  it('a bill with a non-positive amount or an unknown payer', () => {
    const { state, open } = billedState();
    expect(checkInvariants(withBill(state, open, (b) => ({ ...b, amount: 0 })))).toEqual([
      expect.stringMatching(/invalid amount 0/),
    ]);
    expect(checkInvariants(withBill(state, open, (b) => ({ ...b, payer: carol.id })))).toEqual([
      expect.stringMatching(/unknown payer/),
    ]);
  });

  it('an entry stored under another id, a validator without an account, a negative counter', () => {
    const s0 = freshLedger();
    const moved = {
      ...s0,
      accounts: s0.accounts.set(carol.id, {
        ...accountOf(s0, val.id)!,
        balances: { CNY: 0, eCNY: 0 },
      }),
    };
    expect(checkInvariants(moved)).toEqual([expect.stringMatching(/stored under .* has id/)]);
    const ghostValidator = {
      ...s0,
      validators: s0.validators.set(dave.id, {
        id: dave.id,
        name: 'd',
        joinedHeight: 0,
        leftHeight: null,
      }),
    };
    expect(checkInvariants(ghostValidator)).toEqual([
      expect.stringMatching(/validator .* has no account/),
    ]);
    expect(checkInvariants({ ...s0, txCount: -1 })).toEqual([
      expect.stringMatching(/transaction counter/),
    ]);
  });

  it('pay-bill also consults the payment counter: a recorded payment blocks a second one even if the status was reset', () => {
    const { state, paid } = billedState();
    const reopened = withBill(state, paid, (b) => ({ ...b, status: 'open', paidHeight: null }));
    const r = checkTx(reopened, tx(alice, { type: 'pay-bill', nonce: 1, billId: paid }), ctx);
    expect(r.ok ? 'ok' : r.reason).toBe('bill-already-paid');
  });
});

// ---------------------------------------------------------------------------------------------

const city = createCity({ seed: 4242, households: 4, validators: 2, chainId: 'invariant-chain' });
const cityGenesis = createLedger(city.genesis());
const pool: Who[] = [...city.members.values()].map((m) => ({ id: m.id, keys: m.keys }));
pool.push(carol, dave); // outsiders with keys but no account
const txTypes = [
  'register',
  'mint',
  'issue-bill',
  'pay-bill',
  'transfer',
  'validator-join',
  'validator-leave',
] as const;

const garbageSpec = fc.record({
  type: fc.constantFrom(...txTypes),
  signer: fc.nat(),
  // Usually signed by the signer's own key (so the semantic rules are exercised), sometimes not.
  signWith: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 5 },
    { arbitrary: fc.nat(), weight: 1 },
  ),
  wrongChain: fc.integer({ min: 0, max: 15 }), // 0 → signed for another chain
  nonceDelta: fc.oneof(
    { arbitrary: fc.constant(0), weight: 4 },
    { arbitrary: fc.integer({ min: -2, max: 2 }), weight: 1 },
  ),
  amount: fc.oneof(
    fc.integer({ min: -10, max: 10 }),
    fc.integer({ min: 1, max: 5_000_000 }),
    fc.constantFrom(0, maxAmount, maxAmount + 1, -maxAmount),
  ),
  asset: fc.constantFrom('CNY', 'eCNY', 'USD'),
  to: fc.nat(),
  bill: fc.nat(),
  kind: fc.constantFrom('household', 'provider'),
  category: fc.constantFrom(null, ...billCategories),
  name: fc.string({ maxLength: 56 }),
  period: fc.string({ maxLength: 20 }),
  dueHeight: fc.integer({ min: -1, max: 1_000 }),
});
type GarbageSpec = typeof garbageSpec extends fc.Arbitrary<infer T> ? T : never;

function garbageTx(spec: GarbageSpec, ledger: LedgerState) {
  const signer = pool[spec.signer % pool.length]!;
  const key = spec.signWith === undefined ? signer.keys : pool[spec.signWith % pool.length]!.keys;
  const nonce = Math.max(0, (accountOf(ledger, signer.id)?.nonce ?? 0) + spec.nonceDelta);
  const to = pool[spec.to % pool.length]!.id;
  const bills = [...ledger.bills.keys()];
  const billId = bills[spec.bill % (bills.length + 1)] ?? fakeId(`garbage-${spec.bill}`);
  const common = { nonce, asset: spec.asset, amount: spec.amount };
  const body = {
    register: {
      type: 'register',
      nonce,
      kind: spec.kind,
      name: spec.name,
      category: spec.category,
    },
    mint: { type: 'mint', ...common, to },
    'issue-bill': {
      type: 'issue-bill',
      ...common,
      payer: to,
      period: spec.period,
      dueHeight: spec.dueHeight,
    },
    'pay-bill': { type: 'pay-bill', nonce, billId },
    transfer: { type: 'transfer', ...common, to },
    'validator-join': { type: 'validator-join', nonce, name: spec.name },
    'validator-leave': { type: 'validator-leave', nonce },
  }[spec.type] as TxBody;
  return signTx(spec.wrongChain === 0 ? 'elsewhere' : city.chainId, key.secretKey, signer.id, body);
}

const step = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      size: fc.integer({ min: 1, max: 10 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('garbage' as const), spec: garbageSpec }), weight: 3 },
);

describe('invariants hold under random workloads and garbage (property)', () => {
  it('city batches and random signed garbage never break an invariant; rejections change nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(step, { minLength: 1, maxLength: 14 }),
        (seed, steps) => {
          const workload = createWorkload(city, { seed, invalidShare: 0.25 });
          let ledger = cityGenesis;
          let height = 1;
          for (const s of steps) {
            const check = { height, check: verifySync };
            if (s.kind === 'batch') {
              const items = workload.nextBatch({ height, ledger }, s.size);
              const r = applyBlock(
                ledger,
                items.map((i) => i.tx),
                check,
              );
              expect(r.results.map((x) => (x.ok ? 'ok' : x.reason))).toEqual(
                items.map((i) => i.expect),
              );
              ledger = r.state;
            } else {
              const t = garbageTx(s.spec, ledger);
              const before = stateRoot(ledger);
              const checked = checkTx(ledger, t, check);
              const r = applyTx(ledger, t, check);
              expect(checked).toEqual(r.result);
              if (!r.result.ok) {
                expect(r.state).toBe(ledger);
                expect(stateRoot(ledger)).toBe(before);
              } else {
                expect(accountOf(r.state, t.signer)?.nonce).toBe(t.body.nonce + 1);
              }
              ledger = r.state;
            }
            expect(checkInvariants(ledger)).toEqual([]);
            height++;
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
