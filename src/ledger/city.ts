// The "city" workload: a small, deterministic city whose households pay their utility and service
// bills on the ledger, for tests, the simulator and the playground's bots.
//
//   const city = createCity({ seed: 7, households: 12, chainId });
//   let ledger = createLedger(city.genesis());
//   const workload = createWorkload(city, { invalidShare: 0.1 });
//   const batch = workload.nextBatch({ height, ledger }, 50);   // [{ tx, expect, kind }, …]
//   ledger = applyBlock(ledger, batch.map((i) => i.tx), { height, check }).state;
//
// City. An issuer (central bank), one provider per bill category (electricity, water, gas, telecom,
// healthcare, education, government), `households` households and `validators` validator accounts.
// Every key pair is derived from the seed: secret seed = SHA-256(canonical ['tierbft/city/v1', seed,
// label]), labels 'issuer', 'provider/<category>', 'household/<i>', 'validator/<i>'. At genesis the
// households hold CNY and eCNY, the issuer holds a reserve, providers and validators hold nothing.
//
// Workload. `nextBatch` returns a mix of
//   valid:   providers issue bills (one per household per category per period, period labels p1,
//            p2, …; realistic amounts in fen, sometimes a high-value healthcare/education bill),
//            households pay open bills (the issuer tops a household up when it cannot pay), small
//            household transfers, issuer mints;
//   invalid (share `invalidShare`, default 0.1): double payment of a paid bill, overspending,
//            paying someone else's bill, replay of an executed transaction, a forged signature, a
//            payment of a bill that does not exist, a mint by a household, a nonce far ahead.
// Each item carries `expect`: 'ok' or the RejectReason the ledger must give.
//
// Contract of `expect`: the tags are exact when the batch is applied in order (applyBlock) to
// `view.ledger` with every transaction of earlier batches that the workload still considers pending
// applied before it, in production order. In batch-by-batch use (produce, apply, produce on the new
// ledger, …) nothing is pending and the batch is simply applied to `view.ledger`. Transactions of a
// batch depend on each other across signers (a bill issued and then paid, a top-up then a payment),
// so a mempool that reorders transactions of different signers can change outcomes.
//
// Pending transactions. The workload remembers the valid transactions it produced until
// `view.ledger` shows them executed (the signer's nonce moved past them), so it keeps using fresh
// nonces when asked for a new batch before the previous one committed. A transaction still not
// executed `pendingTtl` heights after it was produced is presumed lost; it and whatever depended on
// it are forgotten and their nonces reused.
//
// Determinism. Randomness comes only from pure-rand's xoroshiro128plus seeded by `options.seed`
// (default: the city seed); all amounts are integers; the same seed and the same sequence of views
// give the same transactions, byte for byte.

import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import {
  type KeyPair,
  encodeCanonical,
  generateKeyPair,
  hashOf,
  sha256Bytes,
  toHex,
} from '../crypto/index.ts';
import {
  type LedgerState,
  type TxContext,
  accountOf,
  applyTx,
  balanceOf,
  billIdOf,
  billOf,
  maxAmount,
  signTx,
} from './ledger.ts';
import {
  type AccountId,
  type AccountKind,
  type Asset,
  type BillCategory,
  type BillId,
  type GenesisAccount,
  type LedgerGenesis,
  type RejectReason,
  type SignedTx,
  type TxBody,
  assets as allAssets,
  billCategories,
} from './types.ts';

// ---------------------------------------------------------------------------------------------
// The city

export interface CityOptions {
  readonly seed: number;
  readonly households: number;
  readonly chainId: string;
  /** Validator accounts in the genesis registry (default 4). */
  readonly validators?: number;
  /** Assets that bills, transfers and mints use (default: every asset). */
  readonly assets?: readonly Asset[];
  /** Genesis balance of every household (default 3 000 000 fen CNY, 1 000 000 fen eCNY). */
  readonly householdFunds?: Partial<Record<Asset, number>>;
  /** Genesis balance of the issuer (default 100 000 000 fen of each asset). */
  readonly issuerFunds?: Partial<Record<Asset, number>>;
}

export interface CityMember {
  readonly id: AccountId;
  readonly name: string;
  readonly kind: AccountKind;
  readonly category: BillCategory | null;
  readonly keys: KeyPair;
}

export interface City {
  readonly seed: number;
  readonly chainId: string;
  readonly assets: readonly Asset[];
  readonly issuer: CityMember;
  /** One provider per bill category, in `billCategories` order. */
  readonly providers: readonly CityMember[];
  readonly households: readonly CityMember[];
  readonly validators: readonly CityMember[];
  /** Every member by id. */
  readonly members: ReadonlyMap<AccountId, CityMember>;
  providerFor(category: BillCategory): CityMember;
  /** Genesis accounts: funded households and issuer, providers and validators at zero. */
  genesisAccounts(): GenesisAccount[];
  /** A full genesis: accounts, the issuer, and the validators in the registry. */
  genesis(): LedgerGenesis;
  /** Signs `body` as member `signer` on the city's chain. Throws for a non-member. */
  sign(signer: AccountId, body: TxBody): SignedTx;
}

/** Amount from which a payment counts as high-value in the city (a suggestion for `highValue`). */
export const cityHighValue = 500_000;

const providerNames: Record<BillCategory, string> = {
  electricity: 'City Power',
  water: 'Water Works',
  gas: 'Gas Company',
  telecom: 'Telecom',
  healthcare: 'City Hospital',
  education: 'School District',
  government: 'Government Services',
};

/** Normal bill amounts per category, in fen, inclusive. */
export const billRanges: Record<BillCategory, readonly [number, number]> = {
  electricity: [8_000, 40_000],
  water: [2_000, 9_000],
  gas: [3_000, 15_000],
  telecom: [5_000, 30_000],
  healthcare: [5_000, 120_000],
  education: [20_000, 200_000],
  government: [1_000, 50_000],
};
/** High-value bills (by default 1 in 16 of the categories listed), in fen. */
const highValueRanges: Partial<Record<BillCategory, readonly [number, number]>> = {
  healthcare: [500_000, 3_000_000],
  education: [500_000, 5_000_000],
};

function deriveKeys(seed: number, label: string): KeyPair {
  return generateKeyPair(sha256Bytes(encodeCanonical(['tierbft/city/v1', seed, label])));
}

function checkFunds(funds: Partial<Record<Asset, number>>, what: string): void {
  for (const [asset, amount] of Object.entries(funds)) {
    if (!(allAssets as readonly string[]).includes(asset))
      throw new RangeError(`${what}: unknown asset ${asset}`);
    if (!Number.isSafeInteger(amount) || (amount as number) < 0)
      throw new RangeError(`${what}: amounts must be non-negative integers`);
  }
}

export function createCity(options: CityOptions): City {
  const { seed, chainId } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError('city seed must be a safe integer');
  if (
    !Number.isSafeInteger(options.households) ||
    options.households < 1 ||
    options.households > 10_000
  )
    throw new RangeError('households must be an integer in 1..10000');
  const validatorCount = options.validators ?? 4;
  if (!Number.isSafeInteger(validatorCount) || validatorCount < 0 || validatorCount > 1_000)
    throw new RangeError('validators must be an integer in 0..1000');
  const cityAssets = options.assets ?? allAssets;
  if (
    cityAssets.length === 0 ||
    cityAssets.some((a) => !(allAssets as readonly string[]).includes(a))
  )
    throw new RangeError('assets must be a non-empty list of known assets');
  const householdFunds = options.householdFunds ?? { CNY: 3_000_000, eCNY: 1_000_000 };
  const issuerFunds = options.issuerFunds ?? { CNY: 100_000_000, eCNY: 100_000_000 };
  checkFunds(householdFunds, 'householdFunds');
  checkFunds(issuerFunds, 'issuerFunds');

  const member = (
    label: string,
    name: string,
    kind: AccountKind,
    category: BillCategory | null,
  ): CityMember => {
    const keys = deriveKeys(seed, label);
    return { id: toHex(keys.publicKey), name, kind, category, keys };
  };
  const issuer = member('issuer', 'Issuer (central bank)', 'issuer', null);
  const providers = billCategories.map((c) =>
    member(`provider/${c}`, providerNames[c], 'provider', c),
  );
  const households: CityMember[] = [];
  for (let i = 0; i < options.households; i++) {
    households.push(
      member(`household/${i}`, `Household ${String(i + 1).padStart(3, '0')}`, 'household', null),
    );
  }
  const validators: CityMember[] = [];
  for (let i = 0; i < validatorCount; i++)
    validators.push(member(`validator/${i}`, `validator-${i}`, 'validator', null));

  const members = new Map<AccountId, CityMember>();
  for (const m of [issuer, ...providers, ...households, ...validators]) {
    if (members.has(m.id)) throw new Error('internal: duplicate city key');
    members.set(m.id, m);
  }
  const byCategory = new Map(providers.map((p) => [p.category as BillCategory, p]));

  const genesisAccounts = (): GenesisAccount[] => [
    {
      id: issuer.id,
      kind: 'issuer',
      name: issuer.name,
      category: null,
      balances: { ...issuerFunds },
    },
    ...providers.map((p): GenesisAccount => ({
      id: p.id,
      kind: 'provider',
      name: p.name,
      category: p.category,
    })),
    ...households.map((h): GenesisAccount => ({
      id: h.id,
      kind: 'household',
      name: h.name,
      category: null,
      balances: { ...householdFunds },
    })),
    ...validators.map((v): GenesisAccount => ({
      id: v.id,
      kind: 'validator',
      name: v.name,
      category: null,
    })),
  ];

  return {
    seed,
    chainId,
    assets: [...cityAssets],
    issuer,
    providers,
    households,
    validators,
    members,
    providerFor(category) {
      const p = byCategory.get(category);
      if (p === undefined) throw new RangeError(`no provider for ${category}`);
      return p;
    },
    genesisAccounts,
    genesis: () => ({
      chainId,
      issuer: issuer.id,
      accounts: genesisAccounts(),
      validators: validators.map((v) => ({ id: v.id, name: v.name })),
    }),
    sign(signer, body) {
      const m = members.get(signer);
      if (m === undefined) throw new RangeError(`${signer} is not a member of this city`);
      return signTx(chainId, m.keys.secretKey, signer, body);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The workload

export const validKinds = ['issue-bill', 'pay-bill', 'transfer', 'mint'] as const;
export type ValidKind = (typeof validKinds)[number];
export const invalidKinds = [
  'double-payment',
  'overspend',
  'wrong-payer',
  'replay',
  'forged-signature',
  'unknown-bill',
  'rogue-mint',
  'future-nonce',
] as const;
export type InvalidKind = (typeof invalidKinds)[number];
export type WorkloadKind = ValidKind | InvalidKind;

/** The reason each kind of invalid attempt must be rejected with. */
export const invalidKindReason: Readonly<Record<InvalidKind, RejectReason>> = {
  'double-payment': 'bill-already-paid',
  overspend: 'insufficient-balance',
  'wrong-payer': 'wrong-payer',
  replay: 'stale-nonce',
  'forged-signature': 'bad-signature',
  'unknown-bill': 'unknown-bill',
  'rogue-mint': 'not-issuer',
  'future-nonce': 'future-nonce',
};

export interface WorkloadItem {
  readonly tx: SignedTx;
  readonly expect: 'ok' | RejectReason;
  readonly kind: WorkloadKind;
}

export interface WorkloadView {
  /** Height the batch is meant for (used for due heights and pending expiry; tags do not depend on it). */
  readonly height: number;
  /** The latest ledger state the caller knows. */
  readonly ledger: LedgerState;
}

export interface WorkloadOptions {
  /** RNG seed (default: the city seed). */
  readonly seed?: number;
  /** Share of invalid attempts, 0..1 (default 0.1); kept internally in permille. */
  readonly invalidShare?: number;
  /** Which invalid attempts to make (default: all of `invalidKinds`). */
  readonly invalidKinds?: readonly InvalidKind[];
  /** Heights after which a produced transaction not yet executed is presumed lost (default 64). */
  readonly pendingTtl?: number;
  /** No new bills are issued while this many issued bills are open (default 2 × 7 × households). */
  readonly maxOpenBills?: number;
  /** One healthcare/education bill in this many is high-value (default 16). */
  readonly highValueOneIn?: number;
}

const ringSize = 32;
const trustOwnSignatures = (): boolean => true;

function pushRing<T>(ring: T[], item: T): void {
  ring.push(item);
  if (ring.length > ringSize) ring.shift();
}

export class CityWorkload {
  private readonly rng: ReturnType<typeof xoroshiro128plus>;
  private readonly invalidPermille: number;
  private readonly kinds: readonly InvalidKind[];
  private readonly pendingTtl: number;
  private readonly maxOpenBills: number;
  private readonly highValueOneIn: number;
  /** Current billing period (labels p1, p2, …) and the next (category, household) pair to bill. */
  private periodIndex = 1;
  private cursor = 0;
  /** Bills this workload issued that were still open at last look. */
  private openBills: BillId[] = [];
  /** Recently paid bills (for double payments) and recent valid transactions (for replays). */
  private readonly paidBills: BillId[] = [];
  private readonly recent: SignedTx[] = [];
  /** Valid transactions produced but not yet seen executed, in production order. */
  private pending: { readonly tx: SignedTx; readonly height: number }[] = [];
  private bogusBills = 0;

  constructor(
    readonly city: City,
    options: WorkloadOptions = {},
  ) {
    const seed = options.seed ?? city.seed;
    if (!Number.isSafeInteger(seed)) throw new RangeError('workload seed must be a safe integer');
    this.rng = xoroshiro128plus(seed);
    const share = options.invalidShare ?? 0.1;
    if (!(share >= 0 && share <= 1)) throw new RangeError('invalidShare must be within 0..1');
    this.invalidPermille = Math.round(share * 1000);
    this.kinds = options.invalidKinds ?? invalidKinds;
    this.pendingTtl = options.pendingTtl ?? 64;
    this.maxOpenBills = options.maxOpenBills ?? 2 * billCategories.length * city.households.length;
    this.highValueOneIn = options.highValueOneIn ?? 16;
    if (!Number.isSafeInteger(this.highValueOneIn) || this.highValueOneIn < 1)
      throw new RangeError('highValueOneIn must be a positive integer');
  }

  /** Current billing period number (1-based). */
  get period(): number {
    return this.periodIndex;
  }

  /** Number of produced valid transactions not yet seen executed. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** `count` transactions with their expected outcome; see the file comment for the contract. */
  nextBatch(view: WorkloadView, count: number): WorkloadItem[] {
    if (!Number.isSafeInteger(count) || count < 0)
      throw new RangeError('count must be a non-negative integer');
    if (view.ledger.chainId !== this.city.chainId)
      throw new RangeError('the view is of another chain');
    const ctx: TxContext = { height: view.height, check: trustOwnSignatures };
    let work = this.rebase(view, ctx);
    const out: WorkloadItem[] = [];
    for (let i = 0; i < count; i++) {
      let item: WorkloadItem | undefined;
      if (this.invalidPermille > 0 && this.int(0, 999) < this.invalidPermille)
        item = this.invalid(work);
      item ??= this.valid(work, view.height);
      if (item.expect === 'ok') {
        const r = applyTx(work, item.tx, ctx);
        if (!r.result.ok)
          throw new Error(
            `city workload produced an invalid ${item.kind}: ${r.result.reason} (${r.result.detail})`,
          );
        work = r.state;
        this.pending.push({ tx: item.tx, height: view.height });
        pushRing(this.recent, item.tx);
      }
      out.push(item);
    }
    return out;
  }

  // --- bookkeeping -----------------------------------------------------------------------------

  /** `view.ledger` with the still-pending transactions re-applied; drops executed and lost ones. */
  private rebase(view: WorkloadView, ctx: TxContext): LedgerState {
    let work = view.ledger;
    const kept: { tx: SignedTx; height: number }[] = [];
    for (const p of this.pending) {
      const signer = accountOf(view.ledger, p.tx.signer);
      if (signer !== undefined && signer.nonce > p.tx.body.nonce) continue; // executed
      if (view.height - p.height > this.pendingTtl) continue; // presumed lost
      const r = applyTx(work, p.tx, ctx);
      if (!r.result.ok) continue; // something it depended on was lost
      work = r.state;
      kept.push(p);
    }
    this.pending = kept;
    this.openBills = this.openBills.filter((id) => billOf(work, id)?.status === 'open');
    return work;
  }

  private int(from: number, to: number): number {
    return uniformInt(this.rng, from, to);
  }

  private pick<T>(list: readonly T[]): T {
    const x = list[this.int(0, list.length - 1)];
    if (x === undefined) throw new Error('internal: pick from an empty list');
    return x;
  }

  private nonceOf(work: LedgerState, id: AccountId): number {
    const a = accountOf(work, id);
    if (a === undefined)
      throw new Error(`city member ${id.slice(0, 12)} has no account in this ledger`);
    return a.nonce;
  }

  private sign(signer: CityMember, body: TxBody): SignedTx {
    return signTx(this.city.chainId, signer.keys.secretKey, signer.id, body);
  }

  /** A member other than `not`, from households and providers. */
  private counterparty(not: AccountId): CityMember {
    const pool = [...this.city.households, ...this.city.providers].filter((m) => m.id !== not);
    return this.pick(pool);
  }

  private member(id: AccountId): CityMember {
    const m = this.city.members.get(id);
    if (m === undefined) throw new Error(`internal: ${id.slice(0, 12)} is not a city member`);
    return m;
  }

  // --- valid transactions ----------------------------------------------------------------------

  private valid(work: LedgerState, height: number): WorkloadItem {
    const roll = this.int(0, 99);
    const order: readonly ((w: LedgerState, h: number) => WorkloadItem | undefined)[] =
      roll < 40
        ? [this.pay, this.issue, this.transfer]
        : roll < 78
          ? [this.issue, this.pay, this.transfer]
          : roll < 92
            ? [this.transfer, this.pay, this.issue]
            : [];
    for (const make of order) {
      const item = make.call(this, work, height);
      if (item !== undefined) return item;
    }
    return this.mint(work);
  }

  private billAmount(category: BillCategory): number {
    const high = highValueRanges[category];
    const [lo, hi] =
      high !== undefined && this.int(1, this.highValueOneIn) === 1 ? high : billRanges[category];
    return this.int(lo, hi);
  }

  private issue(work: LedgerState, height: number): WorkloadItem | undefined {
    if (this.openBills.length >= this.maxOpenBills) return undefined;
    const households = this.city.households;
    const category = billCategories[this.cursor % billCategories.length] as BillCategory;
    const household = households[Math.floor(this.cursor / billCategories.length)] as CityMember;
    this.cursor++;
    if (this.cursor === billCategories.length * households.length) {
      this.cursor = 0;
      this.periodIndex++;
    }
    const provider = this.city.providerFor(category);
    const nonce = this.nonceOf(work, provider.id);
    const tx = this.sign(provider, {
      type: 'issue-bill',
      nonce,
      payer: household.id,
      asset: this.pick(this.city.assets),
      amount: this.billAmount(category),
      period: `p${this.periodIndex}`,
      dueHeight: height + this.int(16, 64),
    });
    this.openBills.push(billIdOf(provider.id, nonce));
    return { tx, expect: 'ok', kind: 'issue-bill' };
  }

  /** An open bill of this workload, or undefined; forgets bills that are no longer open. */
  private openBill(work: LedgerState): { id: BillId; index: number } | undefined {
    while (this.openBills.length > 0) {
      const index = this.int(0, this.openBills.length - 1);
      const id = this.openBills[index] as BillId;
      if (billOf(work, id)?.status === 'open') return { id, index };
      this.openBills.splice(index, 1);
    }
    return undefined;
  }

  private pay(work: LedgerState): WorkloadItem | undefined {
    const found = this.openBill(work);
    if (found === undefined) return undefined;
    const bill = billOf(work, found.id);
    if (bill === undefined) return undefined;
    const balance = balanceOf(work, bill.payer, bill.asset);
    if (balance < bill.amount) {
      // The household cannot pay yet: the issuer tops it up; the bill is paid in a later draw.
      return this.mintTo(
        work,
        bill.payer,
        bill.asset,
        bill.amount - balance + this.int(100_000, 1_000_000),
      );
    }
    this.openBills.splice(found.index, 1);
    pushRing(this.paidBills, bill.id);
    const payer = this.member(bill.payer);
    const tx = this.sign(payer, {
      type: 'pay-bill',
      nonce: this.nonceOf(work, payer.id),
      billId: bill.id,
    });
    return { tx, expect: 'ok', kind: 'pay-bill' };
  }

  private transfer(work: LedgerState): WorkloadItem | undefined {
    const from = this.pick(this.city.households);
    const asset = this.pick(this.city.assets);
    const balance = balanceOf(work, from.id, asset);
    if (balance < 1_000) return undefined;
    const amount = this.int(100, Math.min(Math.floor(balance / 10), 500_000));
    const to = this.counterparty(from.id);
    const tx = this.sign(from, {
      type: 'transfer',
      nonce: this.nonceOf(work, from.id),
      to: to.id,
      asset,
      amount,
    });
    return { tx, expect: 'ok', kind: 'transfer' };
  }

  private mint(work: LedgerState): WorkloadItem {
    return this.mintTo(
      work,
      this.pick(this.city.households).id,
      this.pick(this.city.assets),
      this.int(100_000, 2_000_000),
    );
  }

  private mintTo(work: LedgerState, to: AccountId, asset: Asset, amount: number): WorkloadItem {
    const issuer = this.city.issuer;
    const tx = this.sign(issuer, {
      type: 'mint',
      nonce: this.nonceOf(work, issuer.id),
      to,
      asset,
      amount: Math.min(amount, maxAmount),
    });
    return { tx, expect: 'ok', kind: 'mint' };
  }

  // --- invalid attempts ------------------------------------------------------------------------

  private invalid(work: LedgerState): WorkloadItem | undefined {
    if (this.kinds.length === 0) return undefined;
    const start = this.int(0, this.kinds.length - 1);
    for (let k = 0; k < this.kinds.length; k++) {
      const kind = this.kinds[(start + k) % this.kinds.length] as InvalidKind;
      const tx = this.attempt(kind, work);
      if (tx !== undefined) return { tx, expect: invalidKindReason[kind], kind };
    }
    return undefined;
  }

  private attempt(kind: InvalidKind, work: LedgerState): SignedTx | undefined {
    switch (kind) {
      case 'double-payment': {
        const paid = this.paidBills.filter((id) => billOf(work, id)?.status === 'paid');
        if (paid.length === 0) return undefined;
        const bill = billOf(work, this.pick(paid));
        if (bill === undefined) return undefined;
        const payer = this.member(bill.payer);
        return this.sign(payer, {
          type: 'pay-bill',
          nonce: this.nonceOf(work, payer.id),
          billId: bill.id,
        });
      }
      case 'overspend': {
        const from = this.pick(this.city.households);
        const asset = this.pick(this.city.assets);
        const amount = balanceOf(work, from.id, asset) + this.int(1, 1_000_000);
        if (amount > maxAmount) return undefined;
        const to = this.counterparty(from.id);
        return this.sign(from, {
          type: 'transfer',
          nonce: this.nonceOf(work, from.id),
          to: to.id,
          asset,
          amount,
        });
      }
      case 'wrong-payer': {
        const found = this.openBill(work);
        if (found === undefined) return undefined;
        const bill = billOf(work, found.id);
        if (bill === undefined) return undefined;
        const intruder = this.counterparty(bill.payer);
        return this.sign(intruder, {
          type: 'pay-bill',
          nonce: this.nonceOf(work, intruder.id),
          billId: bill.id,
        });
      }
      case 'replay': {
        const executed = this.recent.filter(
          (tx) => (accountOf(work, tx.signer)?.nonce ?? 0) > tx.body.nonce,
        );
        if (executed.length === 0) return undefined;
        return this.pick(executed);
      }
      case 'forged-signature': {
        const from = this.pick(this.city.households);
        const forger = this.counterparty(from.id);
        const body: TxBody = {
          type: 'transfer',
          nonce: this.nonceOf(work, from.id),
          to: forger.id,
          asset: this.pick(this.city.assets),
          amount: this.int(1, 1_000),
        };
        // Signed with the forger's key but claiming to come from `from`.
        return signTx(this.city.chainId, forger.keys.secretKey, from.id, body);
      }
      case 'unknown-bill': {
        const from = this.pick(this.city.households);
        const billId = hashOf(['tierbft/city/no-such-bill', this.city.seed, this.bogusBills++]);
        return this.sign(from, { type: 'pay-bill', nonce: this.nonceOf(work, from.id), billId });
      }
      case 'rogue-mint': {
        const from = this.pick(this.city.households);
        return this.sign(from, {
          type: 'mint',
          nonce: this.nonceOf(work, from.id),
          to: from.id,
          asset: this.pick(this.city.assets),
          amount: this.int(1_000, 1_000_000),
        });
      }
      case 'future-nonce': {
        // Far ahead, so that the nonce is not reached by later valid transactions of this signer.
        const from = this.pick(this.city.households);
        const to = this.counterparty(from.id);
        const nonce = this.nonceOf(work, from.id) + this.int(1_000_000, 1_000_000_000);
        return this.sign(from, {
          type: 'transfer',
          nonce,
          to: to.id,
          asset: this.pick(this.city.assets),
          amount: this.int(1, 1_000),
        });
      }
    }
  }
}

export function createWorkload(city: City, options: WorkloadOptions = {}): CityWorkload {
  return new CityWorkload(city, options);
}
