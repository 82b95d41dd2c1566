// The bill-payment ledger (DESIGN.md §3): a pure, deterministic state machine over integer money.
//
// State structure. `LedgerState` is an immutable value. Accounts, bills, bill payment counters and
// the validator registry live in persistent hex-keyed tries (`HexMap`, see hexmap.ts): applying a
// transaction copies only the trie paths it touches (O(touched entries × depth)), the input state
// is never mutated, and a speculative result can simply be dropped. The small per-asset totals are
// copied on write. `stateRoot` is a Merkle digest over all of it, memoised per trie node, so
// replicas can compare states cheaply after every block.
//
// Rejection order (the first failing rule gives the reason):
//   1. malformed (schema, ranges, |amount| ≤ 10^15)   2. wrong-chain   3. bad-signature
//   4. signer account: `register` by an existing account → already-registered; a new account
//      (`register`, `validator-join`) must use nonce 0 (else future-nonce); any other type by an
//      unknown signer → unknown-account
//   5. nonce of an existing account: stale-nonce / future-nonce
//   6. type rules, in the order listed in each case below.
// A rejected transaction changes nothing (not even the nonce); every accepted one increments the
// signer's nonce.

import {
  type Canonical,
  encodeCanonical,
  fromHex,
  hashOf,
  isHex,
  sha256Bytes,
  sign,
  toHex,
} from '../crypto/index.ts';
import { HexMap } from './hexmap.ts';
import {
  type Account,
  type AccountId,
  type AccountKind,
  type Asset,
  type Balances,
  type Bill,
  type BillCategory,
  type BillId,
  type BillStatus,
  type LedgerGenesis,
  type RejectReason,
  type SignatureCheck,
  type SignedTx,
  type TxBody,
  type TxId,
  type TxResult,
  type ValidatorEntry,
  accountKinds,
  assets,
  billCategories,
} from './types.ts';

export { HexMap } from './hexmap.ts';

// ---------------------------------------------------------------------------------------------
// Limits

/** Longest account / validator name, in Unicode code points. */
export const maxNameLength = 48;
/** Longest billing period label, in code points. */
export const maxPeriodLength = 16;
/** Longest chain id, in code points. */
export const maxChainIdLength = 128;
/** Longest asset symbol accepted by the schema (membership in `assets` is a ledger rule). */
export const maxAssetLength = 16;
/** Largest |amount| in a transaction; larger is 'malformed' (keeps every sum an exact integer). */
export const maxAmount = 1_000_000_000_000_000;
/** Cap on the total minted per asset: a mint beyond it is rejected as 'malformed'. */
export const maxSupply = Number.MAX_SAFE_INTEGER;
/** Largest nonce a transaction may carry (so that nonce + 1 stays exact). */
export const maxNonce = Number.MAX_SAFE_INTEGER - 1;

const txDomain = 'tierbft/tx/v1';
const billDomain = 'tierbft/bill/v1';
const stateDomain = 'tierbft/ledger-state/v1';

// ---------------------------------------------------------------------------------------------
// State

export interface LedgerState {
  readonly chainId: string;
  /** The genesis issuer: the only account whose `mint` is accepted. */
  readonly issuer: AccountId;
  readonly accounts: HexMap<Account>;
  readonly bills: HexMap<Bill>;
  /**
   * billId → number of `pay-bill` transactions that settled it. Kept apart from the bill's status
   * so that "paid at most once" is checked against an independent record (invariant: ≤ 1, and 1
   * exactly when the bill is paid).
   */
  readonly billPayments: HexMap<number>;
  /** Every validator that ever joined (left ones keep their entry with `leftHeight` set). */
  readonly validators: HexMap<ValidatorEntry>;
  /** Total created per asset: genesis balances plus every accepted `mint`. */
  readonly minted: Readonly<Record<Asset, number>>;
  /** Number of transactions accepted since genesis. */
  readonly txCount: number;
}

export interface TxContext {
  /** Height of the block the transaction is (or would be) executed in. */
  readonly height: number;
  readonly check: SignatureCheck;
}

export interface BillFilter {
  readonly payer?: AccountId;
  readonly provider?: AccountId;
  readonly status?: BillStatus;
  readonly category?: BillCategory;
}

function zeroBalances(): Record<Asset, number> {
  const b = {} as Record<Asset, number>;
  for (const a of assets) b[a] = 0;
  return b;
}

function balancesToCanonical(b: Balances): Canonical {
  const out: Record<string, number> = {};
  for (const a of assets) out[a] = b[a];
  return out;
}

const encodeAccount = (a: Account): Canonical => ({
  id: a.id,
  kind: a.kind,
  name: a.name,
  category: a.category,
  nonce: a.nonce,
  balances: balancesToCanonical(a.balances),
});

const encodeBill = (b: Bill): Canonical => ({
  id: b.id,
  provider: b.provider,
  payer: b.payer,
  asset: b.asset,
  amount: b.amount,
  category: b.category,
  period: b.period,
  dueHeight: b.dueHeight,
  issuedHeight: b.issuedHeight,
  status: b.status,
  paidHeight: b.paidHeight,
});

const encodeValidator = (v: ValidatorEntry): Canonical => ({
  id: v.id,
  name: v.name,
  joinedHeight: v.joinedHeight,
  leftHeight: v.leftHeight,
});

const encodeCount = (n: number): Canonical => n;

/** Empty maps with the encoders `stateRoot` uses (for tools and tests that build states by hand). */
export function emptyMaps(): Pick<
  LedgerState,
  'accounts' | 'bills' | 'billPayments' | 'validators'
> {
  return {
    accounts: HexMap.empty(encodeAccount),
    bills: HexMap.empty(encodeBill),
    billPayments: HexMap.empty(encodeCount),
    validators: HexMap.empty(encodeValidator),
  };
}

/**
 * The genesis state. Genesis balances count as minted. The issuer and every genesis validator get
 * an account if the genesis does not list one (issuer: kind 'issuer'; validator: kind 'validator';
 * zero balances). Throws on an inconsistent genesis (configuration error, not untrusted input).
 */
export function createLedger(genesis: LedgerGenesis): LedgerState {
  // The state is immutable (persistent tries, fresh objects on change), so every replica of one
  // process can start from the same one.
  let state = createdLedgers.get(genesis);
  if (state === undefined) {
    state = buildLedger(genesis);
    createdLedgers.set(genesis, state);
  }
  return state;
}

/** Genesis states already built, per genesis object. */
const createdLedgers = new WeakMap<LedgerGenesis, LedgerState>();

function buildLedger(genesis: LedgerGenesis): LedgerState {
  if (!textOk(genesis.chainId, maxChainIdLength))
    throw new RangeError('genesis chainId is not valid text');
  if (!isHex(genesis.issuer, 32))
    throw new RangeError('genesis issuer must be 64 lowercase hex chars');
  let { accounts, validators } = emptyMaps();
  const { bills, billPayments } = emptyMaps();
  const minted = zeroBalances();
  for (const g of genesis.accounts) {
    if (!isHex(g.id, 32))
      throw new RangeError(
        `genesis account id ${JSON.stringify(g.id)} is not 64 lowercase hex chars`,
      );
    if (accounts.has(g.id)) throw new RangeError(`genesis account ${g.id} listed twice`);
    if (!accountKinds.includes(g.kind))
      throw new RangeError(`genesis account ${g.id}: unknown kind`);
    if (!textOk(g.name, maxNameLength)) throw new RangeError(`genesis account ${g.id}: bad name`);
    if (g.kind === 'provider' ? !isCategory(g.category) : g.category !== null)
      throw new RangeError(`genesis account ${g.id}: providers need a category, other kinds null`);
    const balances = zeroBalances();
    for (const [asset, amount] of Object.entries(g.balances ?? {})) {
      if (!isAsset(asset)) throw new RangeError(`genesis account ${g.id}: unknown asset ${asset}`);
      if (!Number.isSafeInteger(amount) || (amount as number) < 0)
        throw new RangeError(`genesis account ${g.id}: balance must be a non-negative integer`);
      balances[asset] = amount as number;
      minted[asset] += amount as number;
      if (!Number.isSafeInteger(minted[asset]) || minted[asset] > maxSupply)
        throw new RangeError(`genesis supply of ${asset} exceeds the cap`);
    }
    accounts = accounts.set(g.id, {
      id: g.id,
      kind: g.kind,
      name: g.name,
      category: g.category,
      nonce: 0,
      balances,
    });
  }
  if (!accounts.has(genesis.issuer)) {
    accounts = accounts.set(genesis.issuer, newAccount(genesis.issuer, 'issuer', 'issuer', null));
  }
  for (const v of genesis.validators) {
    if (!isHex(v.id, 32))
      throw new RangeError(
        `genesis validator id ${JSON.stringify(v.id)} is not 64 lowercase hex chars`,
      );
    if (validators.has(v.id)) throw new RangeError(`genesis validator ${v.id} listed twice`);
    if (!textOk(v.name, maxNameLength)) throw new RangeError(`genesis validator ${v.id}: bad name`);
    validators = validators.set(v.id, {
      id: v.id,
      name: v.name,
      joinedHeight: 0,
      leftHeight: null,
    });
    if (!accounts.has(v.id))
      accounts = accounts.set(v.id, newAccount(v.id, 'validator', v.name, null));
  }
  return {
    chainId: genesis.chainId,
    issuer: genesis.issuer,
    accounts,
    bills,
    billPayments,
    validators,
    minted,
    txCount: 0,
  };
}

function newAccount(
  id: AccountId,
  kind: AccountKind,
  name: string,
  category: BillCategory | null,
): Account {
  return { id, kind, name, category, nonce: 0, balances: zeroBalances() };
}

/**
 * Hex Merkle digest of the whole state (chain id, issuer, totals, counters and the roots of the four
 * tries). Equal states give equal roots regardless of history; after a block only touched trie paths
 * are rehashed.
 */
export function stateRoot(state: LedgerState): string {
  return hashOf([
    stateDomain,
    state.chainId,
    state.issuer,
    balancesToCanonical(state.minted),
    state.txCount,
    state.accounts.digest(),
    state.bills.digest(),
    state.billPayments.digest(),
    state.validators.digest(),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Transactions: signing bytes, ids, signing

/** Canonical CBOR of ['tierbft/tx/v1', chainId, signer, body]: what the signer signs. */
export function txSigningBytes(chainId: string, signer: AccountId, body: TxBody): Uint8Array {
  return encodeCanonical([txDomain, chainId, signer, body]);
}

/** Hex SHA-256 of the signing bytes (the signature is not covered: one id per signer+nonce+body). */
export function txIdOf(tx: SignedTx): TxId {
  return toHex(sha256Bytes(txSigningBytes(tx.chainId, tx.signer, tx.body)));
}

export function signTx(
  chainId: string,
  secretKey: Uint8Array,
  signer: AccountId,
  body: TxBody,
): SignedTx {
  return { chainId, signer, body, sig: sign(secretKey, txSigningBytes(chainId, signer, body)) };
}

/** Id of the bill created by `issue-bill` with this provider and nonce. */
export function billIdOf(provider: AccountId, nonce: number): BillId {
  return hashOf([billDomain, provider, nonce]);
}

// ---------------------------------------------------------------------------------------------
// Schema

export type DecodeTxResult = { ok: true; tx: SignedTx } | { ok: false; reason: string };

// C0 and C1 controls, and lone surrogates (which would not survive UTF-8 encoding unchanged).
const badText =
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textOk(s: unknown, maxCodePoints: number): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > maxCodePoints * 2) return false;
  if (badText.test(s)) return false;
  let n = 0;
  for (const _ of s) n++;
  return n <= maxCodePoints;
}

const assetSymbol = /^[A-Za-z][A-Za-z0-9]*$/;

function isAsset(s: unknown): s is Asset {
  return typeof s === 'string' && (assets as readonly string[]).includes(s);
}

function isCategory(s: unknown): s is BillCategory {
  return typeof s === 'string' && (billCategories as readonly string[]).includes(s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v))
    return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

class SchemaError extends Error {}

function fail(message: string): never {
  throw new SchemaError(message);
}

function expectKeys(obj: Record<string, unknown>, keys: readonly string[], where: string): void {
  const own = Reflect.ownKeys(obj);
  for (const k of own) {
    if (typeof k !== 'string' || !keys.includes(k)) fail(`${where}: unexpected field ${String(k)}`);
  }
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) fail(`${where}: missing field ${k}`);
  }
}

function int(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number') fail(`${what} must be a number`);
  if (!Number.isInteger(v)) fail(`${what} must be an integer`);
  if (v < min || v > max) fail(`${what} out of range [${min}, ${max}]`);
  return v === 0 ? 0 : v; // normalises -0
}

function hexId(v: unknown, what: string): string {
  if (!isHex(v, 32)) fail(`${what} must be 64 lowercase hex chars`);
  return v;
}

function text(v: unknown, max: number, what: string): string {
  if (!textOk(v, max))
    fail(`${what} must be 1–${max} characters of text without control characters`);
  return v;
}

function assetField(v: unknown): Asset {
  if (typeof v !== 'string' || v.length > maxAssetLength || !assetSymbol.test(v))
    fail(`asset must be a symbol of at most ${maxAssetLength} letters/digits`);
  // Membership in `assets` is a ledger rule ('unknown-asset'), so the value passes through here.
  return v as Asset;
}

function amountField(v: unknown): number {
  return int(v, -maxAmount, maxAmount, 'amount');
}

function parseBody(v: unknown): TxBody {
  if (!isPlainObject(v)) fail('body must be a map');
  const type = v['type'];
  const nonce = (): number => int(v['nonce'], 0, maxNonce, 'nonce');
  switch (type) {
    case 'register': {
      expectKeys(v, ['type', 'nonce', 'kind', 'name', 'category'], 'register');
      const kind = v['kind'];
      if (kind !== 'household' && kind !== 'provider')
        fail('register: kind must be household or provider');
      const category = v['category'];
      if (kind === 'provider' && !isCategory(category))
        fail('register: a provider needs a known bill category');
      if (kind === 'household' && category !== null)
        fail('register: a household has category null');
      return {
        type,
        nonce: nonce(),
        kind,
        name: text(v['name'], maxNameLength, 'name'),
        category: category as BillCategory | null,
      };
    }
    case 'mint':
    case 'transfer': {
      expectKeys(v, ['type', 'nonce', 'to', 'asset', 'amount'], type);
      return {
        type,
        nonce: nonce(),
        to: hexId(v['to'], 'to'),
        asset: assetField(v['asset']),
        amount: amountField(v['amount']),
      };
    }
    case 'issue-bill': {
      expectKeys(v, ['type', 'nonce', 'payer', 'asset', 'amount', 'period', 'dueHeight'], type);
      return {
        type,
        nonce: nonce(),
        payer: hexId(v['payer'], 'payer'),
        asset: assetField(v['asset']),
        amount: amountField(v['amount']),
        period: text(v['period'], maxPeriodLength, 'period'),
        dueHeight: int(v['dueHeight'], 0, Number.MAX_SAFE_INTEGER, 'dueHeight'),
      };
    }
    case 'pay-bill': {
      expectKeys(v, ['type', 'nonce', 'billId'], type);
      return { type, nonce: nonce(), billId: hexId(v['billId'], 'billId') };
    }
    case 'validator-join': {
      expectKeys(v, ['type', 'nonce', 'name'], type);
      return { type, nonce: nonce(), name: text(v['name'], maxNameLength, 'name') };
    }
    case 'validator-leave': {
      expectKeys(v, ['type', 'nonce'], type);
      return { type, nonce: nonce() };
    }
    default:
      return fail(
        `unknown transaction type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 32)) : typeof type}`,
      );
  }
}

function parseTx(value: unknown): SignedTx {
  if (!isPlainObject(value)) fail('transaction must be a map');
  expectKeys(value, ['chainId', 'signer', 'body', 'sig'], 'transaction');
  const chainId = text(value['chainId'], maxChainIdLength, 'chainId');
  const signer = hexId(value['signer'], 'signer');
  const body = parseBody(value['body']);
  const sig = value['sig'];
  if (!(sig instanceof Uint8Array)) fail('sig must be a byte string');
  if (sig.length !== 64) fail('sig must be 64 bytes');
  return { chainId, signer, body, sig: new Uint8Array(sig) };
}

/**
 * Schema check of an untrusted decoded value (e.g. the output of `decodeCanonical`). Returns a
 * fresh transaction object on success. Never throws. Rules that need the ledger (asset in the asset
 * list, amount > 0, known accounts and bills) are left to `checkTx` so that they get their own
 * rejection reason; the asset field is only checked to be a short symbol.
 */
export function decodeTx(value: unknown): DecodeTxResult {
  try {
    return { ok: true, tx: parseTx(value) };
  } catch (error) {
    if (error instanceof SchemaError) return { ok: false, reason: error.message };
    return { ok: false, reason: 'unreadable transaction (a field could not be read)' };
  }
}

// ---------------------------------------------------------------------------------------------
// Execution

type Rejection = { readonly ok: false; readonly reason: RejectReason; readonly detail: string };
type Evaluation =
  | Rejection
  | {
      readonly ok: true;
      readonly billId: BillId | null;
      readonly payment: { readonly asset: Asset; readonly amount: number } | null;
      /** Builds the successor state (only called by applyTx). */
      readonly build: () => LedgerState;
    };

function reject(reason: RejectReason, detail: string): Rejection {
  return { ok: false, reason, detail };
}

function checkContext(ctx: TxContext): void {
  if (!Number.isSafeInteger(ctx.height) || ctx.height < 0)
    throw new RangeError(`bad execution height ${ctx.height}`);
}

function safeTxId(tx: SignedTx): TxId {
  try {
    return txIdOf(tx);
  } catch {
    return ''; // a malformed transaction may not even be encodable; it never gets an id
  }
}

function short(id: string): string {
  return id.slice(0, 12);
}

/** Overlay of accounts touched by one transaction, written back in one go. */
class Touched {
  private readonly changed = new Map<AccountId, Account>();
  constructor(private readonly base: HexMap<Account>) {}
  get(id: AccountId): Account | undefined {
    return this.changed.get(id) ?? this.base.get(id);
  }
  put(account: Account): void {
    this.changed.set(account.id, account);
  }
  adjust(id: AccountId, asset: Asset, delta: number): void {
    const a = this.get(id);
    if (a === undefined) throw new Error(`internal: account ${id} vanished`);
    this.put({ ...a, balances: { ...a.balances, [asset]: a.balances[asset] + delta } });
  }
  bumpNonce(id: AccountId): void {
    const a = this.get(id);
    if (a === undefined) throw new Error(`internal: account ${id} vanished`);
    this.put({ ...a, nonce: a.nonce + 1 });
  }
  commit(): HexMap<Account> {
    let m = this.base;
    for (const [id, a] of this.changed) m = m.set(id, a);
    return m;
  }
}

function evaluate(
  state: LedgerState,
  tx: SignedTx,
  ctx: TxContext,
): { txId: TxId; evaluation: Evaluation } {
  checkContext(ctx);
  const parsed = decodeTx(tx);
  if (!parsed.ok) return { txId: safeTxId(tx), evaluation: reject('malformed', parsed.reason) };
  const t = parsed.tx;
  const signingBytes = txSigningBytes(t.chainId, t.signer, t.body);
  const txId = toHex(sha256Bytes(signingBytes));
  return { txId, evaluation: evaluateParsed(state, t, signingBytes, ctx) };
}

function evaluateParsed(
  state: LedgerState,
  tx: SignedTx,
  signingBytes: Uint8Array,
  ctx: TxContext,
): Evaluation {
  if (tx.chainId !== state.chainId) {
    return reject(
      'wrong-chain',
      `transaction is for chain ${JSON.stringify(tx.chainId.slice(0, 24))}, this ledger is ${JSON.stringify(state.chainId.slice(0, 24))}`,
    );
  }
  let sigOk: boolean;
  try {
    sigOk = ctx.check(fromHex(tx.signer), signingBytes, tx.sig) === true;
  } catch {
    sigOk = false;
  }
  if (!sigOk)
    return reject('bad-signature', `signature does not verify under signer ${short(tx.signer)}`);

  const body = tx.body;
  const signer = state.accounts.get(tx.signer);
  if (body.type === 'register' || (body.type === 'validator-join' && signer === undefined)) {
    if (body.type === 'register' && signer !== undefined) {
      return reject('already-registered', `account ${short(tx.signer)} already exists`);
    }
    if (body.nonce !== 0)
      return reject('future-nonce', `a new account starts at nonce 0, got ${body.nonce}`);
  } else {
    if (signer === undefined)
      return reject('unknown-account', `signer ${short(tx.signer)} has no account`);
    if (body.nonce < signer.nonce)
      return reject('stale-nonce', `nonce ${body.nonce} already used (next is ${signer.nonce})`);
    if (body.nonce > signer.nonce)
      return reject('future-nonce', `nonce ${body.nonce} is ahead (next is ${signer.nonce})`);
  }

  const done = (
    build: () => LedgerState,
    billId: BillId | null = null,
    payment: { asset: Asset; amount: number } | null = null,
  ): Evaluation => ({
    ok: true,
    billId,
    payment,
    build,
  });
  const withAccounts = (touched: Touched, extra: Partial<LedgerState> = {}): LedgerState => ({
    ...state,
    ...extra,
    accounts: touched.commit(),
    txCount: state.txCount + 1,
  });

  switch (body.type) {
    case 'register': {
      return done(() => {
        const touched = new Touched(state.accounts);
        touched.put({ ...newAccount(tx.signer, body.kind, body.name, body.category), nonce: 1 });
        return withAccounts(touched);
      });
    }

    case 'mint': {
      if (tx.signer !== state.issuer)
        return reject('not-issuer', `only the genesis issuer may mint`);
      if (!isAsset(body.asset))
        return reject('unknown-asset', `unknown asset ${JSON.stringify(body.asset)}`);
      if (body.amount <= 0)
        return reject('non-positive-amount', `mint amount must be > 0, got ${body.amount}`);
      if (!state.accounts.has(body.to))
        return reject('unknown-account', `recipient ${short(body.to)} has no account`);
      const total = state.minted[body.asset] + body.amount;
      if (total > maxSupply)
        return reject(
          'malformed',
          `mint would take the total ${body.asset} supply above ${maxSupply}`,
        );
      return done(() => {
        const touched = new Touched(state.accounts);
        touched.bumpNonce(tx.signer);
        touched.adjust(body.to, body.asset, body.amount);
        return withAccounts(touched, { minted: { ...state.minted, [body.asset]: total } });
      });
    }

    case 'issue-bill': {
      const provider = signer as Account;
      if (provider.kind !== 'provider' || provider.category === null) {
        return reject(
          'not-provider',
          `account ${short(tx.signer)} is a ${provider.kind}, not a provider`,
        );
      }
      if (!isAsset(body.asset))
        return reject('unknown-asset', `unknown asset ${JSON.stringify(body.asset)}`);
      if (body.amount <= 0)
        return reject('non-positive-amount', `bill amount must be > 0, got ${body.amount}`);
      if (!state.accounts.has(body.payer))
        return reject('unknown-account', `payer ${short(body.payer)} has no account`);
      const billId = billIdOf(tx.signer, body.nonce);
      if (state.bills.has(billId)) {
        // Unreachable while nonces are unique per provider; kept so that a bill can never be overwritten.
        return reject('malformed', `bill ${short(billId)} already exists`);
      }
      const category = provider.category;
      return done(() => {
        const touched = new Touched(state.accounts);
        touched.bumpNonce(tx.signer);
        const bill: Bill = {
          id: billId,
          provider: tx.signer,
          payer: body.payer,
          asset: body.asset,
          amount: body.amount,
          category,
          period: body.period,
          dueHeight: body.dueHeight,
          issuedHeight: ctx.height,
          status: 'open',
          paidHeight: null,
        };
        return withAccounts(touched, { bills: state.bills.set(billId, bill) });
      }, billId);
    }

    case 'pay-bill': {
      const bill = state.bills.get(body.billId);
      if (bill === undefined) return reject('unknown-bill', `no bill ${short(body.billId)}`);
      const timesPaid = state.billPayments.get(bill.id) ?? 0;
      if (bill.status !== 'open' || timesPaid !== 0) {
        return reject(
          'bill-already-paid',
          `bill ${short(bill.id)} was paid at height ${bill.paidHeight ?? '?'}`,
        );
      }
      if (bill.payer !== tx.signer)
        return reject(
          'wrong-payer',
          `bill ${short(bill.id)} is payable by ${short(bill.payer)} only`,
        );
      const payer = signer as Account;
      const balance = payer.balances[bill.asset];
      if (balance < bill.amount) {
        return reject(
          'insufficient-balance',
          `balance ${balance} ${bill.asset} is below the bill amount ${bill.amount}`,
        );
      }
      if (!state.accounts.has(bill.provider))
        throw new Error(`internal: provider of bill ${bill.id} has no account`);
      return done(
        () => {
          const touched = new Touched(state.accounts);
          touched.bumpNonce(tx.signer);
          touched.adjust(tx.signer, bill.asset, -bill.amount);
          touched.adjust(bill.provider, bill.asset, bill.amount);
          return withAccounts(touched, {
            bills: state.bills.set(bill.id, { ...bill, status: 'paid', paidHeight: ctx.height }),
            billPayments: state.billPayments.set(bill.id, timesPaid + 1),
          });
        },
        bill.id,
        { asset: bill.asset, amount: bill.amount },
      );
    }

    case 'transfer': {
      if (!isAsset(body.asset))
        return reject('unknown-asset', `unknown asset ${JSON.stringify(body.asset)}`);
      if (body.amount <= 0)
        return reject('non-positive-amount', `transfer amount must be > 0, got ${body.amount}`);
      if (!state.accounts.has(body.to))
        return reject('unknown-account', `recipient ${short(body.to)} has no account`);
      const balance = (signer as Account).balances[body.asset];
      if (balance < body.amount) {
        return reject(
          'insufficient-balance',
          `balance ${balance} ${body.asset} is below ${body.amount}`,
        );
      }
      return done(() => {
        const touched = new Touched(state.accounts);
        touched.bumpNonce(tx.signer);
        touched.adjust(tx.signer, body.asset, -body.amount);
        touched.adjust(body.to, body.asset, body.amount);
        return withAccounts(touched);
      });
    }

    case 'validator-join': {
      const entry = state.validators.get(tx.signer);
      if (entry !== undefined && entry.leftHeight === null) {
        return reject(
          'already-validator',
          `${short(tx.signer)} is registered since height ${entry.joinedHeight}`,
        );
      }
      return done(() => {
        const touched = new Touched(state.accounts);
        if (signer === undefined)
          touched.put({ ...newAccount(tx.signer, 'validator', body.name, null), nonce: 1 });
        else touched.bumpNonce(tx.signer);
        const joined: ValidatorEntry = {
          id: tx.signer,
          name: body.name,
          joinedHeight: ctx.height,
          leftHeight: null,
        };
        return withAccounts(touched, { validators: state.validators.set(tx.signer, joined) });
      });
    }

    case 'validator-leave': {
      const entry = state.validators.get(tx.signer);
      if (entry === undefined || entry.leftHeight !== null) {
        return reject('not-validator', `${short(tx.signer)} is not in the validator registry`);
      }
      return done(() => {
        const touched = new Touched(state.accounts);
        touched.bumpNonce(tx.signer);
        return withAccounts(touched, {
          validators: state.validators.set(tx.signer, { ...entry, leftHeight: ctx.height }),
        });
      });
    }
  }
}

function toResult(txId: TxId, e: Evaluation): TxResult {
  return e.ok
    ? { ok: true, txId, billId: e.billId, payment: e.payment }
    : { ok: false, txId, reason: e.reason, detail: e.detail };
}

/** What would happen to `tx` on `state` at `ctx.height`, without applying it (mempool admission). */
export function checkTx(state: LedgerState, tx: SignedTx, ctx: TxContext): TxResult {
  const { txId, evaluation } = evaluate(state, tx, ctx);
  return toResult(txId, evaluation);
}

/** Applies one transaction. On rejection the returned state is the input state (same object). */
export function applyTx(
  state: LedgerState,
  tx: SignedTx,
  ctx: TxContext,
): { state: LedgerState; result: TxResult } {
  const { txId, evaluation } = evaluate(state, tx, ctx);
  return { state: evaluation.ok ? evaluation.build() : state, result: toResult(txId, evaluation) };
}

/**
 * Applies the transactions of a block in order. Rejected ones are skipped (they change nothing); the
 * results are in block order. The input state is not mutated.
 */
export function applyBlock(
  state: LedgerState,
  txs: readonly SignedTx[],
  ctx: TxContext,
): { state: LedgerState; results: TxResult[] } {
  checkContext(ctx);
  let current = state;
  const results: TxResult[] = [];
  for (const tx of txs) {
    const r = applyTx(current, tx, ctx);
    current = r.state;
    results.push(r.result);
  }
  return { state: current, results };
}

// ---------------------------------------------------------------------------------------------
// Queries

export function accountOf(state: LedgerState, id: AccountId): Account | undefined {
  return state.accounts.get(id);
}

export function billOf(state: LedgerState, id: BillId): Bill | undefined {
  return state.bills.get(id);
}

/** Bills matching every given field of `filter`, in bill id order. O(number of bills). */
export function billsOf(state: LedgerState, filter: BillFilter = {}): Bill[] {
  const out: Bill[] = [];
  for (const b of state.bills.values()) {
    if (filter.payer !== undefined && b.payer !== filter.payer) continue;
    if (filter.provider !== undefined && b.provider !== filter.provider) continue;
    if (filter.status !== undefined && b.status !== filter.status) continue;
    if (filter.category !== undefined && b.category !== filter.category) continue;
    out.push(b);
  }
  return out;
}

/** All accounts in id order. */
export function accountsOf(state: LedgerState): Account[] {
  return [...state.accounts.values()];
}

/** Validators currently registered (leftHeight null), sorted by id. */
export function registeredValidators(state: LedgerState): ValidatorEntry[] {
  const out: ValidatorEntry[] = [];
  for (const v of state.validators.values()) if (v.leftHeight === null) out.push(v);
  return out;
}

/** The registry entry of `id`, including one that has left; undefined if it never joined. */
export function validatorOf(state: LedgerState, id: AccountId): ValidatorEntry | undefined {
  return state.validators.get(id);
}

/** Balance of `asset` held by `id` (0 for an unknown account). */
export function balanceOf(state: LedgerState, id: AccountId, asset: Asset): number {
  return state.accounts.get(id)?.balances[asset] ?? 0;
}

export function totalMinted(state: LedgerState, asset: Asset): number {
  return state.minted[asset];
}

export function accountCount(state: LedgerState): number {
  return state.accounts.size;
}

export function billCount(state: LedgerState): number {
  return state.bills.size;
}

// ---------------------------------------------------------------------------------------------
// Invariants

/**
 * Every violated invariant, in words (empty when the state is sound). O(accounts + bills): meant for
 * tests and periodic live checks, not for every transaction.
 */
export function checkInvariants(state: LedgerState): string[] {
  const problems: string[] = [];
  const sums = zeroBalances();
  for (const [key, a] of state.accounts.entries()) {
    if (a.id !== key) problems.push(`account stored under ${short(key)} has id ${short(a.id)}`);
    if (!Number.isSafeInteger(a.nonce) || a.nonce < 0)
      problems.push(`account ${short(key)} has invalid nonce ${a.nonce}`);
    for (const asset of assets) {
      const b = a.balances[asset];
      if (!Number.isSafeInteger(b))
        problems.push(`account ${short(key)} has a non-integer ${asset} balance ${b}`);
      else if (b < 0) problems.push(`account ${short(key)} has a negative ${asset} balance ${b}`);
      sums[asset] += b;
    }
  }
  for (const asset of assets) {
    const m = state.minted[asset];
    if (!Number.isSafeInteger(m) || m < 0) problems.push(`total minted ${asset} is invalid: ${m}`);
    if (sums[asset] !== m)
      problems.push(`sum of ${asset} balances ${sums[asset]} differs from total minted ${m}`);
  }
  if (!state.accounts.has(state.issuer))
    problems.push(`the issuer ${short(state.issuer)} has no account`);

  for (const [key, b] of state.bills.entries()) {
    if (b.id !== key) problems.push(`bill stored under ${short(key)} has id ${short(b.id)}`);
    if (!Number.isSafeInteger(b.amount) || b.amount <= 0)
      problems.push(`bill ${short(key)} has invalid amount ${b.amount}`);
    if (!state.accounts.has(b.provider))
      problems.push(`bill ${short(key)} has an unknown provider`);
    if (!state.accounts.has(b.payer)) problems.push(`bill ${short(key)} has an unknown payer`);
    const paid = state.billPayments.get(key) ?? 0;
    if (paid > 1) problems.push(`bill ${short(key)} was paid ${paid} times`);
    if (b.status === 'paid' && paid !== 1)
      problems.push(`bill ${short(key)} is marked paid but has ${paid} payments recorded`);
    if (b.status === 'open' && paid !== 0)
      problems.push(`bill ${short(key)} is open but has ${paid} payments recorded`);
    if ((b.status === 'paid') !== (b.paidHeight !== null))
      problems.push(`bill ${short(key)} has status ${b.status} and paidHeight ${b.paidHeight}`);
  }
  for (const [key, n] of state.billPayments.entries()) {
    if (!state.bills.has(key))
      problems.push(`a payment is recorded for unknown bill ${short(key)}`);
    if (!Number.isSafeInteger(n) || n < 0)
      problems.push(`bill ${short(key)} has an invalid payment count ${n}`);
  }

  for (const [key, v] of state.validators.entries()) {
    if (v.id !== key) problems.push(`validator stored under ${short(key)} has id ${short(v.id)}`);
    if (!state.accounts.has(key)) problems.push(`validator ${short(key)} has no account`);
    if (v.leftHeight !== null && v.leftHeight < v.joinedHeight)
      problems.push(`validator ${short(key)} left before it joined`);
  }
  if (!Number.isSafeInteger(state.txCount) || state.txCount < 0)
    problems.push(`invalid transaction counter ${state.txCount}`);
  return problems;
}
