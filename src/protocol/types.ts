// Public types of the consensus: blocks, signed votes, certificates, messages, evidence, events,
// and the replica's inputs and outputs. The replica is `handle(input) → output` with no hidden
// inputs (no clock, no randomness, no I/O), so every run can be replayed.

import type { LedgerGenesis, SignedTx, TxResult, RejectReason } from '../ledger/types.ts';

/** Hex public key of a validator (its identity). */
export type ValidatorId = string;
/** Hex SHA-256 of a block's canonical encoding. */
export type Digest = string;

export type ProtocolMode = 'mlt' | 'pbft';
export type Tier = 'core' | 'candidate' | 'observer' | 'quarantined';

export interface ProtocolConfig {
  /** 'mlt' = multi-level trust; 'pbft' = flat PBFT baseline (every validator votes, round robin). */
  readonly mode: ProtocolMode;
  /** Heights per epoch; tiers change only at epoch boundaries (DESIGN.md §4.1). */
  readonly epochLength: number;
  readonly maxCore: number;
  /** The committee is topped up to this size from the most trusted validators (never empty). */
  readonly minCore: number;
  readonly maxCandidates: number;
  /** Trust (permille) needed to enter Core, and to stay there (hysteresis). */
  readonly coreEnter: number;
  readonly coreKeep: number;
  readonly candidateEnter: number;
  readonly candidateKeep: number;
  /** Memory weight λ (permille): trust' = (λ·trust + (1000−λ)·score)/1000. */
  readonly trustMemory: number;
  readonly genesisTrust: number;
  readonly newcomerTrust: number;
  /** Score lost for every view a validator caused to time out as primary. */
  readonly timeoutPenalty: number;
  /** Epochs a quarantined validator waits before it may climb again (from trust 0). */
  readonly quarantineEpochs: number;
  /** Payments at or above this amount (minor units) need level-2 settlement. */
  readonly highValue: number;
  /** The chain advances at least once per interval (empty blocks included). */
  readonly blockIntervalMs: number;
  /** View timeout of view 0; doubles per view. */
  readonly viewTimeoutMs: number;
  /** A node that sees no progress for this long asks peers for blocks. */
  readonly syncTimeoutMs: number;
  readonly maxTxPerBlock: number;
  readonly maxAttestationsPerBlock: number;
  readonly maxEvidencePerBlock: number;
  readonly maxMempool: number;
}

export const defaultProtocolConfig: ProtocolConfig = {
  mode: 'mlt',
  epochLength: 8,
  maxCore: 16,
  minCore: 4,
  maxCandidates: 32,
  coreEnter: 700,
  coreKeep: 600,
  candidateEnter: 400,
  candidateKeep: 300,
  trustMemory: 500,
  genesisTrust: 800,
  newcomerTrust: 200,
  timeoutPenalty: 250,
  quarantineEpochs: 4,
  highValue: 500_000,
  blockIntervalMs: 1_000,
  viewTimeoutMs: 1_000,
  syncTimeoutMs: 2_000,
  maxTxPerBlock: 500,
  maxAttestationsPerBlock: 128,
  maxEvidencePerBlock: 16,
  maxMempool: 20_000,
};

export interface Genesis {
  readonly config: ProtocolConfig;
  readonly ledger: LedgerGenesis;
  /** Initial trust per genesis validator; absent ones start at `config.genesisTrust`. */
  readonly initialTrust: Readonly<Record<ValidatorId, number>>;
}

// ── signed pieces ────────────────────────────────────────────────────────────────────────────

export type VoteKind = 'pre-prepare' | 'prepare' | 'commit';

/** A place in the order of votes: a height, and a view in it (later: a higher height, or the same
 * height and a higher view). */
export interface VotePoint {
  readonly height: number;
  readonly view: number;
}

/** A signed statement "signer votes `kind` for block `digest` at (height, view)". */
export interface Vote {
  readonly kind: VoteKind;
  readonly height: number;
  readonly view: number;
  readonly digest: Digest;
  readonly signer: ValidatorId;
  readonly sig: Uint8Array;
}

/** The signatures of a certificate, without repeating (height, view, digest) in each. */
export interface CertSignature {
  readonly signer: ValidatorId;
  readonly kind: VoteKind;
  readonly sig: Uint8Array;
}

/** `q` or more commit votes for one (height, view, digest) from that height's committee. */
export interface CommitCertificate {
  readonly height: number;
  readonly view: number;
  readonly digest: Digest;
  readonly signatures: readonly CertSignature[];
}

/** `q` or more pre-prepare/prepare votes for one (height, view, digest), plus the block itself. */
export interface PreparedCertificate {
  readonly height: number;
  readonly view: number;
  readonly digest: Digest;
  readonly block: Block;
  readonly signatures: readonly CertSignature[];
}

/** Level-2: a non-committee validator re-executed a committed block and got these results. */
export interface Attestation {
  readonly height: number;
  readonly blockHash: Digest;
  readonly resultsHash: Digest;
  readonly signer: ValidatorId;
  readonly sig: Uint8Array;
}

export type Evidence =
  /** Two signed votes of one signer, same kind, height and view, different digests. */
  | { readonly type: 'equivocation'; readonly first: Vote; readonly second: Vote }
  /** A signed pre-prepare for a block that is invalid on top of the chain at its height. */
  | { readonly type: 'invalid-proposal'; readonly proposal: Vote; readonly block: Block };

export interface Block {
  readonly height: number;
  readonly prevHash: Digest;
  readonly proposer: ValidatorId;
  readonly txs: readonly SignedTx[];
  /** The commit certificate of height − 1 (null at height 1). Trust is scored from these. */
  readonly lastCommit: CommitCertificate | null;
  readonly attestations: readonly Attestation[];
  readonly evidence: readonly Evidence[];
}

export interface ViewChange {
  readonly height: number;
  /** The view the sender wants to move to. */
  readonly view: number;
  /** The sender's highest prepared certificate at this height, if any. */
  readonly prepared: PreparedCertificate | null;
  /** The pre-prepare the sender accepted in the view it leaves (lets peers catch equivocation). */
  readonly accepted: Vote | null;
  readonly signer: ValidatorId;
  /** Signature over (height, view, prepared view and digest or null). */
  readonly sig: Uint8Array;
}

export interface CommittedBlock {
  readonly block: Block;
  readonly certificate: CommitCertificate;
}

// ── messages ─────────────────────────────────────────────────────────────────────────────────

export type Message =
  | { readonly type: 'pre-prepare'; readonly vote: Vote; readonly block: Block }
  | { readonly type: 'prepare'; readonly vote: Vote }
  | { readonly type: 'commit'; readonly vote: Vote }
  | { readonly type: 'view-change'; readonly viewChange: ViewChange }
  | {
      readonly type: 'new-view';
      readonly height: number;
      readonly view: number;
      readonly viewChanges: readonly ViewChange[];
      readonly proposal: Vote;
      readonly block: Block;
    }
  /** A committed block with its certificate, pushed to validators outside the committee. */
  | { readonly type: 'decided'; readonly committed: CommittedBlock }
  | { readonly type: 'block-request'; readonly fromHeight: number; readonly toHeight: number }
  | { readonly type: 'block-response'; readonly blocks: readonly CommittedBlock[] }
  | { readonly type: 'attestation'; readonly attestation: Attestation }
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  | { readonly type: 'tx'; readonly tx: SignedTx };

export type MessageType = Message['type'];

/** How messages are counted, so that cost comparisons stay honest (DESIGN.md §4.2). */
export type MessageCategory = 'consensus' | 'dissemination' | 'attestation' | 'sync' | 'client';

export function categoryOf(type: MessageType): MessageCategory {
  switch (type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
    case 'view-change':
    case 'new-view':
    case 'evidence':
      return 'consensus';
    case 'decided':
      return 'dissemination';
    case 'attestation':
      return 'attestation';
    case 'block-request':
    case 'block-response':
      return 'sync';
    case 'tx':
      return 'client';
    default: {
      const never: never = type;
      throw new Error(`unknown message type ${String(never)}`);
    }
  }
}

// ── replica inputs and outputs ───────────────────────────────────────────────────────────────

export type TimerKind = 'view' | 'propose' | 'sync';

export interface Timer {
  readonly kind: TimerKind;
  readonly height: number;
  readonly view: number;
  readonly afterMs: number;
}

export type ReplicaInput =
  | { readonly type: 'start'; readonly now: number }
  | {
      readonly type: 'message';
      readonly now: number;
      readonly from: ValidatorId;
      readonly message: Message;
    }
  | { readonly type: 'timer'; readonly now: number; readonly timer: Timer }
  /** A transaction submitted to this replica by a local client. */
  | { readonly type: 'submit'; readonly now: number; readonly tx: SignedTx };

export interface Envelope {
  readonly to: ValidatorId;
  readonly message: Message;
}

export type TierReason =
  | 'genesis'
  | 'joined'
  | 'trust-rose'
  | 'trust-fell'
  | 'evidence'
  | 'forgiven'
  | 'left'
  | 'committee-top-up';

/** One validator's epoch as the chain recorded it (what its trust was scored from). */
export interface EpochTally {
  /** Commit certificates carried this epoch of heights where it was in the committee. */
  readonly certificates: number;
  /** Of those, the ones that carry its signature. */
  readonly signed: number;
  /** Views that timed out while it was the primary. */
  readonly timeoutsCaused: number;
  /** Its attestations included in this epoch's blocks. */
  readonly attestations: number;
}

export type ReplicaEvent =
  | {
      readonly type: 'proposal';
      readonly height: number;
      readonly view: number;
      readonly digest: Digest;
      readonly proposer: ValidatorId;
      readonly txCount: number;
    }
  | {
      readonly type: 'vote';
      readonly kind: VoteKind;
      readonly height: number;
      readonly view: number;
      readonly digest: Digest;
      readonly from: ValidatorId;
    }
  | {
      readonly type: 'quorum';
      readonly phase: 'prepared' | 'committed';
      readonly height: number;
      readonly view: number;
      readonly digest: Digest;
      readonly count: number;
      readonly q: number;
      readonly n: number;
    }
  | {
      readonly type: 'commit';
      readonly height: number;
      readonly view: number;
      readonly digest: Digest;
      readonly proposer: ValidatorId;
      readonly txCount: number;
      readonly viaCatchUp: boolean;
    }
  | {
      readonly type: 'view-change';
      readonly height: number;
      readonly fromView: number;
      readonly toView: number;
      readonly reason: 'timeout' | 'f+1 view-changes';
    }
  | {
      readonly type: 'new-view';
      readonly height: number;
      readonly view: number;
      readonly primary: ValidatorId;
      readonly reproposed: boolean;
    }
  | {
      readonly type: 'tier-change';
      readonly id: ValidatorId;
      readonly from: Tier | null;
      readonly to: Tier | null;
      readonly trustBefore: number;
      readonly trustAfter: number;
      readonly reason: TierReason;
      readonly epoch: number;
      /** What the chain recorded of it in the epoch that just ended, when trust was scored from it. */
      readonly tally: EpochTally | null;
    }
  /** A new epoch begins; `stateDigest` covers committee, tiers and trust (equal on every honest node). */
  | {
      readonly type: 'epoch';
      readonly epoch: number;
      readonly firstHeight: number;
      readonly committee: readonly ValidatorId[];
      readonly candidates: readonly ValidatorId[];
      readonly stateDigest: Digest;
    }
  | {
      readonly type: 'evidence';
      readonly stage: 'detected' | 'committed';
      readonly offender: ValidatorId;
      readonly kind: Evidence['type'];
      readonly height: number;
    }
  | { readonly type: 'tx-accepted'; readonly txId: string }
  | {
      readonly type: 'tx-rejected';
      readonly txId: string;
      readonly reason: RejectReason;
      readonly detail: string;
      /** The bill it tried to pay, for a bill payment (a ledger view shows the attempt there). */
      readonly billId?: string;
    }
  | {
      readonly type: 'tx-committed';
      readonly txId: string;
      readonly height: number;
      readonly result: TxResult;
    }
  | {
      readonly type: 'payment-settled';
      readonly txId: string;
      readonly billId: string;
      readonly height: number;
      readonly settledAtHeight: number;
      readonly amount: number;
    }
  | {
      readonly type: 'invalid-proposal';
      readonly height: number;
      readonly view: number;
      readonly proposer: ValidatorId;
      readonly reason: string;
    }
  | {
      readonly type: 'dropped';
      readonly from: ValidatorId;
      readonly messageType: string;
      readonly reason: string;
    }
  | {
      readonly type: 'catch-up';
      readonly fromHeight: number;
      readonly toHeight: number;
      readonly peer: ValidatorId;
    };

export interface ReplicaOutput {
  readonly messages: Envelope[];
  readonly timers: Timer[];
  readonly events: ReplicaEvent[];
}
