// DESIGN.md §3, rule by rule: every transaction type on its happy path, and every rejection with the
// most specific reason, leaving balances, nonces and bills unchanged.
import { describe, expect, it } from 'vitest';
import { hashOf } from '../../src/crypto/index.ts';
import {
  type LedgerState,
  accountCount,
  accountOf,
  applyBlock,
  applyTx,
  balanceOf,
  billIdOf,
  billOf,
  billsOf,
  checkInvariants,
  checkTx,
  createLedger,
  maxAmount,
  maxSupply,
  registeredValidators,
  stateRoot,
  totalMinted,
  txIdOf,
  validatorOf,
} from '../../src/ledger/ledger.ts';
import {
  type RejectReason,
  type SignedTx,
  type TxBody,
  type TxResult,
  rejectReasons,
} from '../../src/ledger/types.ts';
import {
  alice,
  aliceFunds,
  bob,
  bobFunds,
  carol,
  chainId,
  ctx,
  ctxAt,
  dave,
  fakeId,
  freshLedger,
  genesis,
  issuer,
  power,
  tx,
  val,
  water,
} from './fixtures.ts';

function ok(
  state: LedgerState,
  t: SignedTx,
  height = ctx.height,
): { state: LedgerState; result: TxResult } {
  const r = applyTx(state, t, ctxAt(height));
  if (!r.result.ok) throw new Error(`expected ok, got ${r.result.reason}: ${r.result.detail}`);
  expect(r.state).not.toBe(state);
  expect(checkInvariants(r.state)).toEqual([]);
  return r;
}

/** Asserts the rejection reason and that nothing changed (same state object, same root). */
function rejected(state: LedgerState, t: SignedTx, reason: RejectReason): TxResult {
  const before = stateRoot(state);
  const checked = checkTx(state, t, ctx);
  const r = applyTx(state, t, ctx);
  expect(r.result.ok ? 'ok' : r.result.reason).toBe(reason);
  expect(checked).toEqual(r.result);
  expect(r.state).toBe(state);
  expect(stateRoot(state)).toBe(before);
  if (!r.result.ok) expect(r.result.detail.length).toBeGreaterThan(0);
  return r.result;
}

/** Alice's electricity bill from City Power (power's nonce 0). */
function withBill(
  amount = 30_000,
  asset: 'CNY' | 'eCNY' = 'CNY',
): { state: LedgerState; billId: string } {
  const r = ok(
    freshLedger(),
    tx(power, {
      type: 'issue-bill',
      nonce: 0,
      payer: alice.id,
      asset,
      amount,
      period: '2026-11',
      dueHeight: 40,
    }),
  );
  return { state: r.state, billId: billIdOf(power.id, 0) };
}

const transfer = (nonce: number, amount = 1_000, to = bob.id): TxBody => ({
  type: 'transfer',
  nonce,
  to,
  asset: 'CNY',
  amount,
});

describe('genesis', () => {
  it('genesis balances count as minted, validators are registered at height 0 with an account', () => {
    const s = freshLedger();
    expect(totalMinted(s, 'CNY')).toBe(1_000_000 + aliceFunds.CNY + bobFunds.CNY);
    expect(totalMinted(s, 'eCNY')).toBe(1_000_000 + aliceFunds.eCNY);
    expect(balanceOf(s, alice.id, 'CNY')).toBe(aliceFunds.CNY);
    expect(balanceOf(s, power.id, 'CNY')).toBe(0);
    expect(registeredValidators(s)).toEqual([
      { id: val.id, name: 'validator-0', joinedHeight: 0, leftHeight: null },
    ]);
    expect(accountOf(s, val.id)?.kind).toBe('validator');
    expect(accountCount(s)).toBe(6);
    expect(checkInvariants(s)).toEqual([]);
  });

  it('an inconsistent genesis is refused', () => {
    const g = genesis();
    expect(() => createLedger({ ...g, accounts: [...g.accounts, g.accounts[1]!] })).toThrow(
      /twice/,
    );
    expect(() => createLedger({ ...g, issuer: 'ABC' })).toThrow(/issuer/);
    expect(() =>
      createLedger({
        ...g,
        accounts: [
          { id: carol.id, kind: 'household', name: 'C', category: null, balances: { CNY: -1 } },
        ],
      }),
    ).toThrow(/non-negative/);
    expect(() =>
      createLedger({
        ...g,
        accounts: [{ id: carol.id, kind: 'provider', name: 'C', category: null }],
      }),
    ).toThrow(/category/);
  });
});

describe('every transaction: chain id, signature, nonce, known signer', () => {
  it('a transaction for another chain is rejected as wrong-chain', () => {
    rejected(freshLedger(), tx(alice, transfer(0), 'other-chain'), 'wrong-chain');
  });

  it('a signature by another key is rejected as bad-signature', () => {
    const forged = { ...tx(bob, transfer(0)), signer: alice.id };
    rejected(freshLedger(), forged, 'bad-signature');
  });

  it('a body changed after signing is rejected as bad-signature', () => {
    const t = tx(alice, transfer(0, 1_000));
    rejected(freshLedger(), { ...t, body: transfer(0, 90_000) }, 'bad-signature');
  });

  it('a signer that is not a valid curve point, or a checker that throws, gives bad-signature', () => {
    const t = tx(alice, transfer(0));
    rejected(freshLedger(), { ...t, signer: 'ff'.repeat(32) }, 'bad-signature');
    const throwing = applyTx(freshLedger(), t, {
      height: 1,
      check: () => {
        throw new Error('boom');
      },
    });
    expect(throwing.result.ok ? 'ok' : throwing.result.reason).toBe('bad-signature');
  });

  it('a nonce below the account nonce is stale-nonce, above is future-nonce', () => {
    const s = ok(freshLedger(), tx(alice, transfer(0))).state;
    rejected(s, tx(alice, transfer(0)), 'stale-nonce');
    rejected(s, tx(alice, transfer(2)), 'future-nonce');
    ok(s, tx(alice, transfer(1)));
  });

  it('a replayed transaction (the same bytes again) is rejected as stale-nonce', () => {
    const t = tx(alice, transfer(0));
    const r = applyBlock(freshLedger(), [t, t], ctx);
    expect(r.results.map((x) => (x.ok ? 'ok' : x.reason))).toEqual(['ok', 'stale-nonce']);
    expect(r.results[0]!.txId).toBe(r.results[1]!.txId);
  });

  it('an unknown signer is rejected as unknown-account for every type but register and validator-join', () => {
    const s = freshLedger();
    const bodies: TxBody[] = [
      transfer(0),
      { type: 'mint', nonce: 0, to: carol.id, asset: 'CNY', amount: 5 },
      {
        type: 'issue-bill',
        nonce: 0,
        payer: alice.id,
        asset: 'CNY',
        amount: 5,
        period: 'p1',
        dueHeight: 9,
      },
      { type: 'pay-bill', nonce: 0, billId: fakeId('bill') },
      { type: 'validator-leave', nonce: 0 },
    ];
    for (const body of bodies) rejected(s, tx(carol, body), 'unknown-account');
  });

  it('an amount above 10^15 or a structurally invalid transaction is rejected as malformed', () => {
    const s = freshLedger();
    rejected(s, tx(alice, transfer(0, maxAmount + 1)), 'malformed');
    const extra = { ...tx(alice, transfer(0)), note: 'hi' } as unknown as SignedTx;
    rejected(s, extra, 'malformed');
    const float = { ...tx(alice, transfer(0)), body: { ...transfer(0), amount: 1.5 } };
    // Not even encodable, so it has no id.
    expect(rejected(s, float, 'malformed').txId).toBe('');
  });

  it('every accepted transaction increments the signer nonce by one; rejected ones do not', () => {
    let s = freshLedger();
    s = ok(s, tx(alice, transfer(0))).state;
    expect(accountOf(s, alice.id)?.nonce).toBe(1);
    rejected(s, tx(alice, transfer(1, 10_000_000)), 'insufficient-balance');
    expect(accountOf(s, alice.id)?.nonce).toBe(1);
    s = ok(s, tx(alice, transfer(1))).state;
    expect(accountOf(s, alice.id)?.nonce).toBe(2);
    expect(s.txCount).toBe(2);
  });

  it('the result id is the hash of the signing bytes', () => {
    const t = tx(alice, transfer(0));
    expect(ok(freshLedger(), t).result.txId).toBe(txIdOf(t));
    expect(txIdOf(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(txIdOf(tx(alice, transfer(0, 1_001)))).not.toBe(txIdOf(t));
  });
});

describe('register', () => {
  it('creates a household (category null) or a provider (with category) at nonce 1', () => {
    let s = freshLedger();
    s = ok(
      s,
      tx(carol, { type: 'register', nonce: 0, kind: 'household', name: 'Carol', category: null }),
    ).state;
    expect(accountOf(s, carol.id)).toEqual({
      id: carol.id,
      kind: 'household',
      name: 'Carol',
      category: null,
      nonce: 1,
      balances: { CNY: 0, eCNY: 0 },
    });
    s = ok(
      s,
      tx(dave, { type: 'register', nonce: 0, kind: 'provider', name: 'Dave Gas', category: 'gas' }),
    ).state;
    expect(accountOf(s, dave.id)?.category).toBe('gas');
    expect(accountOf(s, dave.id)?.kind).toBe('provider');
  });

  it('an existing account is rejected as already-registered (whatever the nonce)', () => {
    const s = freshLedger();
    rejected(
      s,
      tx(alice, { type: 'register', nonce: 0, kind: 'household', name: 'Alice', category: null }),
      'already-registered',
    );
    rejected(
      s,
      tx(val, { type: 'register', nonce: 3, kind: 'household', name: 'V', category: null }),
      'already-registered',
    );
  });

  it('a new account must start at nonce 0 (else future-nonce)', () => {
    rejected(
      freshLedger(),
      tx(carol, { type: 'register', nonce: 1, kind: 'household', name: 'Carol', category: null }),
      'future-nonce',
    );
  });

  it('a provider without a category, or a household with one, is malformed', () => {
    const s = freshLedger();
    rejected(
      s,
      tx(carol, { type: 'register', nonce: 0, kind: 'provider', name: 'C', category: null }),
      'malformed',
    );
    rejected(
      s,
      tx(carol, { type: 'register', nonce: 0, kind: 'household', name: 'C', category: 'water' }),
      'malformed',
    );
  });
});

describe('mint', () => {
  const mint = (nonce: number, amount: number, to = alice.id, asset = 'eCNY'): TxBody => ({
    type: 'mint',
    nonce,
    to,
    asset: asset as 'eCNY',
    amount,
  });

  it('the issuer tops up an account; the total minted grows by the same amount', () => {
    const s0 = freshLedger();
    const s = ok(s0, tx(issuer, mint(0, 12_345))).state;
    expect(balanceOf(s, alice.id, 'eCNY')).toBe(aliceFunds.eCNY + 12_345);
    expect(totalMinted(s, 'eCNY')).toBe(totalMinted(s0, 'eCNY') + 12_345);
    expect(totalMinted(s, 'CNY')).toBe(totalMinted(s0, 'CNY'));
    expect(balanceOf(s, issuer.id, 'eCNY')).toBe(balanceOf(s0, issuer.id, 'eCNY'));
  });

  it('anyone but the genesis issuer is rejected as not-issuer', () => {
    rejected(freshLedger(), tx(alice, mint(0, 100, alice.id)), 'not-issuer');
    rejected(freshLedger(), tx(val, mint(0, 100, val.id)), 'not-issuer');
  });

  it('an asset outside the asset list is unknown-asset', () => {
    rejected(freshLedger(), tx(issuer, mint(0, 100, alice.id, 'USD')), 'unknown-asset');
  });

  it('a zero or negative amount is non-positive-amount', () => {
    rejected(freshLedger(), tx(issuer, mint(0, 0)), 'non-positive-amount');
    rejected(freshLedger(), tx(issuer, mint(0, -5)), 'non-positive-amount');
  });

  it('a recipient without an account is unknown-account', () => {
    rejected(freshLedger(), tx(issuer, mint(0, 100, carol.id)), 'unknown-account');
  });

  it('a mint that would take the supply past the cap is refused (malformed), keeping sums exact', () => {
    const g = genesis();
    const s = createLedger({
      ...g,
      accounts: [
        {
          id: issuer.id,
          kind: 'issuer',
          name: 'I',
          category: null,
          balances: { eCNY: maxSupply - 10 },
        },
      ],
    });
    rejected(s, tx(issuer, mint(0, 11, issuer.id)), 'malformed');
    expect(totalMinted(ok(s, tx(issuer, mint(0, 10, issuer.id))).state, 'eCNY')).toBe(maxSupply);
  });
});

describe('issue-bill', () => {
  const issue = (
    nonce: number,
    over: Partial<Extract<TxBody, { type: 'issue-bill' }>> = {},
  ): TxBody => ({
    type: 'issue-bill',
    nonce,
    payer: alice.id,
    asset: 'CNY',
    amount: 30_000,
    period: '2026-11',
    dueHeight: 40,
    ...over,
  });

  it("creates an open bill with the provider's category, id = H(['tierbft/bill/v1', provider, nonce])", () => {
    const r = ok(freshLedger(), tx(power, issue(0)), 11);
    const id = hashOf(['tierbft/bill/v1', power.id, 0]);
    expect(billIdOf(power.id, 0)).toBe(id);
    expect(r.result).toMatchObject({ ok: true, billId: id, payment: null });
    expect(billOf(r.state, id)).toEqual({
      id,
      provider: power.id,
      payer: alice.id,
      asset: 'CNY',
      amount: 30_000,
      category: 'electricity',
      period: '2026-11',
      dueHeight: 40,
      issuedHeight: 11,
      status: 'open',
      paidHeight: null,
    });
    expect(balanceOf(r.state, alice.id, 'CNY')).toBe(aliceFunds.CNY); // issuing moves no money
  });

  it('bills of one provider get distinct ids; queries filter by payer, provider and status', () => {
    let s = freshLedger();
    s = ok(s, tx(power, issue(0))).state;
    s = ok(s, tx(power, issue(1, { payer: bob.id }))).state;
    s = ok(s, tx(water, issue(0, { amount: 4_000 }))).state;
    expect(billsOf(s)).toHaveLength(3);
    expect(
      billsOf(s, { payer: alice.id })
        .map((b) => b.provider)
        .sort(),
    ).toEqual([power.id, water.id].sort());
    expect(billsOf(s, { provider: power.id })).toHaveLength(2);
    expect(billsOf(s, { category: 'water' })[0]?.amount).toBe(4_000);
    expect(billsOf(s, { status: 'paid' })).toEqual([]);
    expect(new Set(billsOf(s).map((b) => b.id)).size).toBe(3);
  });

  it('a signer that is not a provider is rejected as not-provider', () => {
    rejected(freshLedger(), tx(alice, issue(0, { payer: bob.id })), 'not-provider');
    rejected(freshLedger(), tx(issuer, issue(0)), 'not-provider');
  });

  it('an unknown payer is unknown-account; amount ≤ 0 is non-positive-amount; a foreign asset is unknown-asset', () => {
    rejected(freshLedger(), tx(power, issue(0, { payer: carol.id })), 'unknown-account');
    rejected(freshLedger(), tx(power, issue(0, { amount: 0 })), 'non-positive-amount');
    rejected(freshLedger(), tx(power, issue(0, { asset: 'BTC' as 'CNY' })), 'unknown-asset');
  });
});

describe('pay-bill', () => {
  it('moves the amount payer → provider, marks the bill paid at this height and reports the payment', () => {
    const { state, billId } = withBill(30_000);
    const r = ok(state, tx(alice, { type: 'pay-bill', nonce: 0, billId }), 12);
    expect(r.result).toMatchObject({ ok: true, billId, payment: { asset: 'CNY', amount: 30_000 } });
    expect(balanceOf(r.state, alice.id, 'CNY')).toBe(aliceFunds.CNY - 30_000);
    expect(balanceOf(r.state, power.id, 'CNY')).toBe(30_000);
    expect(billOf(r.state, billId)).toMatchObject({ status: 'paid', paidHeight: 12 });
    expect(billsOf(r.state, { status: 'paid' }).map((b) => b.id)).toEqual([billId]);
    expect(accountOf(r.state, alice.id)?.nonce).toBe(1);
  });

  it('a bill that does not exist is unknown-bill', () => {
    rejected(
      freshLedger(),
      tx(alice, { type: 'pay-bill', nonce: 0, billId: fakeId('no-bill') }),
      'unknown-bill',
    );
  });

  it('paying a bill a second time is bill-already-paid (also for another signer)', () => {
    const { state, billId } = withBill();
    const paid = ok(state, tx(alice, { type: 'pay-bill', nonce: 0, billId })).state;
    rejected(paid, tx(alice, { type: 'pay-bill', nonce: 1, billId }), 'bill-already-paid');
    rejected(paid, tx(bob, { type: 'pay-bill', nonce: 0, billId }), 'bill-already-paid');
    expect(paid.billPayments.get(billId)).toBe(1);
  });

  it("someone else than the bill's payer is rejected as wrong-payer", () => {
    const { state, billId } = withBill();
    rejected(state, tx(bob, { type: 'pay-bill', nonce: 0, billId }), 'wrong-payer');
    rejected(state, tx(power, { type: 'pay-bill', nonce: 1, billId }), 'wrong-payer');
  });

  it('a payer whose balance of the bill asset is below the amount gets insufficient-balance', () => {
    const { state, billId } = withBill(aliceFunds.eCNY + 1, 'eCNY');
    rejected(state, tx(alice, { type: 'pay-bill', nonce: 0, billId }), 'insufficient-balance');
    const exact = withBill(aliceFunds.eCNY, 'eCNY');
    const r = ok(exact.state, tx(alice, { type: 'pay-bill', nonce: 0, billId: exact.billId }));
    expect(balanceOf(r.state, alice.id, 'eCNY')).toBe(0);
  });
});

describe('transfer', () => {
  it('moves money between accounts', () => {
    const r = ok(freshLedger(), tx(alice, transfer(0, 2_500)));
    expect(balanceOf(r.state, alice.id, 'CNY')).toBe(aliceFunds.CNY - 2_500);
    expect(balanceOf(r.state, bob.id, 'CNY')).toBe(bobFunds.CNY + 2_500);
    expect(r.result).toMatchObject({ ok: true, billId: null, payment: null });
  });

  it('a transfer to oneself changes no balance but uses the nonce', () => {
    const r = ok(freshLedger(), tx(alice, transfer(0, 2_500, alice.id)));
    expect(balanceOf(r.state, alice.id, 'CNY')).toBe(aliceFunds.CNY);
    expect(accountOf(r.state, alice.id)?.nonce).toBe(1);
  });

  it('unknown recipient, amount ≤ 0, foreign asset and overspending are each rejected with their reason', () => {
    const s = freshLedger();
    rejected(s, tx(alice, transfer(0, 10, carol.id)), 'unknown-account');
    rejected(s, tx(alice, transfer(0, 0)), 'non-positive-amount');
    rejected(s, tx(alice, transfer(0, -10)), 'non-positive-amount');
    rejected(
      s,
      tx(alice, { type: 'transfer', nonce: 0, to: bob.id, asset: 'USD' as 'CNY', amount: 10 }),
      'unknown-asset',
    );
    rejected(s, tx(alice, transfer(0, aliceFunds.CNY + 1)), 'insufficient-balance');
    rejected(
      s,
      tx(bob, { type: 'transfer', nonce: 0, to: alice.id, asset: 'eCNY', amount: 1 }),
      'insufficient-balance',
    );
    ok(s, tx(alice, transfer(0, aliceFunds.CNY)));
  });
});

describe('validator-join and validator-leave', () => {
  it('a new key joins: a validator account at nonce 1 and a registry entry joined at this height', () => {
    const r = ok(
      freshLedger(),
      tx(carol, { type: 'validator-join', nonce: 0, name: 'carol-node' }),
      21,
    );
    expect(accountOf(r.state, carol.id)).toMatchObject({
      kind: 'validator',
      nonce: 1,
      name: 'carol-node',
    });
    expect(validatorOf(r.state, carol.id)).toEqual({
      id: carol.id,
      name: 'carol-node',
      joinedHeight: 21,
      leftHeight: null,
    });
    const ids = registeredValidators(r.state).map((v) => v.id);
    expect(ids).toEqual([carol.id, val.id].sort());
  });

  it('an existing account may join (keeping its kind) with its current nonce', () => {
    const r = ok(
      freshLedger(),
      tx(alice, { type: 'validator-join', nonce: 0, name: 'alice-node' }),
    );
    expect(accountOf(r.state, alice.id)).toMatchObject({ kind: 'household', nonce: 1 });
    expect(validatorOf(r.state, alice.id)?.leftHeight).toBeNull();
  });

  it('a registered validator joining again is already-validator; a new key must use nonce 0', () => {
    rejected(
      freshLedger(),
      tx(val, { type: 'validator-join', nonce: 0, name: 'again' }),
      'already-validator',
    );
    rejected(
      freshLedger(),
      tx(carol, { type: 'validator-join', nonce: 1, name: 'c' }),
      'future-nonce',
    );
  });

  it('leave sets leftHeight and removes it from the registered set; it may join again later', () => {
    let s = ok(freshLedger(), tx(val, { type: 'validator-leave', nonce: 0 }), 30).state;
    expect(validatorOf(s, val.id)).toMatchObject({ joinedHeight: 0, leftHeight: 30 });
    expect(registeredValidators(s)).toEqual([]);
    rejected(s, tx(val, { type: 'validator-leave', nonce: 1 }), 'not-validator');
    s = ok(s, tx(val, { type: 'validator-join', nonce: 1, name: 'back' }), 31).state;
    expect(registeredValidators(s)).toEqual([
      { id: val.id, name: 'back', joinedHeight: 31, leftHeight: null },
    ]);
  });

  it('an account that never joined cannot leave (not-validator)', () => {
    rejected(freshLedger(), tx(alice, { type: 'validator-leave', nonce: 0 }), 'not-validator');
  });
});

describe('every RejectReason is produced by some transaction', () => {
  const { state: billed, billId } = withBill(30_000);
  const paid = applyTx(billed, tx(alice, { type: 'pay-bill', nonce: 0, billId }), ctx).state;
  const cases: Record<RejectReason, [LedgerState, SignedTx]> = {
    malformed: [billed, tx(alice, transfer(0, maxAmount + 1))],
    'wrong-chain': [billed, tx(alice, transfer(0), 'elsewhere')],
    'bad-signature': [billed, { ...tx(bob, transfer(0)), signer: alice.id }],
    'stale-nonce': [paid, tx(alice, transfer(0))],
    'future-nonce': [billed, tx(alice, transfer(5))],
    'unknown-account': [billed, tx(carol, transfer(0))],
    'already-registered': [
      billed,
      tx(bob, { type: 'register', nonce: 0, kind: 'household', name: 'B', category: null }),
    ],
    'not-issuer': [
      billed,
      tx(bob, { type: 'mint', nonce: 0, to: bob.id, asset: 'CNY', amount: 1 }),
    ],
    'not-provider': [
      billed,
      tx(bob, {
        type: 'issue-bill',
        nonce: 0,
        payer: alice.id,
        asset: 'CNY',
        amount: 1,
        period: 'p',
        dueHeight: 0,
      }),
    ],
    'unknown-bill': [billed, tx(alice, { type: 'pay-bill', nonce: 0, billId: fakeId('x') })],
    'bill-already-paid': [paid, tx(alice, { type: 'pay-bill', nonce: 1, billId })],
    'wrong-payer': [billed, tx(bob, { type: 'pay-bill', nonce: 0, billId })],
    'insufficient-balance': [billed, tx(bob, transfer(0, bobFunds.CNY + 1, alice.id))],
    'non-positive-amount': [billed, tx(bob, transfer(0, 0, alice.id))],
    'unknown-asset': [
      billed,
      tx(bob, { type: 'transfer', nonce: 0, to: alice.id, asset: 'JPY' as 'CNY', amount: 1 }),
    ],
    'already-validator': [billed, tx(val, { type: 'validator-join', nonce: 0, name: 'v' })],
    'not-validator': [billed, tx(bob, { type: 'validator-leave', nonce: 0 })],
  };

  it('the table covers every value of RejectReason', () => {
    expect(Object.keys(cases).sort()).toEqual([...rejectReasons].sort());
  });

  it.each(rejectReasons.map((r) => [r] as const))('%s', (reason) => {
    const [state, t] = cases[reason];
    rejected(state, t, reason);
  });

  it('a block mixing accepted and rejected transactions ends where the accepted ones alone lead', () => {
    const all = [
      tx(alice, transfer(0, 500, power.id)),
      tx(alice, transfer(0, 600, power.id)), // stale
      tx(bob, transfer(0, bobFunds.CNY + 1, alice.id)), // overspend
      tx(bob, transfer(0, 700, alice.id)),
      tx(carol, transfer(0)), // unknown
      tx(issuer, { type: 'mint', nonce: 0, to: bob.id, asset: 'eCNY', amount: 5 }),
    ];
    const mixed = applyBlock(billed, all, ctx);
    expect(mixed.results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      'stale-nonce',
      'insufficient-balance',
      'ok',
      'unknown-account',
      'ok',
    ]);
    const acceptedOnly = applyBlock(billed, [all[0]!, all[3]!, all[5]!], ctx);
    expect(stateRoot(mixed.state)).toBe(stateRoot(acceptedOnly.state));
    expect(mixed.state.txCount).toBe(billed.txCount + 3);
  });
});

describe('chain id is part of the signed bytes', () => {
  it('a transaction re-labelled with this chain id after signing for another chain does not verify', () => {
    const foreign = tx(alice, transfer(0), 'other-chain');
    rejected(freshLedger(), { ...foreign, chainId }, 'bad-signature');
  });
});
