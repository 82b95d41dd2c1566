// The replicated chain state: the ledger, the validator registry with trust and tiers, the
// committee and proposer schedule of the current epoch, and the level-2 settlement book. It changes
// only by executing committed blocks, in order, so every honest node that executed the same
// blocks holds the same state and computes the same committee and primary for every height.

import { hashOf, publicKeyFromId } from '../crypto/encoding.ts';
import {
  applyBlock,
  createLedger,
  registeredValidators,
  txIdOf,
  type LedgerState,
} from '../ledger/ledger.ts';
import type { SignatureCheck, TxResult } from '../ledger/types.ts';
import { ProposerSchedule } from './primary.ts';
import { quorumSize } from './quorum.ts';
import { attestationSigningBytes, blockHash, voteSigningBytes } from './signing.ts';
import {
  assignTiers,
  emptyRecord,
  epochScore,
  nextTrust,
  type EpochRecord,
  type ValidatorTrust,
} from './trust.ts';
import type {
  Attestation,
  Block,
  CertSignature,
  CommitCertificate,
  Digest,
  EpochTally,
  Evidence,
  Genesis,
  ProtocolConfig,
  ReplicaEvent,
  Tier,
  TierReason,
  ValidatorId,
  Vote,
} from './types.ts';

export type Verdict = { ok: true } | { ok: false; reason: string };

/** The outcome of executing a block speculatively on top of the chain. */
export interface Execution {
  readonly ledger: LedgerState;
  readonly results: readonly TxResult[];
  readonly resultsHash: Digest;
}

interface PendingPayment {
  readonly txId: string;
  readonly billId: string;
  readonly amount: number;
}

/** What the chain remembers about a recent height, for attestations and settlement. */
interface RecentHeight {
  readonly blockHash: Digest;
  readonly resultsHash: Digest;
  readonly candidates: ReadonlySet<ValidatorId>;
  /** The committee that decided the height (its members do not attest their own decision). */
  readonly committee: ReadonlySet<ValidatorId>;
  readonly settlementQuorum: number;
  readonly attesters: Set<ValidatorId>;
  candidateAttestations: number;
  pending: PendingPayment[];
}

/** Hashes already computed, per genesis object (one process may hold a thousand replicas of it). */
const genesisHashes = new WeakMap<Genesis, Digest>();

export function genesisHashOf(genesis: Genesis): Digest {
  let hash = genesisHashes.get(genesis);
  if (hash === undefined) {
    hash = hashOf({
      config: genesis.config as unknown as Record<string, string | number>,
      ledger: genesis.ledger as never,
      initialTrust: genesis.initialTrust,
    });
    genesisHashes.set(genesis, hash);
  }
  return hash;
}

export function resultsHashOf(results: readonly TxResult[]): Digest {
  return hashOf(results.map((r) => (r.ok ? [r.txId, 1] : [r.txId, 0, r.reason])));
}

/** Offence key: one committed offence per (offender, kind, height, view). */
function offenceKey(e: Evidence): string {
  const v = e.type === 'equivocation' ? e.first : e.proposal;
  return `${v.signer}/${e.type}/${v.height}/${v.view}`;
}

export function evidenceOffender(e: Evidence): ValidatorId {
  return e.type === 'equivocation' ? e.first.signer : e.proposal.signer;
}

export class Chain {
  readonly config: ProtocolConfig;
  readonly chainId: string;
  readonly genesisHash: Digest;
  /** Last committed height (0 = genesis). */
  height = 0;
  headHash: Digest;
  ledger: LedgerState;
  readonly validators = new Map<ValidatorId, ValidatorTrust>();
  /** Epoch of height `height + 1`. */
  epoch = 0;
  /** Committee, candidates and schedule of the heights of the current epoch. */
  committee: readonly ValidatorId[] = [];
  candidates: readonly ValidatorId[] = [];
  schedule: ProposerSchedule;
  /** Committee and schedule that decided `height` (to verify the certificate in the next block). */
  lastCommittee: readonly ValidatorId[] = [];
  lastSchedule: ProposerSchedule | null = null;
  private records = new Map<ValidatorId, EpochRecord>();
  private readonly recent = new Map<number, RecentHeight>();

  /** How many validators decided `height` (known for the last two epochs; null before those). */
  committeeSizeAt(height: number): number | null {
    return this.recent.get(height)?.committee.size ?? null;
  }
  private readonly committedOffences = new Set<string>();
  private committeeSet = new Set<ValidatorId>();

  constructor(
    genesis: Genesis,
    /** Synchronous signature check (cache-backed); must be a pure function of its inputs. */
    readonly check: SignatureCheck,
  ) {
    this.config = genesis.config;
    this.chainId = genesis.ledger.chainId;
    this.genesisHash = genesisHashOf(genesis);
    this.headHash = this.genesisHash;
    this.ledger = createLedger(genesis.ledger);
    for (const v of registeredValidators(this.ledger)) {
      const trust = genesis.initialTrust[v.id] ?? genesis.config.genesisTrust;
      this.validators.set(v.id, {
        id: v.id,
        name: v.name,
        trust,
        tier: 'observer',
        joinedHeight: 0,
        quarantinedAtEpoch: null,
        offences: 0,
      });
    }
    const assignment = assignTiers(this.config, [...this.validators.values()]);
    for (const [id, tier] of assignment.tiers) this.setTier(id, tier);
    this.committee = assignment.committee;
    this.candidates = assignment.candidates;
    this.committeeSet = new Set(this.committee);
    this.schedule = this.scheduleFor(1, this.committee);
  }

  private setTier(id: ValidatorId, tier: Tier): void {
    const v = this.validators.get(id);
    if (v) this.validators.set(id, { ...v, tier });
  }

  private scheduleFor(
    firstHeight: number,
    committee: readonly ValidatorId[],
    carried?: ReadonlyMap<ValidatorId, number>,
  ): ProposerSchedule {
    const weights = committee.map((id) => this.validators.get(id)?.trust ?? 1);
    return new ProposerSchedule(
      this.config.mode,
      firstHeight,
      committee,
      weights,
      carried,
      this.config.epochLength,
    );
  }

  /** Height being decided now. */
  get nextHeight(): number {
    return this.height + 1;
  }

  isCommitteeMember(id: ValidatorId): boolean {
    return this.committeeSet.has(id);
  }

  primary(view: number): ValidatorId {
    return this.schedule.primary(this.nextHeight, view);
  }

  tierOf(id: ValidatorId): Tier | null {
    return this.validators.get(id)?.tier ?? null;
  }

  quorum(): number {
    return quorumSize(this.committee.length);
  }

  firstHeightOfEpoch(epoch: number): number {
    return epoch * this.config.epochLength + 1;
  }

  // ── verification ──────────────────────────────────────────────────────────────────────────

  verifyVote(v: Vote): boolean {
    const key = publicKeyFromId(v.signer);
    return (
      key !== null &&
      this.check(key, voteSigningBytes(this.chainId, v.kind, v.height, v.view, v.digest), v.sig)
    );
  }

  /**
   * A certificate is valid when at least `q` distinct members of `committee` signed votes of the
   * allowed kinds for exactly (height, view, digest), and every signature in it is valid.
   */
  verifyCertificate(
    cert: { height: number; view: number; digest: Digest; signatures: readonly CertSignature[] },
    committee: readonly ValidatorId[],
    kinds: readonly string[],
  ): Verdict {
    const members = new Set(committee);
    const seen = new Set<ValidatorId>();
    for (const s of cert.signatures) {
      if (!kinds.includes(s.kind))
        return { ok: false, reason: `certificate holds a ${s.kind} vote` };
      if (!members.has(s.signer))
        return { ok: false, reason: 'certificate signer outside the committee' };
      if (seen.has(s.signer)) return { ok: false, reason: 'certificate signer twice' };
      seen.add(s.signer);
      const key = publicKeyFromId(s.signer);
      if (
        !key ||
        !this.check(
          key,
          voteSigningBytes(this.chainId, s.kind, cert.height, cert.view, cert.digest),
          s.sig,
        )
      ) {
        return { ok: false, reason: 'certificate signature invalid' };
      }
    }
    const q = quorumSize(committee.length);
    if (seen.size < q) return { ok: false, reason: `certificate has ${seen.size} of ${q} votes` };
    return { ok: true };
  }

  /** A commit certificate for the next height, checked against its committee. */
  verifyDecision(block: Block, cert: CommitCertificate): Verdict {
    if (cert.height !== this.nextHeight || block.height !== this.nextHeight)
      return { ok: false, reason: 'not the next height' };
    if (cert.digest !== blockHash(block))
      return { ok: false, reason: 'certificate is for another block' };
    return this.verifyCertificate(cert, this.committee, ['commit']);
  }

  /** Whether an attestation could be included in the next block. */
  attestationAcceptable(a: Attestation, alreadyInBlock?: ReadonlySet<string>): Verdict {
    const recent = this.recent.get(a.height);
    if (!recent) return { ok: false, reason: 'attestation for a height outside the window' };
    if (recent.blockHash !== a.blockHash || recent.resultsHash !== a.resultsHash)
      return { ok: false, reason: 'attestation disagrees with the chain' };
    const v = this.validators.get(a.signer);
    if (!v || v.quarantinedAtEpoch !== null)
      return { ok: false, reason: 'attester not an active validator' };
    if (recent.committee.has(a.signer))
      return { ok: false, reason: 'committee members do not attest' };
    if (recent.attesters.has(a.signer) || alreadyInBlock?.has(`${a.signer}/${a.height}`))
      return { ok: false, reason: 'duplicate attestation' };
    const key = publicKeyFromId(a.signer);
    if (
      !key ||
      !this.check(
        key,
        attestationSigningBytes(this.chainId, a.height, a.blockHash, a.resultsHash),
        a.sig,
      )
    ) {
      return { ok: false, reason: 'attestation signature invalid' };
    }
    return { ok: true };
  }

  /** Whether evidence could be included in the next block (see DESIGN.md §4.1 on evidence). */
  evidenceAcceptable(e: Evidence): Verdict {
    const offender = this.validators.get(evidenceOffender(e));
    if (!offender) return { ok: false, reason: 'offender is not a registered validator' };
    if (offender.quarantinedAtEpoch !== null)
      return { ok: false, reason: 'offender already quarantined' };
    if (this.committedOffences.has(offenceKey(e)))
      return { ok: false, reason: 'offence already committed' };
    if (this.config.mode === 'pbft') return { ok: false, reason: 'flat PBFT keeps no trust' };
    if (e.type === 'equivocation') {
      const { first: a, second: b } = e;
      if (a.signer !== b.signer || a.kind !== b.kind || a.height !== b.height || a.view !== b.view)
        return { ok: false, reason: 'votes are not for the same slot' };
      if (a.digest === b.digest) return { ok: false, reason: 'votes agree' };
      if (!this.verifyVote(a) || !this.verifyVote(b))
        return { ok: false, reason: 'evidence signature invalid' };
      return { ok: true };
    }
    // An invalid proposal is judged against the chain it was proposed on, which is the current
    // chain only while the height is still open: such evidence is included at the same height.
    const { proposal, block } = e;
    if (proposal.kind !== 'pre-prepare') return { ok: false, reason: 'not a proposal' };
    if (proposal.height !== this.nextHeight)
      return { ok: false, reason: 'invalid-proposal evidence for another height' };
    if (proposal.digest !== blockHash(block))
      return { ok: false, reason: 'evidence block does not match the proposal' };
    // Evidence wraps the block one level deeper; allowing evidence about evidence would let a
    // faulty proposer grow messages past the wire codec's nesting limit.
    if (block.evidence.some((x) => x.type === 'invalid-proposal'))
      return { ok: false, reason: 'nested invalid-proposal evidence' };
    if (!this.verifyVote(proposal)) return { ok: false, reason: 'evidence signature invalid' };
    const verdict = this.validateBlock(block, 1);
    if (verdict.ok) return { ok: false, reason: 'the proposed block is valid' };
    return { ok: true };
  }

  /**
   * Full validity of `block` as the next block: links to the head, carries a valid certificate
   * of the previous height, and every transaction applies; attestations and evidence are valid.
   * Returns the execution (new ledger and results) so that the commit need not redo it.
   */
  validateBlock(
    block: Block,
    depth = 0,
  ): ({ ok: true } & Execution) | { ok: false; reason: string } {
    const c = this.config;
    if (block.height !== this.nextHeight)
      return { ok: false, reason: `height ${block.height}, expected ${this.nextHeight}` };
    if (block.prevHash !== this.headHash)
      return { ok: false, reason: 'previous hash does not match the chain' };
    if (!this.committeeSet.has(block.proposer))
      return { ok: false, reason: 'proposer outside the committee' };
    if (block.txs.length > c.maxTxPerBlock) return { ok: false, reason: 'too many transactions' };
    if (block.attestations.length > c.maxAttestationsPerBlock)
      return { ok: false, reason: 'too many attestations' };
    if (block.evidence.length > c.maxEvidencePerBlock)
      return { ok: false, reason: 'too much evidence' };

    if (block.height === 1) {
      if (block.lastCommit !== null)
        return { ok: false, reason: 'first block carries a certificate' };
    } else {
      const cert = block.lastCommit;
      if (!cert) return { ok: false, reason: 'missing certificate of the previous height' };
      if (cert.height !== this.height || cert.digest !== this.headHash)
        return { ok: false, reason: 'certificate is not for the head' };
      const verdict = this.verifyCertificate(cert, this.lastCommittee, ['commit']);
      if (!verdict.ok) return verdict;
    }

    const txIds = new Set<string>();
    for (const tx of block.txs) {
      const id = txIdOf(tx);
      if (txIds.has(id)) return { ok: false, reason: 'duplicate transaction' };
      txIds.add(id);
    }
    const { state: ledger, results } = applyBlock(this.ledger, block.txs, {
      height: block.height,
      check: this.check,
    });
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok)
      return { ok: false, reason: `transaction rejected: ${failed.reason}` };

    const attested = new Set<string>();
    for (const a of block.attestations) {
      const verdict = this.attestationAcceptable(a, attested);
      if (!verdict.ok) return verdict;
      attested.add(`${a.signer}/${a.height}`);
    }
    const offences = new Set<string>();
    for (const e of block.evidence) {
      if (depth > 0 && e.type === 'invalid-proposal')
        return { ok: false, reason: 'nested invalid-proposal evidence' };
      const key = offenceKey(e);
      if (offences.has(key)) return { ok: false, reason: 'duplicate evidence' };
      offences.add(key);
      const verdict = this.evidenceAcceptable(e);
      if (!verdict.ok) return { ok: false, reason: `evidence: ${verdict.reason}` };
    }
    return { ok: true, ledger, results, resultsHash: resultsHashOf(results) };
  }

  // ── execution ─────────────────────────────────────────────────────────────────────────────

  private record(id: ValidatorId): EpochRecord {
    let r = this.records.get(id);
    if (!r) {
      r = emptyRecord();
      this.records.set(id, r);
    }
    return r;
  }

  /**
   * Executes a validated block. `execution` must come from `validateBlock` on this very state.
   * Returns the events a visualization needs (commit, payments, evidence, tiers).
   */
  commit(block: Block, execution: Execution): ReplicaEvent[] {
    const events: ReplicaEvent[] = [];
    const h = block.height;
    const digest = blockHash(block);

    // Participation: the previous height's certificate, as carried in this block.
    if (block.lastCommit && this.lastSchedule) {
      // A certificate needs only q of n signatures, and the proposer includes those it holds, so a
      // member that signs q/n of the certificates has done its share: weigh each certificate q
      // expected against n per signature, so that ratio scores full.
      const signers = new Set(block.lastCommit.signatures.map((s) => s.signer));
      const n = this.lastCommittee.length;
      const q = quorumSize(n);
      for (const id of this.lastCommittee) {
        const r = this.record(id);
        r.commitsExpected += q;
        r.certificates++;
        if (signers.has(id)) {
          r.commitsSigned += n;
          r.signed++;
        }
      }
      for (let view = 0; view < Math.min(block.lastCommit.view, 64); view++) {
        this.record(this.lastSchedule.primary(block.lastCommit.height, view)).timeoutsCaused++;
      }
    }
    this.record(block.proposer).proposals++;

    for (const a of block.attestations) {
      this.record(a.signer).attestations++;
      const recent = this.recent.get(a.height);
      if (!recent) continue;
      recent.attesters.add(a.signer);
      if (recent.candidates.has(a.signer)) {
        recent.candidateAttestations++;
        if (recent.candidateAttestations >= recent.settlementQuorum && recent.pending.length > 0) {
          for (const p of recent.pending)
            events.push({
              type: 'payment-settled',
              txId: p.txId,
              billId: p.billId,
              height: a.height,
              settledAtHeight: h,
              amount: p.amount,
            });
          recent.pending = [];
        }
      }
    }

    for (const e of block.evidence) {
      const offender = evidenceOffender(e);
      const v = this.validators.get(offender);
      this.committedOffences.add(offenceKey(e));
      if (!v) continue;
      this.validators.set(offender, {
        ...v,
        trust: 0,
        quarantinedAtEpoch: this.epoch,
        offences: v.offences + 1,
      });
      const height = e.type === 'equivocation' ? e.first.height : e.proposal.height;
      events.push({ type: 'evidence', stage: 'committed', offender, kind: e.type, height });
    }

    // The ledger, and the registry changes it carries.
    this.ledger = execution.ledger;
    const pending: PendingPayment[] = [];
    block.txs.forEach((tx, i) => {
      const result = execution.results[i]!;
      events.push({ type: 'tx-committed', txId: result.txId, height: h, result });
      if (
        result.ok &&
        result.payment &&
        result.billId &&
        result.payment.amount >= this.config.highValue
      ) {
        pending.push({ txId: result.txId, billId: result.billId, amount: result.payment.amount });
      }
      if (!result.ok) return;
      if (tx.body.type === 'validator-join' && !this.validators.has(tx.signer)) {
        this.validators.set(tx.signer, {
          id: tx.signer,
          name: tx.body.name,
          trust: this.config.newcomerTrust,
          tier: 'observer',
          joinedHeight: h,
          quarantinedAtEpoch: null,
          offences: 0,
        });
        events.push({
          type: 'tier-change',
          id: tx.signer,
          from: null,
          to: 'observer',
          trustBefore: 0,
          trustAfter: this.config.newcomerTrust,
          reason: 'joined',
          epoch: this.epoch,
          tally: null,
        });
      }
    });

    const settlementQuorum = this.candidates.length === 0 ? 0 : quorumSize(this.candidates.length);
    if (settlementQuorum === 0) {
      for (const p of pending)
        events.push({
          type: 'payment-settled',
          txId: p.txId,
          billId: p.billId,
          height: h,
          settledAtHeight: h,
          amount: p.amount,
        });
    }
    this.recent.set(h, {
      blockHash: digest,
      resultsHash: execution.resultsHash,
      candidates: new Set(this.candidates),
      committee: this.committeeSet,
      settlementQuorum,
      attesters: new Set(),
      candidateAttestations: 0,
      pending: settlementQuorum === 0 ? [] : pending,
    });
    this.recent.delete(h - 2 * this.config.epochLength);

    this.height = h;
    this.headHash = digest;
    this.lastCommittee = this.committee;
    this.lastSchedule = this.schedule;
    if (h % this.config.epochLength === 0) events.push(...this.turnEpoch());
    return events;
  }

  /** Recomputes trust from the epoch's record, then tiers, committee and schedule. */
  private turnEpoch(): ReplicaEvent[] {
    const events: ReplicaEvent[] = [];
    const c = this.config;
    const finished = this.epoch;
    const firstHeight = this.firstHeightOfEpoch(finished);
    const before = new Map(this.validators);
    const tallies = new Map<ValidatorId, EpochTally>();
    const registered = new Set(registeredValidators(this.ledger).map((v) => v.id));
    for (const v of before.values()) {
      if (!registered.has(v.id)) {
        this.validators.delete(v.id);
        events.push({
          type: 'tier-change',
          id: v.id,
          from: v.tier,
          to: null,
          trustBefore: v.trust,
          trustAfter: v.trust,
          reason: 'left',
          epoch: finished + 1,
          tally: null,
        });
        continue;
      }
      if (c.mode === 'pbft') continue;
      if (v.quarantinedAtEpoch !== null) {
        // Repeat offenders wait longer: quarantineEpochs per committed offence.
        if (finished - v.quarantinedAtEpoch >= c.quarantineEpochs * v.offences) {
          this.validators.set(v.id, { ...v, trust: 0, quarantinedAtEpoch: null });
        }
        continue;
      }
      if (v.joinedHeight >= firstHeight) continue; // joined during this epoch: nothing to score yet
      const record = this.records.get(v.id) ?? emptyRecord();
      const { certificates, signed, timeoutsCaused, attestations } = record;
      tallies.set(v.id, { certificates, signed, timeoutsCaused, attestations });
      const score = epochScore(c, v.tier, record);
      this.validators.set(v.id, { ...v, trust: nextTrust(c, v.trust, score) });
    }
    let assignment = assignTiers(c, [...this.validators.values()]);
    if (assignment.committee.length === 0) {
      // Every validator left: keep the last committee rather than halt (it can still serve reads).
      assignment = { ...assignment, committee: this.committee, candidates: [] };
    }
    for (const [id, tier] of assignment.tiers) {
      const old = before.get(id)!;
      const now = this.validators.get(id)!;
      this.setTier(id, tier);
      if (old.tier === tier) continue;
      let reason: TierReason;
      if (tier === 'quarantined') reason = 'evidence';
      else if (old.tier === 'quarantined') reason = 'forgiven';
      else if (assignment.toppedUp.has(id)) reason = 'committee-top-up';
      else reason = tierRank(tier) > tierRank(old.tier) ? 'trust-rose' : 'trust-fell';
      events.push({
        type: 'tier-change',
        id,
        from: old.tier,
        to: tier,
        trustBefore: old.trust,
        trustAfter: now.trust,
        reason,
        epoch: finished + 1,
        tally: tallies.get(id) ?? null,
      });
    }
    this.epoch = finished + 1;
    this.committee = assignment.committee;
    this.candidates = assignment.candidates;
    this.committeeSet = new Set(this.committee);
    this.schedule = this.scheduleFor(
      this.firstHeightOfEpoch(this.epoch),
      this.committee,
      this.schedule.carriedPriorities(),
    );
    this.records = new Map();
    events.push({
      type: 'epoch',
      epoch: this.epoch,
      firstHeight: this.firstHeightOfEpoch(this.epoch),
      committee: this.committee,
      candidates: this.candidates,
      stateDigest: this.stateDigest(),
    });
    return events;
  }

  /** Read-only snapshot of the registry, for views and summaries. */
  validatorList(): ValidatorTrust[] {
    return [...this.validators.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Canonical digest of the parts of the state every honest node must agree on. */
  stateDigest(): Digest {
    return hashOf([
      this.height,
      this.headHash,
      this.epoch,
      [...this.committee],
      this.validatorList().map((v) => [v.id, v.trust, v.tier, v.quarantinedAtEpoch]),
    ]);
  }
}

export function tierRank(tier: Tier): number {
  return tier === 'core' ? 3 : tier === 'candidate' ? 2 : tier === 'observer' ? 1 : 0;
}
