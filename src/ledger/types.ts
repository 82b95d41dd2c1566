// Public types of the bill-payment ledger (DESIGN.md §3). Money is integer minor units (fen);
// ids are lowercase hex public keys (accounts) or hex hashes (bills, transactions).

export const assets = ['CNY', 'eCNY'] as const;
export type Asset = (typeof assets)[number];

export const billCategories = [
  'electricity',
  'water',
  'gas',
  'telecom',
  'healthcare',
  'education',
  'government',
] as const;
export type BillCategory = (typeof billCategories)[number];

export const accountKinds = ['household', 'provider', 'issuer', 'validator'] as const;
export type AccountKind = (typeof accountKinds)[number];

/** Hex of an Ed25519 public key (64 lowercase hex chars). */
export type AccountId = string;
/** Hex SHA-256 (64 lowercase hex chars). */
export type BillId = string;
export type TxId = string;

export type Balances = Readonly<Record<Asset, number>>;

export interface Account {
  readonly id: AccountId;
  readonly kind: AccountKind;
  /** Display text only; untrusted (escape it, it is capped at `maxNameLength`). */
  readonly name: string;
  /** Only providers have a category: the kind of bill they issue. */
  readonly category: BillCategory | null;
  /** Nonce of the next transaction this account must sign (starts at 0). */
  readonly nonce: number;
  readonly balances: Balances;
}

export type BillStatus = 'open' | 'paid';

export interface Bill {
  readonly id: BillId;
  readonly provider: AccountId;
  readonly payer: AccountId;
  readonly asset: Asset;
  readonly amount: number;
  readonly category: BillCategory;
  /** Billing period label chosen by the provider, e.g. "2026-11" or "p7". */
  readonly period: string;
  readonly dueHeight: number;
  readonly issuedHeight: number;
  readonly status: BillStatus;
  readonly paidHeight: number | null;
}

/** A validator in the registry; trust and tiers live in the protocol layer, not here. */
export interface ValidatorEntry {
  readonly id: AccountId;
  readonly name: string;
  readonly joinedHeight: number;
  /** Height at which `validator-leave` was executed, or null while registered. */
  readonly leftHeight: number | null;
}

export type TxBody =
  | {
      readonly type: 'register';
      readonly nonce: number;
      readonly kind: 'household' | 'provider';
      readonly name: string;
      /** Required for providers, null for households. */
      readonly category: BillCategory | null;
    }
  | {
      readonly type: 'mint';
      readonly nonce: number;
      readonly to: AccountId;
      readonly asset: Asset;
      readonly amount: number;
    }
  | {
      readonly type: 'issue-bill';
      readonly nonce: number;
      readonly payer: AccountId;
      readonly asset: Asset;
      readonly amount: number;
      readonly period: string;
      readonly dueHeight: number;
    }
  | { readonly type: 'pay-bill'; readonly nonce: number; readonly billId: BillId }
  | {
      readonly type: 'transfer';
      readonly nonce: number;
      readonly to: AccountId;
      readonly asset: Asset;
      readonly amount: number;
    }
  | { readonly type: 'validator-join'; readonly nonce: number; readonly name: string }
  | { readonly type: 'validator-leave'; readonly nonce: number };

export type TxType = TxBody['type'];

/** A transaction as it travels and as it is stored in blocks. */
export interface SignedTx {
  /** Genesis hash of the network (the room): a transaction cannot be replayed in another room. */
  readonly chainId: string;
  readonly signer: AccountId;
  readonly body: TxBody;
  /** Ed25519 signature over `txSigningBytes(chainId, signer, body)`. */
  readonly sig: Uint8Array;
}

export const rejectReasons = [
  'malformed',
  'wrong-chain',
  'bad-signature',
  'stale-nonce',
  'future-nonce',
  'unknown-account',
  'already-registered',
  'not-issuer',
  'not-provider',
  'unknown-bill',
  'bill-already-paid',
  'wrong-payer',
  'insufficient-balance',
  'non-positive-amount',
  'unknown-asset',
  'already-validator',
  'not-validator',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

export type TxResult =
  | {
      readonly ok: true;
      readonly txId: TxId;
      /** Set for `issue-bill` (the new bill) and `pay-bill` (the bill paid). */
      readonly billId: BillId | null;
      /** Set for `pay-bill`: what moved, so the protocol can tell high-value payments apart. */
      readonly payment: { readonly asset: Asset; readonly amount: number } | null;
    }
  | {
      readonly ok: false;
      readonly txId: TxId;
      readonly reason: RejectReason;
      readonly detail: string;
    };

/**
 * Synchronous signature check injected by the host. It must be a pure function of its inputs (the
 * host answers from a cache warmed by the asynchronous native verifier, or falls back to the
 * strict pure-JS path; both accept exactly the same signatures).
 */
export type SignatureCheck = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

export interface GenesisAccount {
  readonly id: AccountId;
  readonly kind: AccountKind;
  readonly name: string;
  readonly category: BillCategory | null;
  readonly balances?: Partial<Record<Asset, number>>;
}

export interface LedgerGenesis {
  readonly chainId: string;
  /** The genesis issuer: the only account whose `mint` is accepted. */
  readonly issuer: AccountId;
  readonly accounts: readonly GenesisAccount[];
  readonly validators: readonly { readonly id: AccountId; readonly name: string }[];
}
