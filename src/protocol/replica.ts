// One honest validator: PBFT-style pre-prepare / prepare / commit inside the committee of each
// height, view change with prepared certificates and new-view, catch-up from peers, level-2
// attestations and evidence (DESIGN.md §4). `handle(input)` is the only entry point; it reads no
// clock, no randomness and does no I/O, so the same inputs always give the same outputs.

import { accountOf, applyTx, checkTx, txIdOf } from '../ledger/ledger.ts';
import type { RejectReason, SignatureCheck, SignedTx } from '../ledger/types.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { publicKeyFromId, toHex } from '../crypto/encoding.ts';
import { Chain, evidenceOffender, type Execution } from './chain.ts';
import { quorumSize, weakQuorumSize } from './quorum.ts';
import {
  blockHash,
  signAttestation,
  signViewChange,
  signVote,
  viewChangeSigningBytes,
} from './signing.ts';
import type {
  Attestation,
  Block,
  CertSignature,
  CommitCertificate,
  CommittedBlock,
  Digest,
  Envelope,
  Evidence,
  Genesis,
  Message,
  PreparedCertificate,
  ReplicaEvent,
  ReplicaInput,
  ReplicaOutput,
  Tier,
  Timer,
  ValidatorId,
  ViewChange,
  Vote,
  VoteKind,
  VotePoint,
} from './types.ts';

/** Blocks served per catch-up response (bounds the response size). */
const blocksPerResponse = 32;
/** Catch-up responses stay under this many (estimated) bytes, below the codec's 1 MiB frame. */
const responseBudgetBytes = 768 * 1024;
/** Messages for future heights kept until the replica gets there. */
const maxFutureMessages = 4_096;
/** Heights of votes kept for spotting equivocation in certificates that arrive later. */
const voteMemoryHeights = 3;
interface TxRejection {
  readonly reason: RejectReason;
  readonly detail: string;
}

/** How far ahead of an account's next nonce a transaction may wait in the mempool. */
const maxNonceGap = 64;
/** Heights a transaction may wait for what it depends on before it is rejected for good. */
const mempoolWaitHeights = 16;
/** Rejections that a still-pending transaction can cure; every other rejection is final. */
export const mayBecomeValid: ReadonlySet<RejectReason> = new Set([
  'future-nonce',
  'unknown-bill',
  'unknown-account',
  'insufficient-balance',
  'not-validator',
]);
/** How many views ahead of ours a message may be before it is dropped unread. */
const maxViewsAhead = 64;
/** Views beyond which timeouts stop doubling (bounds the wait after a long outage). */
const maxTimeoutDoublings = 6;

interface Proposal {
  readonly vote: Vote;
  readonly block: Block;
  readonly execution: Execution;
}

export interface ReplicaOptions {
  readonly genesis: Genesis;
  readonly keys: KeyPair;
  readonly check: SignatureCheck;
  /**
   * The latest (height, view) at which an earlier run of this validator signed a proposal or a
   * vote (a tab reloaded from its stored chain): this replica signs none there or before, so that
   * what the earlier run signed and this one forgot cannot make it sign two different things.
   */
  readonly signedUpTo?: VotePoint | null;
}

export class Replica {
  readonly id: ValidatorId;
  readonly chain: Chain;
  private readonly secretKey: Uint8Array;
  private readonly signedUpTo: VotePoint | null;

  // The height being decided (chain.height + 1) and where this replica stands in it.
  view = 0;
  status: 'normal' | 'view-change' = 'normal';
  private proposals = new Map<number, Proposal>();
  private validated = new Map<Digest, Execution | null>();
  private blocksByDigest = new Map<Digest, Block>();
  /**
   * Proposals of this height not voted on here (another view, or ours was changing), one per view:
   * if the room commits one of them without us, its commit quorum still decides it here.
   */
  private unvoted = new Map<number, { readonly digest: Digest; readonly block: Block }>();
  private votes = new Map<string, Map<ValidatorId, Vote>>();
  private viewChanges = new Map<number, Map<ValidatorId, ViewChange>>();
  private prepared: PreparedCertificate | null = null;
  private sent = new Set<string>();
  private proposeArmed = false;

  // Across heights.
  /** Pending transactions in arrival order, with the height at which each arrived. */
  private readonly mempool = new Map<
    string,
    { tx: SignedTx; since: number; heldFor: TxRejection | null }
  >();
  private readonly attestationPool = new Map<string, Attestation>();
  private readonly evidencePool = new Map<string, Evidence>();
  private readonly voteMemory = new Map<string, Vote>();
  private readonly reportedOffences = new Set<string>();
  private futureMessages: { from: ValidatorId; message: Message }[] = [];
  /** Committed blocks with their certificates, index = height − 1 (served to peers that lag). */
  readonly blocks: CommittedBlock[] = [];
  /** Commit votes for the head that arrived after the decision (they go into the next block). */
  private lateCommits = new Map<ValidatorId, CertSignature>();
  private syncAttempt = 0;
  private heightAtLastSync = -1;
  private syncRequested = false;

  private out: ReplicaOutput = { messages: [], timers: [], events: [] };
  private now = 0;

  constructor(options: ReplicaOptions) {
    this.id = toHex(options.keys.publicKey);
    this.secretKey = options.keys.secretKey;
    this.chain = new Chain(options.genesis, options.check);
    this.signedUpTo = options.signedUpTo ?? null;
  }

  /** Whether this replica may sign a proposal or vote at (the current height, `view`). */
  private maySign(view: number): boolean {
    const before = this.signedUpTo;
    return (
      before === null ||
      this.height > before.height ||
      (this.height === before.height && view > before.view)
    );
  }

  get height(): number {
    return this.chain.nextHeight;
  }

  get mempoolSize(): number {
    return this.mempool.size;
  }

  /** The transactions waiting in the mempool, in arrival order (a copy, for views and tools). */
  pendingTxs(): SignedTx[] {
    return [...this.mempool.values()].map((e) => e.tx);
  }

  /** The single entry point. Never throws on anything a peer can send. */
  handle(input: ReplicaInput): ReplicaOutput {
    this.out = { messages: [], timers: [], events: [] };
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.enterHeight();
        this.armSync();
        break;
      case 'timer':
        this.onTimer(input.timer);
        break;
      case 'submit':
        this.onTx(input.tx, true);
        break;
      case 'message':
        this.onMessage(input.from, input.message);
        break;
    }
    return this.out;
  }

  // ── plumbing ──────────────────────────────────────────────────────────────────────────────

  private emit(event: ReplicaEvent): void {
    this.out.events.push(event);
  }

  private rejectTx(
    txId: string,
    tx: SignedTx,
    why: { readonly reason: RejectReason; readonly detail: string },
  ): void {
    const { reason, detail } = why;
    const billId = tx.body.type === 'pay-bill' ? tx.body.billId : undefined;
    this.emit({ type: 'tx-rejected', txId, reason, detail, ...(billId ? { billId } : {}) });
  }

  private send(to: ValidatorId, message: Message): void {
    if (to !== this.id) this.out.messages.push({ to, message } satisfies Envelope);
  }

  private toCommittee(message: Message): void {
    for (const id of this.chain.committee) this.send(id, message);
  }

  private setTimer(timer: Timer): void {
    this.out.timers.push(timer);
  }

  private drop(from: ValidatorId, message: Message, reason: string): void {
    this.emit({ type: 'dropped', from, messageType: message.type, reason });
  }

  private get inCommittee(): boolean {
    return this.chain.isCommitteeMember(this.id);
  }

  private timeoutMs(view: number): number {
    const base = this.chain.config.viewTimeoutMs * 2 ** Math.min(view, maxTimeoutDoublings);
    return view === 0 ? base + this.chain.config.blockIntervalMs : base;
  }

  // ── heights and views ─────────────────────────────────────────────────────────────────────

  /** Resets the per-height state and arms the timers of view 0 of the next height. */
  private enterHeight(): void {
    this.view = 0;
    this.status = 'normal';
    this.proposals = new Map();
    this.validated = new Map();
    this.blocksByDigest = new Map();
    this.unvoted = new Map();
    this.votes = new Map();
    this.viewChanges = new Map();
    this.prepared = null;
    this.sent = new Set();
    this.proposeArmed = false;
    if (!this.inCommittee) return;
    this.setTimer({ kind: 'view', height: this.height, view: 0, afterMs: this.timeoutMs(0) });
    if (this.chain.primary(0) === this.id) {
      // Propose at once when there is work; otherwise wait for work or the heartbeat.
      this.proposeArmed = true;
      this.setTimer({
        kind: 'propose',
        height: this.height,
        view: 0,
        afterMs: this.chain.config.blockIntervalMs,
      });
      this.proposeIfWork();
    }
  }

  private armSync(): void {
    this.setTimer({
      kind: 'sync',
      height: this.height,
      view: 0,
      afterMs: this.chain.config.syncTimeoutMs,
    });
  }

  private onTimer(timer: Timer): void {
    switch (timer.kind) {
      case 'sync':
        this.onSyncTimer();
        return;
      case 'propose':
        if (
          timer.height === this.height &&
          this.view === 0 &&
          this.status === 'normal' &&
          this.proposeArmed
        )
          this.propose(this.buildBlock());
        return;
      case 'view':
        if (timer.height !== this.height || timer.view !== this.view || !this.inCommittee) return;
        // Timed out in view v (normal) or waiting for new-view of v (view change): try v + 1.
        this.startViewChange(this.view + 1, 'timeout');
        return;
    }
  }

  /**
   * No progress since the last sync timer: ask a peer for blocks. Peers are tried in a fixed
   * rotation (no randomness), starting from a different one per node.
   */
  private onSyncTimer(): void {
    if (this.chain.height === this.heightAtLastSync || this.syncRequested) {
      const peers = this.chain
        .validatorList()
        .map((v) => v.id)
        .filter((id) => id !== this.id);
      if (peers.length > 0) {
        const offset = parseInt(this.id.slice(0, 6), 16);
        const peer = peers[(offset + this.syncAttempt++) % peers.length]!;
        this.send(peer, {
          type: 'block-request',
          fromHeight: this.height,
          toHeight: this.height + blocksPerResponse - 1,
        });
      }
    }
    this.syncRequested = false;
    this.heightAtLastSync = this.chain.height;
    this.armSync();
  }

  private startViewChange(view: number, reason: 'timeout' | 'f+1 view-changes'): void {
    const key = `vc/${view}`;
    if (view <= this.view && this.status === 'view-change') return;
    if (this.sent.has(key)) return;
    this.sent.add(key);
    const fromView = this.view;
    const accepted = this.proposals.get(fromView)?.vote ?? null;
    this.view = view;
    this.status = 'view-change';
    this.proposeArmed = false;
    const vc = signViewChange(
      this.chain.chainId,
      this.secretKey,
      this.id,
      this.height,
      view,
      this.prepared,
      accepted,
    );
    this.emit({ type: 'view-change', height: this.height, fromView, toView: view, reason });
    this.toCommittee({ type: 'view-change', viewChange: vc });
    this.setTimer({ kind: 'view', height: this.height, view, afterMs: this.timeoutMs(view) });
    this.onViewChange(this.id, vc);
  }

  // ── transactions ──────────────────────────────────────────────────────────────────────────

  private onTx(tx: SignedTx, local: boolean): void {
    const id = txIdOf(tx);
    if (this.mempool.has(id)) return;
    const ledger = this.chain.ledger;
    const result = checkTx(ledger, tx, { height: this.height, check: this.chain.check });
    // A transaction may depend on others still pending (its earlier nonces, the bill it pays, the
    // transfer that funds it): keep it for a while, within a nonce window.
    const nextNonce = accountOf(ledger, tx.signer)?.nonce ?? 0;
    const waitable =
      !result.ok && mayBecomeValid.has(result.reason) && tx.body.nonce - nextNonce <= maxNonceGap;
    if (!result.ok && !waitable) {
      this.rejectTx(id, tx, result);
      return;
    }
    if (this.mempool.size >= this.chain.config.maxMempool) {
      if (local) this.rejectTx(id, tx, { reason: 'malformed', detail: 'mempool full' });
      return;
    }
    this.mempool.set(id, {
      tx,
      since: this.height,
      heldFor: result.ok ? null : { reason: result.reason, detail: result.detail },
    });
    if (local) this.emit({ type: 'tx-accepted', txId: id });
    this.proposeIfWork();
  }

  /**
   * Drops mempool entries that can no longer apply (already paid, stale nonce, …), and those that
   * waited too long for a missing earlier nonce.
   */
  private sweepMempool(): void {
    for (const [id, { tx, since, heldFor }] of this.mempool) {
      const result = checkTx(this.chain.ledger, tx, {
        height: this.height,
        check: this.chain.check,
      });
      if (result.ok) continue;
      if (mayBecomeValid.has(result.reason) && this.height - since <= mempoolWaitHeights) continue;
      this.mempool.delete(id);
      // A transaction held for a missing dependency is rejected for that reason, even if by now
      // it also fails another way (its nonce taken by a later transaction, say).
      this.rejectTx(id, tx, heldFor ?? result);
    }
  }

  // ── proposing ─────────────────────────────────────────────────────────────────────────────

  /** The certificate of the head to carry in the next block: every commit vote we hold for it. */
  private headCertificate(): CommitCertificate | null {
    const last = this.blocks[this.chain.height - 1];
    if (!last) return null;
    const signatures = new Map(last.certificate.signatures.map((s) => [s.signer, s]));
    for (const [signer, s] of this.lateCommits)
      if (!signatures.has(signer)) signatures.set(signer, s);
    const committee = new Set(this.chain.lastCommittee);
    const sorted = [...signatures.values()]
      .filter((s) => committee.has(s.signer))
      .sort((a, b) => (a.signer < b.signer ? -1 : 1));
    return { ...last.certificate, signatures: sorted };
  }

  /** Builds the next block from the mempool and the pools (used by honest primaries). */
  buildBlock(): Block {
    const c = this.chain.config;
    const txs: SignedTx[] = [];
    let ledger = this.chain.ledger;
    // Transactions apply in mempool order; one that cannot apply now either waits (future nonce)
    // or is dropped for good.
    for (const [id, { tx }] of this.mempool) {
      if (txs.length >= c.maxTxPerBlock) break;
      const { state, result } = applyTx(ledger, tx, {
        height: this.height,
        check: this.chain.check,
      });
      if (result.ok) {
        txs.push(tx);
        ledger = state;
      } else if (!mayBecomeValid.has(result.reason)) {
        this.mempool.delete(id);
        this.rejectTx(id, tx, result);
      }
    }
    const attestations: Attestation[] = [];
    const attested = new Set<string>();
    for (const [key, a] of this.attestationPool) {
      if (attestations.length >= c.maxAttestationsPerBlock) break;
      if (a.height > this.chain.height) continue; // its block is not committed here yet
      if (this.chain.attestationAcceptable(a, attested).ok) {
        attestations.push(a);
        attested.add(`${a.signer}/${a.height}`);
      } else this.attestationPool.delete(key);
    }
    const evidence: Evidence[] = [];
    for (const [key, e] of this.evidencePool) {
      if (evidence.length >= c.maxEvidencePerBlock) break;
      if (this.chain.evidenceAcceptable(e).ok) evidence.push(e);
      else if (e.type === 'equivocation' || e.proposal.height < this.height)
        this.evidencePool.delete(key);
    }
    return {
      height: this.height,
      prevHash: this.chain.headHash,
      proposer: this.id,
      txs,
      lastCommit: this.headCertificate(),
      attestations,
      evidence,
    };
  }

  /** Proposes early when the block would carry something; else the heartbeat timer will. */
  private proposeIfWork(): void {
    if (!this.proposeArmed || this.mempool.size === 0) return;
    const block = this.buildBlock();
    if (block.txs.length > 0 || block.evidence.length > 0) this.propose(block);
  }

  private propose(block: Block): void {
    this.proposeArmed = false;
    const key = `pp/${this.view}`;
    if (
      this.sent.has(key) ||
      this.status !== 'normal' ||
      this.chain.primary(this.view) !== this.id ||
      !this.maySign(this.view)
    )
      return;
    this.sent.add(key);
    this.sendProposal(block, this.view);
  }

  /** This replica's own signed vote at the current height. */
  private signOwn(kind: VoteKind, view: number, digest: Digest): Vote {
    return signVote(this.chain.chainId, this.secretKey, this.id, kind, this.height, view, digest);
  }

  /** Signs and sends a pre-prepare for `block` in `view`, then handles it as any member would. */
  protected sendProposal(block: Block, view: number): void {
    const vote = this.signOwn('pre-prepare', view, blockHash(block));
    this.toCommittee({ type: 'pre-prepare', vote, block });
    this.acceptProposal(this.id, vote, block);
  }

  // ── messages ──────────────────────────────────────────────────────────────────────────────

  private onMessage(from: ValidatorId, message: Message): void {
    switch (message.type) {
      case 'tx':
        this.onTx(message.tx, false);
        return;
      case 'pre-prepare':
      case 'prepare':
      case 'commit': {
        const h = message.vote.height;
        if (this.routeByHeight(from, message, h)) this.onVoteMessage(from, message);
        return;
      }
      case 'view-change':
        if (this.routeByHeight(from, message, message.viewChange.height))
          this.onViewChange(from, message.viewChange);
        return;
      case 'new-view':
        if (this.routeByHeight(from, message, message.height)) this.onNewView(from, message);
        return;
      case 'decided':
        this.onCommittedBlocks(from, [message.committed], false);
        return;
      case 'block-request':
        this.onBlockRequest(from, message.fromHeight, message.toHeight);
        return;
      case 'block-response':
        this.onCommittedBlocks(from, message.blocks, true);
        return;
      case 'attestation':
        this.onAttestation(from, message.attestation);
        return;
      case 'evidence':
        this.onEvidence(from, message.evidence);
        return;
    }
  }

  /**
   * True when a consensus message is for the current height. Older: a peer lags, so send it the
   * block it is missing. Newer: keep the message for later, and ask for blocks if we are behind
   * by more than one height.
   */
  private routeByHeight(from: ValidatorId, message: Message, height: number): boolean {
    if (height === this.height) {
      // Views far ahead of ours cost schedule work and memory; no honest member runs that far
      // ahead without us hearing of the views between (each needs q view-changes).
      const view = viewOf(message);
      if (view !== null && (view < 0 || view > this.view + maxViewsAhead)) {
        this.drop(from, message, `view ${view} is out of range (at view ${this.view})`);
        return false;
      }
      return true;
    }
    if (height < this.height) {
      if (message.type === 'commit' && height === this.chain.height)
        this.onLateCommit(message.vote);
      // A late vote can still prove equivocation (a second block that lost the race, say).
      if (
        (message.type === 'pre-prepare' ||
          message.type === 'prepare' ||
          message.type === 'commit') &&
        height > this.chain.height - voteMemoryHeights
      ) {
        const vote = message.vote;
        if (
          vote.kind === message.type &&
          this.voteMemory.has(`${vote.height}/${vote.view}/${vote.kind}/${vote.signer}`) &&
          this.chain.verifyVote(vote)
        )
          this.rememberVote(vote);
      }
      const committed = this.blocks[height - 1];
      const key = `helped/${from}/${height}`;
      if (
        committed &&
        !this.sent.has(key) &&
        (message.type === 'view-change' || message.type === 'pre-prepare')
      ) {
        this.sent.add(key);
        this.send(from, { type: 'decided', committed });
      }
      return false;
    }
    if (this.futureMessages.length < maxFutureMessages) this.futureMessages.push({ from, message });
    if (height > this.height + 1 && !this.syncRequested) {
      this.syncRequested = true;
      this.send(from, {
        type: 'block-request',
        fromHeight: this.height,
        toHeight: Math.min(height - 1, this.height + blocksPerResponse - 1),
      });
    }
    return false;
  }

  private onLateCommit(vote: Vote): void {
    const last = this.blocks[this.chain.height - 1];
    if (!last || vote.view !== last.certificate.view || vote.digest !== last.certificate.digest)
      return;
    if (!this.chain.lastCommittee.includes(vote.signer) || this.lateCommits.has(vote.signer))
      return;
    if (!this.chain.verifyVote(vote)) return;
    this.lateCommits.set(vote.signer, { signer: vote.signer, kind: 'commit', sig: vote.sig });
  }

  /** Remembers a signed vote; a second, different vote for the same slot is evidence. */
  private rememberVote(vote: Vote): void {
    const key = `${vote.height}/${vote.view}/${vote.kind}/${vote.signer}`;
    const earlier = this.voteMemory.get(key);
    if (!earlier) {
      this.voteMemory.set(key, vote);
      return;
    }
    if (earlier.digest === vote.digest) return;
    this.reportEvidence({ type: 'equivocation', first: earlier, second: vote });
  }

  /**
   * A verified commit certificate holds a signed commit of each signer: one that conflicts with a
   * commit remembered from that signer is evidence. This is how a voter that sends different
   * commits to different members is caught (no honest member forwards another's votes, so
   * otherwise only a view change would bring the two together).
   */
  private spotEquivocationIn(certificate: CommitCertificate): void {
    const { height, view, digest } = certificate;
    for (const { signer, kind, sig } of certificate.signatures) {
      const earlier = this.voteMemory.get(`${height}/${view}/${kind}/${signer}`);
      if (earlier && earlier.digest !== digest)
        this.reportEvidence({
          type: 'equivocation',
          first: earlier,
          second: { kind, height, view, digest, signer, sig },
        });
    }
  }

  private reportEvidence(evidence: Evidence): void {
    const v = evidence.type === 'equivocation' ? evidence.first : evidence.proposal;
    const key = `${v.signer}/${evidence.type}/${v.height}/${v.view}`;
    if (this.reportedOffences.has(key) || this.chain.config.mode === 'pbft') return;
    this.reportedOffences.add(key);
    // An offender already convicted (or an offence already on the chain) needs no second proof:
    // every member would drop it.
    if (!this.chain.evidenceAcceptable(evidence).ok) return;
    this.evidencePool.set(key, evidence);
    this.emit({
      type: 'evidence',
      stage: 'detected',
      offender: evidenceOffender(evidence),
      kind: evidence.type,
      height: v.height,
    });
    this.toCommittee({ type: 'evidence', evidence });
  }

  private onEvidence(from: ValidatorId, evidence: Evidence): void {
    const verdict = this.chain.evidenceAcceptable(evidence);
    if (!verdict.ok) {
      this.drop(from, { type: 'evidence', evidence }, verdict.reason);
      return;
    }
    const v = evidence.type === 'equivocation' ? evidence.first : evidence.proposal;
    const key = `${v.signer}/${evidence.type}/${v.height}/${v.view}`;
    if (this.evidencePool.has(key) || this.evidencePool.size >= 256) return;
    this.evidencePool.set(key, evidence);
    this.reportedOffences.add(key);
  }

  private onVoteMessage(
    from: ValidatorId,
    message: Extract<Message, { type: 'pre-prepare' | 'prepare' | 'commit' }>,
  ): void {
    const vote = message.vote;
    if (vote.kind !== message.type)
      return this.drop(from, message, 'vote kind does not match the message');
    if (!this.chain.isCommitteeMember(vote.signer))
      return this.drop(from, message, 'voter outside the committee');
    if (!this.chain.verifyVote(vote)) return this.drop(from, message, 'bad signature');
    this.rememberVote(vote);
    if (message.type === 'pre-prepare') {
      if (vote.signer !== this.chain.primary(vote.view))
        return this.drop(from, message, 'pre-prepare from a non-primary');
      if (message.block.proposer !== vote.signer)
        return this.drop(from, message, 'block names another proposer');
      // Not ours to vote on (later views only via new-view), but the others may commit it.
      if (vote.view !== this.view || this.status !== 'normal')
        return this.keepUnvoted(vote, message.block);
      this.acceptProposal(from, vote, message.block);
      return;
    }
    this.recordVote(vote);
  }

  /**
   * Keeps the first proposal of a view that this replica will not vote on, so that a commit
   * quorum for it still decides it here: a member that timed out alone, or whose own messages
   * are lost (nobody hears its view-changes), would otherwise wait for a catch-up it may never
   * get to ask for. The commit quorum certifies the digest; the block only has to match it.
   */
  private keepUnvoted(vote: Vote, block: Block): void {
    if (this.unvoted.has(vote.view) || vote.digest !== blockHash(block)) return;
    this.unvoted.set(vote.view, { digest: vote.digest, block });
    this.checkQuorums(vote.view, vote.digest);
  }

  private votesFor(kind: VoteKind, view: number): Map<ValidatorId, Vote> {
    const key = `${kind}/${view}`;
    let m = this.votes.get(key);
    if (!m) {
      m = new Map();
      this.votes.set(key, m);
    }
    return m;
  }

  private recordVote(vote: Vote): void {
    const votes = this.votesFor(vote.kind, vote.view);
    if (votes.has(vote.signer)) return;
    votes.set(vote.signer, vote);
    this.emit({
      type: 'vote',
      kind: vote.kind,
      height: vote.height,
      view: vote.view,
      digest: vote.digest,
      from: vote.signer,
    });
    this.checkQuorums(vote.view, vote.digest);
  }

  /** Validates a block once per digest and caches the verdict. */
  private validate(block: Block): Execution | null {
    const digest = blockHash(block);
    if (this.validated.has(digest)) return this.validated.get(digest)!;
    const verdict = this.chain.validateBlock(block);
    const execution = verdict.ok ? verdict : null;
    this.validated.set(digest, execution);
    if (execution) this.blocksByDigest.set(digest, block);
    return execution;
  }

  /** A pre-prepare from the primary of the current view (directly or inside a new-view). */
  private acceptProposal(from: ValidatorId, vote: Vote, block: Block): void {
    if (vote.digest !== blockHash(block))
      return this.drop(
        from,
        { type: 'pre-prepare', vote, block },
        'digest does not match the block',
      );
    const existing = this.proposals.get(vote.view);
    if (existing) return; // a second, different pre-prepare is caught by rememberVote
    const execution = this.validate(block);
    if (!execution) {
      const verdict = this.chain.validateBlock(block);
      const reason = verdict.ok ? 'valid' : verdict.reason;
      this.emit({
        type: 'invalid-proposal',
        height: vote.height,
        view: vote.view,
        proposer: vote.signer,
        reason,
      });
      if (!block.evidence.some((e) => e.type === 'invalid-proposal'))
        this.reportEvidence({ type: 'invalid-proposal', proposal: vote, block });
      return;
    }
    if (block.lastCommit) this.spotEquivocationIn(block.lastCommit);
    this.proposals.set(vote.view, { vote, block, execution });
    this.emit({
      type: 'proposal',
      height: vote.height,
      view: vote.view,
      digest: vote.digest,
      proposer: vote.signer,
      txCount: block.txs.length,
    });
    // Our prepare is signed before the proposal is recorded: recording it can complete a commit
    // quorum that arrived first, and deciding moves this replica to the next height, where a
    // prepare signed afterwards would name the next height with this block's digest (and its
    // real prepare there would then be a second one: evidence against an honest member).
    const prepare =
      vote.signer !== this.id && this.inCommittee && this.maySign(vote.view)
        ? this.signOwn('prepare', vote.view, vote.digest)
        : null;
    if (prepare) {
      this.toCommittee({ type: 'prepare', vote: prepare });
      this.rememberVote(prepare);
    }
    this.recordVote(vote);
    if (prepare && this.height === vote.height) this.recordVote(prepare);
  }

  /**
   * Prepared: the proposal plus prepares from `q` distinct members (the pre-prepare counts as the
   * primary's prepare). Committed: `q` commits and the block in hand. A commit quorum in any view
   * decides: it implies f+1 honest members prepared that block, so no other block can be prepared
   * at this height in a later view.
   */
  private checkQuorums(view: number, digest: Digest): void {
    const n = this.chain.committee.length;
    const q = quorumSize(n);
    const proposal = this.proposals.get(view);
    if (
      proposal &&
      proposal.vote.digest === digest &&
      view === this.view &&
      this.status === 'normal' &&
      !this.sent.has(`commit/${view}`)
    ) {
      const signers = this.matching(['pre-prepare', 'prepare'], view, digest);
      if (signers.length >= q) {
        this.sent.add(`commit/${view}`);
        this.prepared = {
          height: this.height,
          view,
          digest,
          block: proposal.block,
          signatures: signers
            .slice(0, q)
            .map((v) => ({ signer: v.signer, kind: v.kind, sig: v.sig })),
        };
        this.emit({
          type: 'quorum',
          phase: 'prepared',
          height: this.height,
          view,
          digest,
          count: signers.length,
          q,
          n,
        });
        if (this.inCommittee && this.maySign(view)) {
          const commit = this.signOwn('commit', view, digest);
          this.toCommittee({ type: 'commit', vote: commit });
          this.rememberVote(commit);
          this.recordVote(commit);
          return; // recordVote re-entered checkQuorums with our commit counted
        }
      }
    }
    const commits = this.matching(['commit'], view, digest);
    if (commits.length >= q) {
      const unvoted = this.unvoted.get(view);
      const block =
        this.blocksByDigest.get(digest) ?? (unvoted?.digest === digest ? unvoted.block : undefined);
      const execution = block ? this.validate(block) : null;
      if (!block || !execution) return;
      this.emit({
        type: 'quorum',
        phase: 'committed',
        height: this.height,
        view,
        digest,
        count: commits.length,
        q,
        n,
      });
      const certificate: CommitCertificate = {
        height: this.height,
        view,
        digest,
        signatures: commits
          .map((v) => ({ signer: v.signer, kind: 'commit' as const, sig: v.sig }))
          .sort((a, b) => (a.signer < b.signer ? -1 : 1)),
      };
      this.decide(block, execution, certificate, view, false);
    }
  }

  private matching(kinds: readonly VoteKind[], view: number, digest: Digest): Vote[] {
    const bySigner = new Map<ValidatorId, Vote>();
    for (const kind of kinds) {
      for (const v of this.votesFor(kind, view).values())
        if (v.digest === digest && !bySigner.has(v.signer)) bySigner.set(v.signer, v);
    }
    return [...bySigner.values()];
  }

  // ── view change ───────────────────────────────────────────────────────────────────────────

  /** Checks a view-change's signature and its prepared certificate. */
  private viewChangeValid(vc: ViewChange): boolean {
    if (vc.height !== this.height || vc.view < 1) return false;
    if (!this.chain.isCommitteeMember(vc.signer)) return false;
    const key = publicKeyFromId(vc.signer);
    if (
      !key ||
      !this.chain.check(
        key,
        viewChangeSigningBytes(this.chain.chainId, vc.height, vc.view, vc.prepared),
        vc.sig,
      )
    )
      return false;
    const p = vc.prepared;
    if (p) {
      if (p.height !== vc.height || p.view >= vc.view || p.digest !== blockHash(p.block))
        return false;
      if (!this.chain.verifyCertificate(p, this.chain.committee, ['pre-prepare', 'prepare']).ok)
        return false;
    }
    if (vc.accepted) {
      const a = vc.accepted;
      if (a.kind !== 'pre-prepare' || a.height !== vc.height || !this.chain.verifyVote(a))
        return false;
    }
    return true;
  }

  private onViewChange(from: ValidatorId, vc: ViewChange): void {
    if (from !== this.id && !this.viewChangeValid(vc))
      return this.drop(from, { type: 'view-change', viewChange: vc }, 'invalid view-change');
    if (vc.accepted) this.rememberVote(vc.accepted);
    if (vc.prepared)
      for (const s of vc.prepared.signatures)
        this.rememberVote({
          kind: s.kind,
          height: vc.prepared.height,
          view: vc.prepared.view,
          digest: vc.prepared.digest,
          signer: s.signer,
          sig: s.sig,
        });
    let byView = this.viewChanges.get(vc.view);
    if (!byView) {
      byView = new Map();
      this.viewChanges.set(vc.view, byView);
    }
    if (byView.has(vc.signer)) return;
    byView.set(vc.signer, vc);
    const n = this.chain.committee.length;

    // f+1 members want a view above ours: at least one honest member timed out, so join them
    // (at the smallest such view), rather than wait for our own timer.
    if (this.inCommittee) {
      const above = new Map<ValidatorId, number>();
      for (const [view, m] of this.viewChanges) {
        if (view <= this.view) continue;
        for (const signer of m.keys()) above.set(signer, Math.min(above.get(signer) ?? view, view));
      }
      if (above.size >= weakQuorumSize(n)) {
        const target = Math.min(...above.values());
        if (target > this.view) this.startViewChange(target, 'f+1 view-changes');
      }
    }

    // The primary of the new view, with q view-changes, sends new-view.
    const view = vc.view;
    const collected = this.viewChanges.get(view);
    if (
      collected &&
      collected.size >= quorumSize(n) &&
      this.chain.primary(view) === this.id &&
      view >= this.view &&
      !this.sent.has(`nv/${view}`) &&
      this.maySign(view)
    ) {
      this.sent.add(`nv/${view}`);
      const viewChanges = [...collected.values()].slice(0, quorumSize(n));
      const highest = highestPrepared(viewChanges);
      let block: Block;
      if (highest) block = highest.block;
      else {
        this.view = view; // buildBlock signs for the current height; view only matters for the vote
        block = this.buildBlock();
      }
      const proposal = this.signOwn('pre-prepare', view, blockHash(block));
      const message: Message = {
        type: 'new-view',
        height: this.height,
        view,
        viewChanges,
        proposal,
        block,
      };
      this.toCommittee(message);
      this.onNewView(this.id, message);
    }
  }

  private onNewView(from: ValidatorId, message: Extract<Message, { type: 'new-view' }>): void {
    const { view, viewChanges, proposal, block } = message;
    if (view < this.view) {
      // A view this replica has already left: the others may still commit its block there.
      if (
        proposal.kind === 'pre-prepare' &&
        proposal.view === view &&
        proposal.height === this.height &&
        proposal.signer === this.chain.primary(view) &&
        this.chain.verifyVote(proposal)
      )
        this.keepUnvoted(proposal, block);
      return;
    }
    if (view === this.view && this.status === 'normal' && this.proposals.has(view)) return;
    const fail = (reason: string) => this.drop(from, message, reason);
    if (
      proposal.kind !== 'pre-prepare' ||
      proposal.view !== view ||
      proposal.height !== this.height
    )
      return fail('bad proposal');
    if (proposal.signer !== this.chain.primary(view)) return fail('new-view from a non-primary');
    if (from !== this.id && !this.chain.verifyVote(proposal)) return fail('bad signature');
    const signers = new Set<ValidatorId>();
    for (const vc of viewChanges) {
      if (vc.view !== view || signers.has(vc.signer)) return fail('view-changes do not match');
      if (vc.signer !== this.id && !this.viewChangeValid(vc))
        return fail('invalid view-change inside new-view');
      signers.add(vc.signer);
    }
    if (signers.size < quorumSize(this.chain.committee.length))
      return fail('new-view without a quorum of view-changes');
    // Safety of the view change: if any of the q view-changes holds a prepared certificate, the
    // new primary must re-propose the block of the highest one (it may have committed somewhere).
    const highest = highestPrepared(viewChanges);
    if (highest && highest.digest !== proposal.digest)
      return fail('new-view ignores the highest prepared certificate');
    // A fresh block must name its real proposer; a re-proposed one keeps its original proposer.
    if (!highest && block.proposer !== proposal.signer) return fail('block names another proposer');
    for (const vc of viewChanges) if (vc.accepted) this.rememberVote(vc.accepted);
    this.rememberVote(proposal);
    this.view = view;
    this.status = 'normal';
    this.emit({
      type: 'new-view',
      height: this.height,
      view,
      primary: proposal.signer,
      reproposed: highest !== null,
    });
    this.setTimer({ kind: 'view', height: this.height, view, afterMs: this.timeoutMs(view) });
    this.acceptProposal(from, proposal, block);
    // Votes for this view may have arrived before the new-view.
    this.checkQuorums(view, proposal.digest);
  }

  // ── deciding and catching up ──────────────────────────────────────────────────────────────

  private decide(
    block: Block,
    execution: Execution,
    certificate: CommitCertificate,
    view: number,
    viaCatchUp: boolean,
  ): void {
    this.spotEquivocationIn(certificate);
    const committeeOfHeight = this.chain.committee;
    const wasMember = this.inCommittee;
    const tierAtHeight = this.chain.tierOf(this.id);
    const events = this.chain.commit(block, execution);
    this.blocks.push({ block, certificate });
    this.lateCommits = new Map();
    this.emit({
      type: 'commit',
      height: block.height,
      view,
      digest: certificate.digest,
      proposer: block.proposer,
      txCount: block.txs.length,
      viaCatchUp,
    });
    for (const e of events) this.out.events.push(e);

    for (const tx of block.txs) this.mempool.delete(txIdOf(tx));
    for (const a of block.attestations) this.attestationPool.delete(`${a.signer}/${a.height}`);
    for (const [key, e] of this.evidencePool)
      if (!this.chain.evidenceAcceptable(e).ok) this.evidencePool.delete(key);
    for (const key of this.voteMemory.keys()) {
      if (Number(key.slice(0, key.indexOf('/'))) < block.height - voteMemoryHeights)
        this.voteMemory.delete(key);
    }

    // Push the decision to the validators outside the committee: each committee member serves
    // its share (by position), so every outsider gets one copy per height.
    if (wasMember && !viaCatchUp) {
      const position = committeeOfHeight.indexOf(this.id);
      const members = new Set(committeeOfHeight);
      const outsiders = this.chain
        .validatorList()
        .map((v) => v.id)
        .filter((id) => !members.has(id));
      outsiders.forEach((id, i) => {
        if (i % committeeOfHeight.length === position)
          this.send(id, { type: 'decided', committed: { block, certificate } });
      });
    }
    if (!wasMember) this.attest(block, execution, tierAtHeight);
    this.sweepMempool();

    const pending = this.futureMessages;
    this.futureMessages = [];
    this.enterHeight();
    for (const { from, message } of pending) this.onMessage(from, message);
  }

  /**
   * Level 2: Candidates attest every block, Observers the first block of each epoch (to build
   * trust). Sent to the next primaries, who include them in their blocks.
   */
  private attest(block: Block, execution: Execution, tier: Tier | null): void {
    const firstOfEpoch = (block.height - 1) % this.chain.config.epochLength === 0;
    if (this.chain.config.mode === 'pbft') return;
    if (!(tier === 'candidate' || (tier === 'observer' && firstOfEpoch))) return;
    const attestation = signAttestation(
      this.chain.chainId,
      this.secretKey,
      this.id,
      block.height,
      blockHash(block),
      execution.resultsHash,
    );
    const targets = new Set([this.chain.primary(0), this.chain.primary(1)]);
    for (const to of targets) this.send(to, { type: 'attestation', attestation });
  }

  private onAttestation(from: ValidatorId, attestation: Attestation): void {
    if (
      !this.inCommittee ||
      this.attestationPool.size >= 4 * this.chain.config.maxAttestationsPerBlock
    )
      return;
    // An attestation may outrun the block it attests (a Candidate heard of the decision from a
    // faster member): keep one for a height just ahead of ours and judge it when we build.
    const ahead =
      attestation.height > this.chain.height && attestation.height <= this.chain.height + 2;
    const verdict = ahead ? { ok: true as const } : this.chain.attestationAcceptable(attestation);
    if (!verdict.ok) return this.drop(from, { type: 'attestation', attestation }, verdict.reason);
    this.attestationPool.set(`${attestation.signer}/${attestation.height}`, attestation);
  }

  private onBlockRequest(from: ValidatorId, fromHeight: number, toHeight: number): void {
    if (!Number.isSafeInteger(fromHeight) || !Number.isSafeInteger(toHeight) || fromHeight < 1)
      return;
    const last = Math.min(toHeight, fromHeight + blocksPerResponse - 1, this.blocks.length);
    if (last < fromHeight) return;
    // Stay under the wire's frame limit: stop adding blocks once the estimate would pass it.
    const blocks: CommittedBlock[] = [];
    let bytes = 0;
    for (let h = fromHeight; h <= last; h++) {
      const committed = this.blocks[h - 1]!;
      const size = estimatedBytes(committed.block);
      if (blocks.length > 0 && bytes + size > responseBudgetBytes) break;
      blocks.push(committed);
      bytes += size;
    }
    this.send(from, { type: 'block-response', blocks });
  }

  /** Committed blocks from a peer: each is checked against the committee of its height. */
  private onCommittedBlocks(
    from: ValidatorId,
    blocks: readonly CommittedBlock[],
    isResponse: boolean,
  ): void {
    const startHeight = this.chain.height;
    let highestSeen = 0;
    const message: Message = isResponse
      ? { type: 'block-response', blocks }
      : { type: 'decided', committed: blocks[0]! };
    let rejected = false;
    for (const { block, certificate } of blocks) {
      highestSeen = Math.max(highestSeen, block.height);
      if (block.height !== this.height) continue;
      const verdict = this.chain.verifyDecision(block, certificate);
      if (!verdict.ok) {
        this.drop(from, message, verdict.reason);
        rejected = true;
        break;
      }
      const execution = this.validated.get(certificate.digest) ?? this.chain.validateBlock(block);
      if (!execution || !('ledger' in execution)) {
        this.drop(from, message, 'certified block is invalid');
        rejected = true;
        break;
      }
      this.decide(block, execution, certificate, certificate.view, true);
    }
    if (this.chain.height > startHeight) {
      this.emit({
        type: 'catch-up',
        fromHeight: startHeight + 1,
        toHeight: this.chain.height,
        peer: from,
      });
    }
    // A response that moved us forward may not be the last: ask for the next batch at once (a
    // peer with nothing newer simply does not answer).
    if (rejected) return;
    if (isResponse && this.chain.height > startHeight) {
      this.send(from, {
        type: 'block-request',
        fromHeight: this.height,
        toHeight: this.height + blocksPerResponse - 1,
      });
    } else if (highestSeen > this.height && !this.syncRequested) {
      this.syncRequested = true;
      this.send(from, { type: 'block-request', fromHeight: this.height, toHeight: highestSeen });
    }
  }
}

/**
 * A generous upper estimate of a block's encoded size (a transaction encodes to about 270 bytes, a
 * signature with its signer to about 110), cheap enough to compute for every block served.
 */
function estimatedBytes(block: Block): number {
  const certificate = block.lastCommit?.signatures.length ?? 0;
  return (
    1_024 +
    400 * block.txs.length +
    160 * (certificate + block.attestations.length) +
    4_096 * block.evidence.length
  );
}

function viewOf(message: Message): number | null {
  switch (message.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return message.vote.view;
    case 'view-change':
      return message.viewChange.view;
    case 'new-view':
      return message.view;
    default:
      return null;
  }
}

function highestPrepared(viewChanges: readonly ViewChange[]): PreparedCertificate | null {
  let best: PreparedCertificate | null = null;
  for (const vc of viewChanges)
    if (vc.prepared && (!best || vc.prepared.view > best.view)) best = vc.prepared;
  return best;
}
