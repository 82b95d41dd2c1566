// The city workload generator: expectations match the ledger exactly, the mix covers every bill
// category and every kind of invalid attempt, and the same seed gives the same transactions.
import { describe, expect, it } from 'vitest';
import {
  type Canonical,
  decodeCanonical,
  encodeCanonical,
  hashOf,
  verifySync,
} from '../../src/crypto/index.ts';
import {
  type City,
  type WorkloadItem,
  type WorkloadKind,
  type WorkloadOptions,
  cityHighValue,
  createCity,
  createWorkload,
  invalidKindReason,
  invalidKinds,
  validKinds,
} from '../../src/ledger/city.ts';
import {
  type LedgerState,
  accountOf,
  applyBlock,
  balanceOf,
  billsOf,
  checkInvariants,
  createLedger,
  decodeTx,
  registeredValidators,
} from '../../src/ledger/ledger.ts';
import { type BillCategory, assets, billCategories } from '../../src/ledger/types.ts';

const chainId = 'city-test-chain';
const outcome = (r: { ok: boolean; reason?: string }): string => (r.ok ? 'ok' : (r.reason ?? '?'));

interface Run {
  readonly items: WorkloadItem[];
  readonly ledger: LedgerState;
  readonly mismatches: string[];
}

/** Produces `batches` batches batch by batch, applying each to the ledger with real signature checks. */
function run(
  city: City,
  seed: number,
  batches: number,
  size: number,
  invalidShare = 0.1,
  options: WorkloadOptions = {},
): Run {
  const workload = createWorkload(city, { seed, invalidShare, ...options });
  let ledger = createLedger(city.genesis());
  const items: WorkloadItem[] = [];
  const mismatches: string[] = [];
  for (let h = 1; h <= batches; h++) {
    const batch = workload.nextBatch({ height: h, ledger }, size);
    expect(batch).toHaveLength(size);
    const r = applyBlock(
      ledger,
      batch.map((i) => i.tx),
      { height: h, check: verifySync },
    );
    batch.forEach((item, i) => {
      const got = outcome(r.results[i]!);
      if (got !== item.expect)
        mismatches.push(`h${h}#${i} ${item.kind}: expected ${item.expect}, got ${got}`);
    });
    ledger = r.state;
    expect(checkInvariants(ledger)).toEqual([]);
    items.push(...batch);
  }
  return { items, ledger, mismatches };
}

const batchHash = (items: readonly WorkloadItem[]): string =>
  hashOf(items.map((i) => [i.kind, i.expect, encodeCanonical(i.tx as unknown as Canonical)]));

describe('createCity', () => {
  const city = createCity({ seed: 5, households: 3, chainId });

  it('has an issuer, one provider per category, the households and validators, with distinct keys', () => {
    expect(city.providers.map((p) => p.category)).toEqual([...billCategories]);
    expect(city.households).toHaveLength(3);
    expect(city.validators).toHaveLength(4);
    expect(city.members.size).toBe(1 + 7 + 3 + 4);
    for (const c of billCategories) expect(city.providerFor(c).category).toBe(c);
  });

  it('funds households with CNY and eCNY at genesis, providers at zero, and registers the validators', () => {
    const ledger = createLedger(city.genesis());
    for (const h of city.households) {
      expect(balanceOf(ledger, h.id, 'CNY')).toBeGreaterThan(0);
      expect(balanceOf(ledger, h.id, 'eCNY')).toBeGreaterThan(0);
    }
    for (const p of city.providers)
      expect(accountOf(ledger, p.id)).toMatchObject({
        kind: 'provider',
        balances: { CNY: 0, eCNY: 0 },
      });
    expect(balanceOf(ledger, city.issuer.id, 'CNY')).toBeGreaterThan(0);
    expect(registeredValidators(ledger).map((v) => v.id)).toEqual(
      city.validators.map((v) => v.id).sort(),
    );
    expect(checkInvariants(ledger)).toEqual([]);
  });

  it('derives keys from the seed: same seed same ids, another seed other ids', () => {
    const again = createCity({ seed: 5, households: 3, chainId: 'another-chain' });
    const other = createCity({ seed: 6, households: 3, chainId });
    expect(again.households.map((h) => h.id)).toEqual(city.households.map((h) => h.id));
    expect(again.issuer.id).toBe(city.issuer.id);
    expect(other.issuer.id).not.toBe(city.issuer.id);
  });

  it('refuses nonsense options', () => {
    expect(() => createCity({ seed: 1.5, households: 3, chainId })).toThrow(RangeError);
    expect(() => createCity({ seed: 1, households: 0, chainId })).toThrow(RangeError);
    expect(() => createCity({ seed: 1, households: 2, chainId, assets: [] })).toThrow(RangeError);
  });
});

describe('city workload: expectations match applyBlock exactly', () => {
  const city = createCity({ seed: 11, households: 5, validators: 2, chainId });
  const small = createCity({ seed: 12, households: 2, validators: 0, chainId });

  it.each([1, 2, 3])(
    'seed %i: every batch applied in order gives exactly the expected outcomes',
    (seed) => {
      const r = run(city, seed, 5, 24);
      expect(r.mismatches).toEqual([]);
      expect(r.items.filter((i) => i.expect === 'ok').length).toBeGreaterThan(r.items.length / 2);
      expect(billsOf(r.ledger, { status: 'paid' }).length).toBeGreaterThan(0);
    },
  );

  it('every kind of transaction and of invalid attempt is produced, each tagged with its reason', () => {
    const r = run(city, 7, 5, 40, 0.4);
    expect(r.mismatches).toEqual([]);
    const seen = new Set<WorkloadKind>(r.items.map((i) => i.kind));
    for (const k of [...validKinds, ...invalidKinds]) expect(seen, k).toContain(k);
    for (const i of r.items) {
      expect(i.expect).toBe(
        (validKinds as readonly string[]).includes(i.kind)
          ? 'ok'
          : invalidKindReason[i.kind as keyof typeof invalidKindReason],
      );
    }
  });

  it('bills cover every category, stay in realistic integer ranges, and include high-value ones', () => {
    const r = run(small, 3, 4, 30, 0.1, { highValueOneIn: 3 });
    const bills = billsOf(r.ledger);
    const byCategory = new Map<BillCategory, number[]>();
    for (const b of bills)
      byCategory.set(b.category, [...(byCategory.get(b.category) ?? []), b.amount]);
    expect([...byCategory.keys()].sort()).toEqual([...billCategories].sort());
    for (const b of bills) {
      expect(Number.isSafeInteger(b.amount)).toBe(true);
      expect(b.amount).toBeGreaterThan(0);
      expect(b.amount).toBeLessThanOrEqual(5_000_000);
      expect(b.category).toBe(small.members.get(b.provider)?.category);
      expect(assets).toContain(b.asset);
    }
    for (const a of byCategory.get('electricity')!) expect(a >= 8_000 && a <= 40_000).toBe(true);
    for (const a of byCategory.get('water')!) expect(a >= 2_000 && a <= 9_000).toBe(true);
    const high = bills.filter((b) => b.amount >= cityHighValue);
    expect(high.length).toBeGreaterThan(0);
    for (const b of high) expect(['healthcare', 'education']).toContain(b.category);
  });

  it('issues at most one bill per household, category and period', () => {
    const r = run(small, 4, 4, 30, 0);
    const keys = billsOf(r.ledger).map((b) => `${b.payer}/${b.category}/${b.period}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(billsOf(r.ledger).map((b) => b.period)).size).toBeGreaterThan(1);
  });

  it('every produced transaction passes the schema check after a CBOR round trip (integers only)', () => {
    const r = run(city, 9, 2, 30, 0.3);
    for (const i of r.items) {
      const wire = decodeCanonical(encodeCanonical(i.tx as unknown as Canonical));
      expect(wire.ok).toBe(true);
      if (wire.ok) expect(decodeTx(wire.value).ok).toBe(true);
    }
  });

  it('invalidShare 0 gives only valid transactions, 1 gives only invalid attempts', () => {
    expect(run(city, 5, 2, 25, 0).items.every((i) => i.expect === 'ok')).toBe(true);
    const all = run(city, 5, 2, 25, 1);
    expect(all.mismatches).toEqual([]);
    expect(all.items.every((i) => i.expect !== 'ok')).toBe(true);
  });
});

describe('city workload: determinism', () => {
  const city = createCity({ seed: 21, households: 4, validators: 1, chainId });

  it('the same seed gives byte-identical batches; another seed does not', () => {
    const a = run(city, 77, 3, 20);
    const b = run(city, 77, 3, 20);
    const c = run(city, 78, 3, 20);
    expect(batchHash(a.items)).toBe(batchHash(b.items));
    expect(batchHash(a.items)).not.toBe(batchHash(c.items));
  });

  it('a city rebuilt from the same seed produces the same transactions', () => {
    const again = createCity({ seed: 21, households: 4, validators: 1, chainId });
    expect(batchHash(run(again, 77, 2, 15).items)).toBe(batchHash(run(city, 77, 2, 15).items));
  });
});

describe('city workload: pending transactions', () => {
  const city = createCity({ seed: 31, households: 3, validators: 1, chainId });

  it('a batch requested before the previous one committed continues its nonces; both apply in order as tagged', () => {
    const workload = createWorkload(city, { seed: 1 });
    const genesis = createLedger(city.genesis());
    const first = workload.nextBatch({ height: 1, ledger: genesis }, 20);
    const second = workload.nextBatch({ height: 2, ledger: genesis }, 20); // first not yet executed
    expect(workload.pendingCount).toBeGreaterThan(0);
    const r = applyBlock(
      genesis,
      [...first, ...second].map((i) => i.tx),
      { height: 2, check: verifySync },
    );
    expect(r.results.map(outcome)).toEqual([...first, ...second].map((i) => i.expect));
    // Once the ledger shows them executed, nothing stays pending.
    workload.nextBatch({ height: 3, ledger: r.state }, 0);
    expect(workload.pendingCount).toBe(0);
  });

  it('transactions never executed within pendingTtl heights are forgotten and their nonces reused', () => {
    const workload = createWorkload(city, { seed: 2, pendingTtl: 5 });
    const genesis = createLedger(city.genesis());
    workload.nextBatch({ height: 1, ledger: genesis }, 15); // lost
    const later = workload.nextBatch({ height: 10, ledger: genesis }, 15);
    const r = applyBlock(
      genesis,
      later.map((i) => i.tx),
      { height: 10, check: verifySync },
    );
    expect(r.results.map(outcome)).toEqual(later.map((i) => i.expect));
    expect(later.filter((i) => i.expect === 'ok').length).toBeGreaterThan(0);
  });

  it('a view of another chain is refused', () => {
    const other = createLedger({ ...city.genesis(), chainId: 'not-this-one' });
    expect(() => createWorkload(city).nextBatch({ height: 1, ledger: other }, 1)).toThrow(
      RangeError,
    );
  });
});
