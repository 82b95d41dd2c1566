// Byzantine behaviours (DESIGN.md §5), each a wrapper around an honest replica: the replica runs
// unchanged and the wrapper rewrites, withholds or forges what it sends. Honest code carries no
// fault switches. Network faults (delay, drop) are link rules the simulated network applies.

import { sha256Bytes, toHex, utf8Bytes } from '../crypto/encoding.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { signVote, signViewChange, blockHash } from '../protocol/signing.ts';
import { heightAndView } from '../protocol/about.ts';
import { quorumSize } from '../protocol/quorum.ts';
import type { Replica } from '../protocol/replica.ts';
import type {
  Block,
  Envelope,
  Message,
  ReplicaInput,
  ReplicaOutput,
  Timer,
  ValidatorId,
  Vote,
} from '../protocol/types.ts';
import type { SignedTx } from '../ledger/types.ts';

export const faultModes = [
  'none',
  'crash',
  'silent',
  'equivocate',
  'wrong-digest',
  'invalid-proposal',
  'forge',
  'stale-view-change',
  'delay',
  'drop',
  'twins',
  'sleeper',
] as const;
export type FaultMode = (typeof faultModes)[number];

/** What the network does to one outgoing link of a faulty node. */
export interface LinkRule {
  readonly drop: boolean;
  readonly extraDelayMs: number;
}

/** A validator as the simulator drives it: an honest replica, maybe behind a fault wrapper. */
export interface Node {
  readonly id: ValidatorId;
  readonly replica: Replica;
  readonly fault: FaultMode;
  handle(input: ReplicaInput): ReplicaOutput;
  linkRule?(to: ValidatorId): LinkRule;
  /** What the node does first when a live host switches to it (a twin starting). */
  attach?(now: number): ReplicaOutput;
  /**
   * What the node owes its replica when a live host switches away from it (a crash's due timers;
   * what a twin heard of the heights still open).
   */
  detach?(now: number): ReplicaInput[];
}

export class HonestNode implements Node {
  readonly fault: FaultMode = 'none';
  constructor(readonly replica: Replica) {}
  get id(): ValidatorId {
    return this.replica.id;
  }
  handle(input: ReplicaInput): ReplicaOutput {
    return this.replica.handle(input);
  }
}

export interface FaultContext {
  readonly keys: KeyPair;
  readonly chainId: string;
  /** Deterministic choice of victims (e.g. which peers a `drop` node ignores). */
  readonly pickHalf: (ids: readonly ValidatorId[]) => Set<ValidatorId>;
  /** How long a `delay` node holds every outgoing message. */
  readonly delayMs: number;
  /**
   * Keys of the colluding equivocators (this node included). When one of them is primary, all of
   * them back each of its two blocks with prepares and commits, each to its half of the honest
   * members — with more than f of them, that forks the chain (what the lessons show).
   */
  readonly cabal?: readonly KeyPair[];
}

/** A digest that names no block: what a lying voter signs. */
function bogusDigest(digest: string, salt: string): string {
  return toHex(sha256Bytes(utf8Bytes(`bogus/${salt}/${digest}`)));
}

function flipBit(sig: Uint8Array): Uint8Array {
  const out = sig.slice();
  out[0] = out[0]! ^ 1;
  return out;
}

/** Base for wrappers that rewrite the honest replica's outgoing messages. */
abstract class RewritingNode implements Node {
  constructor(
    readonly replica: Replica,
    readonly fault: FaultMode,
    protected readonly ctx: FaultContext,
  ) {}
  get id(): ValidatorId {
    return this.replica.id;
  }
  handle(input: ReplicaInput): ReplicaOutput {
    const out = this.replica.handle(input);
    if (!this.active()) return out;
    return { ...out, messages: this.rewrite(out.messages) };
  }
  /** Whether the misbehaviour is switched on right now (a sleeper waits). */
  protected active(): boolean {
    return true;
  }
  protected abstract rewrite(messages: Envelope[]): Envelope[];

  protected resign(vote: Vote, digest: string): Vote {
    return signVote(
      this.ctx.chainId,
      this.ctx.keys.secretKey,
      this.id,
      vote.kind,
      vote.height,
      vote.view,
      digest,
    );
  }
}

/** Never proposes when it is the primary (its views time out); votes normally otherwise. */
class SilentNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    return messages.filter(
      (e) => e.message.type !== 'pre-prepare' && e.message.type !== 'new-view',
    );
  }
}

/**
 * Tells different peers different things: as primary, a second valid block for half of the
 * committee; as voter, prepares and commits for a digest that names no block to that half.
 */
class EquivocatingNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    const out: Envelope[] = [];
    const recipients = [...new Set(messages.map((e) => e.to))].sort();
    const cabalIds = new Set((this.ctx.cabal ?? []).map((k) => toHex(k.publicKey)));
    const second = this.ctx.pickHalf(recipients.filter((id) => !cabalIds.has(id)));
    const alternatives = new Map<Message, Message | null>();
    for (const e of messages) {
      const m = e.message;
      if (
        !second.has(e.to) ||
        (m.type !== 'pre-prepare' && m.type !== 'prepare' && m.type !== 'commit')
      ) {
        out.push(e);
        continue;
      }
      if (!alternatives.has(m)) alternatives.set(m, this.alternative(m));
      const alt = alternatives.get(m);
      out.push(alt ? { to: e.to, message: alt } : e);
    }
    // The cabal backs both blocks, each before the half that received it.
    for (const [original, alt] of alternatives) {
      if (original.type !== 'pre-prepare' || !alt || alt.type !== 'pre-prepare') continue;
      for (const to of recipients) {
        if (cabalIds.has(to)) continue;
        const digest = second.has(to) ? alt.vote.digest : original.vote.digest;
        for (const keys of this.ctx.cabal ?? []) {
          const signer = toHex(keys.publicKey);
          for (const kind of ['prepare', 'commit'] as const) {
            if (kind === 'prepare' && signer === this.id) continue; // the pre-prepare is its prepare
            const vote = signVote(
              this.ctx.chainId,
              keys.secretKey,
              signer,
              kind,
              original.vote.height,
              original.vote.view,
              digest,
            );
            out.push({ to, message: { type: kind, vote } });
          }
        }
      }
    }
    return out;
  }

  private alternative(
    m: Extract<Message, { type: 'pre-prepare' | 'prepare' | 'commit' }>,
  ): Message | null {
    if (m.type === 'pre-prepare') {
      const block = alternativeBlock(m.block, this.replica.chain.lastCommittee.length);
      if (!block) return null;
      return { type: 'pre-prepare', vote: this.resign(m.vote, blockHash(block)), block };
    }
    return { type: m.type, vote: this.resign(m.vote, bogusDigest(m.vote.digest, this.id)) };
  }
}

/** A different block that is still valid: one transaction fewer, or a smaller certificate. */
function alternativeBlock(block: Block, lastCommitteeSize: number): Block | null {
  if (block.txs.length > 0) return { ...block, txs: block.txs.slice(0, -1) };
  const cert = block.lastCommit;
  if (cert && lastCommitteeSize > 0 && cert.signatures.length > quorumSize(lastCommitteeSize)) {
    return { ...block, lastCommit: { ...cert, signatures: cert.signatures.slice(0, -1) } };
  }
  if (block.attestations.length > 0)
    return { ...block, attestations: block.attestations.slice(0, -1) };
  return null;
}

/** Votes, consistently, for a digest that names no block. */
class WrongDigestNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    const cache = new Map<Vote, Vote>();
    return messages.map((e) => {
      const m = e.message;
      if (m.type !== 'prepare' && m.type !== 'commit') return e;
      let vote = cache.get(m.vote);
      if (!vote) {
        vote = this.resign(m.vote, bogusDigest(m.vote.digest, this.id));
        cache.set(m.vote, vote);
      }
      return { to: e.to, message: { type: m.type, vote } };
    });
  }
}

/**
 * As primary, proposes a block no honest member may accept: it replays an already committed
 * bill payment (a double payment), or, before any exists, carries a transaction whose signature
 * is broken. The pre-prepare itself is properly signed, so it is evidence.
 */
class InvalidProposalNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    const replaced = new Map<Message, Message>();
    return messages.map((e) => {
      const m = e.message;
      if (m.type !== 'pre-prepare') return e;
      let alt = replaced.get(m);
      if (!alt) {
        const block = { ...m.block, txs: [...m.block.txs, this.poisonTx(m.block)] };
        alt = { type: 'pre-prepare', vote: this.resign(m.vote, blockHash(block)), block };
        replaced.set(m, alt);
      }
      return { to: e.to, message: alt };
    });
  }

  private poisonTx(block: Block): SignedTx {
    for (let i = this.replica.blocks.length - 1; i >= 0; i--) {
      const paid = this.replica.blocks[i]!.block.txs.find((tx) => tx.body.type === 'pay-bill');
      if (paid) return paid;
    }
    const any = block.txs[0] ?? this.replica.blocks.flatMap((b) => b.block.txs)[0];
    if (any) return { ...any, sig: flipBit(any.sig) };
    return {
      chainId: this.ctx.chainId,
      signer: this.id,
      body: { type: 'validator-leave', nonce: 0 },
      sig: new Uint8Array(64),
    };
  }
}

/** Sends its protocol messages with broken signatures (receivers drop and count them). */
class ForgingNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    return messages.map((e) => {
      const m = e.message;
      switch (m.type) {
        case 'pre-prepare':
        case 'prepare':
        case 'commit':
          return { to: e.to, message: { ...m, vote: { ...m.vote, sig: flipBit(m.vote.sig) } } };
        case 'view-change':
          return {
            to: e.to,
            message: { ...m, viewChange: { ...m.viewChange, sig: flipBit(m.viewChange.sig) } },
          };
        default:
          return e;
      }
    });
  }
}

/** Lies in view changes: claims it prepared nothing (hides its prepared certificate). */
class StaleViewChangeNode extends RewritingNode {
  protected rewrite(messages: Envelope[]): Envelope[] {
    return messages.map((e) => {
      const m = e.message;
      if (m.type !== 'view-change' || m.viewChange.prepared === null) return e;
      const vc = m.viewChange;
      return {
        to: e.to,
        message: {
          type: 'view-change',
          viewChange: signViewChange(
            this.ctx.chainId,
            this.ctx.keys.secretKey,
            this.id,
            vc.height,
            vc.view,
            null,
            vc.accepted,
          ),
        },
      };
    });
  }
}

/** Behaves well until it reaches the Core committee, then equivocates (trust gaming). */
class SleeperNode extends EquivocatingNode {
  private awake = false;
  protected override active(): boolean {
    if (!this.awake && this.replica.chain.tierOf(this.id) === 'core') this.awake = true;
    return this.awake;
  }
}

/** Honest protocol, hostile links: all outgoing messages late, or none to chosen peers. */
class LinkFaultNode extends HonestNode implements Node {
  override readonly fault: FaultMode;
  private victims: Set<ValidatorId> | null = null;
  constructor(
    replica: Replica,
    fault: 'delay' | 'drop',
    private readonly ctx: FaultContext,
  ) {
    super(replica);
    this.fault = fault;
  }
  linkRule(to: ValidatorId): LinkRule {
    if (this.fault === 'delay') return { drop: false, extraDelayMs: this.ctx.delayMs };
    if (!this.victims) {
      const others = this.replica.chain
        .validatorList()
        .map((v) => v.id)
        .filter((id) => id !== this.id);
      this.victims = this.ctx.pickHalf(others);
    }
    return { drop: this.victims.has(to), extraDelayMs: 0 };
  }
}

const nothing = (): ReplicaOutput => ({ messages: [], timers: [], events: [] });

/**
 * A live crash: the replica handles nothing and sends nothing, and its timers stop. It keeps its
 * memory (chain, votes, view), like a process that was stopped and later continued: when the host
 * switches back, the timers that fell due meanwhile fire at once (`detach`), so it notices it is
 * behind, asks a peer for the blocks it missed and takes part again. Never re-proposing or
 * re-voting from a blank height, it cannot equivocate by forgetting. (The simulator models crashes
 * itself, as endpoints that go down and restart.)
 */
export class CrashedNode implements Node {
  readonly fault: FaultMode = 'crash';
  /** The latest due timer of each kind (a later one of a kind replaces the earlier). */
  private readonly due = new Map<string, Timer>();
  constructor(readonly replica: Replica) {}
  get id(): ValidatorId {
    return this.replica.id;
  }
  handle(input: ReplicaInput): ReplicaOutput {
    if (input.type === 'timer') this.due.set(input.timer.kind, input.timer);
    return nothing();
  }
  detach(now: number): ReplicaInput[] {
    const owed = [...this.due.values()].map((timer) => ({ type: 'timer', now, timer }) as const);
    this.due.clear();
    return owed;
  }
}

/**
 * Live Twins: a second replica with the same key, each copy on half of the links (Bano et al.).
 * A peer on side 0 talks only to the original, one on side 1 only to the twin; both get this
 * host's own transactions. Each copy follows the protocol, yet together they are one validator
 * saying two things — proposals and votes that differ by side — which the others must catch as
 * equivocation. Only the original's events reach the host (its views, ledger and storage).
 * Switched off, the twin goes and hands the original what it heard of the open heights.
 */
export class TwinsNode implements Node {
  readonly fault: FaultMode = 'twins';
  private readonly side = new Map<ValidatorId, 0 | 1>();
  private readonly count: [number, number] = [0, 0];
  /** The twin's timers, told apart from the original's by identity when they come back. */
  private readonly twinTimers = new WeakSet<Timer>();
  /** The latest messages that went to the twin, with the height each is about (for the original). */
  private readonly twinHeard: { from: ValidatorId; message: Message; height: number }[] = [];
  constructor(
    readonly replica: Replica,
    /** A fresh replica on the same genesis and key (it catches up in `attach`). */
    private readonly twin: Replica,
  ) {}
  get id(): ValidatorId {
    return this.replica.id;
  }

  /** The twin takes the original's committed chain (checked as a restore is) and starts. */
  attach(now: number): ReplicaOutput {
    const blocks = [...this.replica.blocks];
    if (blocks.length > 0)
      this.twin.handle({
        type: 'message',
        now,
        from: this.id,
        message: { type: 'block-response', blocks },
      });
    // Known validators are split in turn, so each side has half of them.
    for (const v of this.replica.chain.validatorList()) if (v.id !== this.id) this.sideOf(v.id);
    return this.fromTwin(this.twin.handle({ type: 'start', now }));
  }

  handle(input: ReplicaInput): ReplicaOutput {
    switch (input.type) {
      case 'message': {
        if (this.sideOf(input.from) === 0) return this.fromOriginal(this.replica.handle(input));
        const { height } = heightAndView(input.message);
        if (height !== null) {
          this.twinHeard.push({ from: input.from, message: input.message, height });
          if (this.twinHeard.length > twinHeardKept) this.twinHeard.shift();
        }
        return this.fromTwin(this.twin.handle(input));
      }
      case 'timer':
        return this.twinTimers.has(input.timer)
          ? this.fromTwin(this.twin.handle(input))
          : this.fromOriginal(this.replica.handle(input));
      default: {
        const a = this.fromOriginal(this.replica.handle(input));
        const b = this.fromTwin(this.twin.handle(input));
        return {
          messages: [...a.messages, ...b.messages],
          timers: [...a.timers, ...b.timers],
          events: a.events,
        };
      }
    }
  }

  /**
   * The twin goes; the original stays, and hears what the twin heard of the heights it has not
   * decided yet. A proposal that went to the twin just before would otherwise never reach the
   * original, which could then hold a commit quorum without its block until a block request
   * (which a lossy link may never carry) brings it.
   */
  detach(now: number): ReplicaInput[] {
    const open = this.replica.height;
    const owed = this.twinHeard
      .filter((m) => m.height >= open)
      .map(({ from, message }) => ({ type: 'message', now, from, message }) as const);
    this.twinHeard.length = 0;
    return owed;
  }

  private sideOf(id: ValidatorId): 0 | 1 {
    let s = this.side.get(id);
    if (s === undefined) {
      s = this.count[0] <= this.count[1] ? 0 : 1;
      this.count[s]++;
      this.side.set(id, s);
    }
    return s;
  }

  private fromOriginal(out: ReplicaOutput): ReplicaOutput {
    return { ...out, messages: out.messages.filter((e) => this.sideOf(e.to) === 0) };
  }

  private fromTwin(out: ReplicaOutput): ReplicaOutput {
    for (const t of out.timers) this.twinTimers.add(t);
    return {
      messages: out.messages.filter((e) => this.sideOf(e.to) === 1),
      timers: out.timers,
      events: [],
    };
  }
}

/** Messages kept for the original when a twin goes (a few heights of a large room). */
const twinHeardKept = 1_024;

/**
 * Wraps `replica` in the behaviour of `mode`. `crash` and `twins` are the simulator's to model (an
 * endpoint that goes down; two endpoints with one key), so they wrap as honest here; a live host
 * uses `CrashedNode` and `TwinsNode` instead.
 */
export function wrapReplica(mode: FaultMode, replica: Replica, ctx: FaultContext): Node {
  switch (mode) {
    case 'none':
    case 'crash':
    case 'twins':
      return Object.assign(new HonestNode(replica), { fault: mode });
    case 'silent':
      return new SilentNode(replica, mode, ctx);
    case 'equivocate':
      return new EquivocatingNode(replica, mode, ctx);
    case 'wrong-digest':
      return new WrongDigestNode(replica, mode, ctx);
    case 'invalid-proposal':
      return new InvalidProposalNode(replica, mode, ctx);
    case 'forge':
      return new ForgingNode(replica, mode, ctx);
    case 'stale-view-change':
      return new StaleViewChangeNode(replica, mode, ctx);
    case 'delay':
    case 'drop':
      return new LinkFaultNode(replica, mode, ctx);
    case 'sleeper':
      return new SleeperNode(replica, mode, ctx);
  }
}
