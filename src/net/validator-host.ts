// Hosts one replica on a live network: real clock and timers, the WebRTC mesh, the wire codec and
// the signature cache. It is the impure shell around the pure replica — the same shell runs in a
// Web Worker (bytes relayed from the tab's data channels) and in a headless Node validator.
//
// Wire frames are canonical CBOR maps: `hello` (proves which validator sits behind a peer id),
// `msg` (one protocol message, encoded by src/protocol/codec.ts), `genesis-request`/`genesis`,
// `head` (the commit certificate of our latest block, sent to every peer every 2 s, so that two
// tabs on different branches of a forked chain find out: consensus messages alone may never
// cross between them — two Observers that follow different copies of a twinned primary, say),
// and `bye`: every validator deposits with each peer its signed `validator-leave` (at its current
// nonce). A peer submits it only when the signaling service reports that the validator left the
// room on purpose (a closed tab says so; a crashed one does not, and is a crash fault) and it has
// not come back within a grace period (a reload comes back, and keeps its place). A page that is
// closing cannot count on its data channels any more, hence the deposit in advance.
// A peer that sends anything malformed is disconnected: an honest peer never does.

import {
  decodeCanonical,
  encodeCanonical,
  isHex,
  publicKeyFromId,
  toHex,
} from '../crypto/encoding.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { sign } from '../crypto/keys.ts';
import { SignatureVerifier, verifySync } from '../crypto/verify.ts';
import { txIdOf } from '../ledger/ledger.ts';
import { signTx } from '../ledger/ledger.ts';
import type { SignedTx } from '../ledger/types.ts';
import {
  decodeCertificate,
  decodeMessage,
  encodeCertificate,
  encodeMessage,
} from '../protocol/codec.ts';
import { encodeGenesis } from '../protocol/genesis.ts';
import { Replica } from '../protocol/replica.ts';
import { HonestNode, type Node } from '../faults/index.ts';
import { signedItemsOf } from '../protocol/signing.ts';
import type {
  CommitCertificate,
  CommittedBlock,
  Envelope,
  Genesis,
  Message,
  ReplicaEvent,
  ReplicaInput,
  ReplicaOutput,
  ValidatorId,
  VotePoint,
} from '../protocol/types.ts';

/** What the host needs from a transport (the mesh, or the tab relaying for a worker). */
export interface Transport {
  /** Sends one frame; the transport may take `bytes` over (a worker transfers the buffer). */
  send(peerId: string, bytes: Uint8Array): boolean;
  disconnect(peerId: string, reason: string): void;
}

export interface HostClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Frames held per peer until our hello has gone to it. */
const maxHeldFrames = 256;

export interface HostOptions {
  readonly genesis: Genesis;
  readonly keys: KeyPair;
  readonly room: string;
  /** This host's peer id on the signaling relay. */
  readonly peerId: string;
  readonly clock: HostClock;
  readonly onEvent?: (event: ReplicaEvent) => void;
  /** Puts a fault wrapper around the honest replica (a misbehaving bot); honest by default. */
  readonly wrap?: (replica: Replica) => Node;
  /** Committed blocks from an earlier session on this genesis, re-verified before use. */
  readonly restore?: readonly CommittedBlock[];
  /** Told of every protocol message this host sends (or its fault rule drops) and receives. */
  readonly onMessage?: (
    stage: 'send' | 'deliver' | 'dropped',
    peer: ValidatorId,
    message: Message,
  ) => void;
  /** How long after a deliberate leave its deposited `bye` is submitted (default 5 s). */
  readonly leaveGraceMs?: number;
  /** Told of the certificate of a peer's latest committed block (see `head` frames). */
  readonly onPeerHead?: (peer: ValidatorId, certificate: CommitCertificate) => void;
  /** How often this host tells its peers its head (default 2 s; 0: never). */
  readonly headEveryMs?: number;
  /**
   * Where this validator's latest signed (height, view) is kept between runs (a tab's storage):
   * `upTo` is what an earlier run saved, and `save` is awaited before a proposal or vote at a
   * later point goes out, so that a reload never forgets what it signed (see ReplicaOptions).
   */
  readonly signed?: {
    readonly upTo: VotePoint | null;
    save(point: VotePoint): Promise<void>;
  };
}

/** The latest (height, view) at which `messages` carry a proposal or vote signed by `id`. */
function latestSigned(messages: readonly Envelope[], id: ValidatorId): VotePoint | null {
  let latest: VotePoint | null = null;
  for (const { message: m } of messages) {
    const vote =
      m.type === 'pre-prepare' || m.type === 'prepare' || m.type === 'commit'
        ? m.vote
        : m.type === 'new-view'
          ? m.proposal
          : null;
    if (vote && vote.signer === id && (latest === null || isLater(vote, latest)))
      latest = { height: vote.height, view: vote.view };
  }
  return latest;
}

const isLater = (a: VotePoint, b: VotePoint) =>
  a.height > b.height || (a.height === b.height && a.view > b.view);

export interface HostStats {
  framesIn: number;
  framesOut: number;
  /** Bytes of the frames sent (the cost meter divides them by the payments committed). */
  bytesOut: number;
  malformed: number;
  peersDisconnected: number;
  /** Steps that threw (a bug of ours; logged). */
  internalErrors: number;
}

function helloBytes(room: string, fromPeer: string, toPeer: string, validator: string): Uint8Array {
  return encodeCanonical(['tierbft/hello/v1', room, fromPeer, toPeer, validator]);
}

export class ValidatorHost {
  readonly replica: Replica;
  /** What the host drives: the replica itself, or a fault wrapper around it. */
  node: Node;
  readonly verifier = new SignatureVerifier();
  readonly stats: HostStats = {
    framesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    malformed: 0,
    peersDisconnected: 0,
    internalErrors: 0,
  };
  private transport: Transport | null = null;
  private readonly validatorOfPeer = new Map<string, ValidatorId>();
  private readonly peerOfValidator = new Map<ValidatorId, string>();
  private readonly timers = new Set<unknown>();
  /** Inputs are handled one at a time, in arrival order (verification is asynchronous). */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private encodedGenesis: Uint8Array | null = null;
  /** Transactions submitted here and not yet committed or rejected. */
  private readonly ownTxs = new Map<string, SignedTx>();
  /** Leaves deposited in `bye` frames, and the grace timers of validators that left the room. */
  private readonly deposits = new Map<ValidatorId, SignedTx>();
  private readonly pendingLeaves = new Map<ValidatorId, unknown>();
  /** The validator behind each peer id ever proven (kept after the channel closes). */
  private readonly lastValidatorOfPeer = new Map<string, ValidatorId>();
  /** Peers our hello went to, and frames waiting for it (see sendBytes). */
  private readonly helloSent = new Set<string>();
  private readonly held = new Map<string, Uint8Array[]>();
  /** Our own deposit and the nonce it was signed at. */
  private deposit: { nonce: number; frame: Uint8Array } | null = null;
  private headTimer: unknown = null;
  /** The latest (height, view) of a proposal or vote of ours that was saved (see `signed`). */
  private signedUpTo: VotePoint | null;

  constructor(private readonly options: HostOptions) {
    this.signedUpTo = options.signed?.upTo ?? null;
    this.replica = this.newReplica();
    this.node = options.wrap ? options.wrap(this.replica) : new HonestNode(this.replica);
  }

  get id(): ValidatorId {
    return this.replica.id;
  }

  /**
   * Switches what drives this host's replica, live: the honest replica, or a fault wrapper around
   * the same replica (a misbehaving tab, for a lesson). Takes effect in turn with the inputs: what
   * the old node owes the replica (a crash's due timers) goes to the new one, which may act first
   * (a twin starts).
   */
  setNode(make: (replica: Replica) => Node): void {
    this.step(async () => {
      const now = this.options.clock.now();
      const owed = this.node.detach?.(now) ?? [];
      this.node = make(this.replica);
      const first = this.node.attach?.(now);
      if (first) await this.apply(first);
      for (const input of owed) await this.apply(this.node.handle(input));
    });
  }

  /** A new replica of this validator on the room's genesis (for a twin: one key, two replicas). */
  newReplica(): Replica {
    return new Replica({
      genesis: this.options.genesis,
      keys: this.options.keys,
      check: (pk, msg, sig) => this.verifier.check(pk, msg, sig),
      signedUpTo: this.options.signed?.upTo ?? null,
    });
  }

  /** Peer id → validator, for every peer whose identity has been proven. */
  peerValidators(): [string, ValidatorId][] {
    return [...this.validatorOfPeer];
  }

  /** Peers whose validator identity has been proven. */
  knownValidators(): ValidatorId[] {
    return [...this.peerOfValidator.keys()];
  }

  start(transport: Transport): void {
    this.transport = transport;
    const restore = this.options.restore ?? [];
    if (restore.length > 0) {
      // Our own stored chain is checked like any peer's: each block against its height's committee.
      const message = { type: 'block-response', blocks: restore } as const;
      this.verifiedStep(message, (now) => ({ type: 'message', now, from: this.id, message }));
    }
    this.enqueue({ type: 'start', now: this.options.clock.now() });
    this.scheduleHead();
  }

  /** Tells every proven peer our head, every `headEveryMs` (not while our validator is down). */
  private scheduleHead(): void {
    const every = this.options.headEveryMs ?? 2_000;
    if (every <= 0 || this.stopped) return;
    this.headTimer = this.options.clock.setTimeout(() => {
      const head = this.replica.blocks.at(-1);
      if (head && this.node.fault !== 'crash') {
        const frame = encodeCanonical({ t: 'head', c: encodeCertificate(head.certificate) });
        for (const peer of this.peerOfValidator.values()) this.sendBytes(peer, frame.slice());
      }
      this.scheduleHead();
    }, every);
  }

  /** Resolves once every input received so far has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Our `bye` frame: this validator's signed `validator-leave` at its current nonce. */
  byeFrame(): Uint8Array {
    const nonce = this.replica.chain.ledger.accounts.get(this.id)?.nonce ?? 0;
    if (this.deposit?.nonce !== nonce) {
      const tx = signTx(this.replica.chain.chainId, this.options.keys.secretKey, this.id, {
        type: 'validator-leave',
        nonce,
      });
      this.deposit = {
        nonce,
        frame: encodeCanonical({ t: 'bye', m: encodeMessage({ type: 'tx', tx }) }),
      };
    }
    return this.deposit.frame;
  }

  /**
   * The signaling service says `peerId` left the room on purpose: unless its validator comes back
   * within the grace period, submit the leave it deposited.
   */
  peerLeftRoom(peerId: string): void {
    const validator = this.lastValidatorOfPeer.get(peerId);
    this.lastValidatorOfPeer.delete(peerId);
    if (!validator || !this.deposits.has(validator)) return;
    const previous = this.pendingLeaves.get(validator);
    if (previous !== undefined) this.options.clock.clearTimeout(previous);
    const handle = this.options.clock.setTimeout(() => {
      this.pendingLeaves.delete(validator);
      const tx = this.deposits.get(validator);
      // Submitted only if it did not come back; the replica checks the signature and the nonce.
      if (tx && !this.stopped && !this.peerOfValidator.has(validator)) {
        this.deposits.delete(validator);
        this.submit(tx);
      }
    }, this.options.leaveGraceMs ?? 5_000);
    this.pendingLeaves.set(validator, handle);
  }

  /** The signed `validator-leave` that `validator` deposited with us, if any. */
  depositedLeave(validator: ValidatorId): SignedTx | undefined {
    return this.deposits.get(validator);
  }

  stop(): void {
    this.stopped = true;
    if (this.headTimer !== null) this.options.clock.clearTimeout(this.headTimer);
    for (const t of this.timers) this.options.clock.clearTimeout(t);
    this.timers.clear();
    for (const t of this.pendingLeaves.values()) this.options.clock.clearTimeout(t);
    this.pendingLeaves.clear();
  }

  /** Submits a transaction here and sends it to every connected validator (replicas do not relay). */
  submit(tx: SignedTx): string {
    const txId = txIdOf(tx);
    // Its signature checked natively first, as for a transaction from a peer (else the replica's
    // check would take the slow pure-JS path for every transaction this tab makes).
    this.verifiedStep({ type: 'tx', tx }, (now) => ({ type: 'submit', now, tx }));
    this.ownTxs.set(txId, tx);
    for (const peer of this.peerOfValidator.values())
      this.sendFrame(peer, { t: 'msg', m: encodeMessage({ type: 'tx', tx }) });
    return txId;
  }

  /** A data channel to `peerId` opened: prove who we are. */
  peerOpened(peerId: string): void {
    const sig = sign(
      this.options.keys.secretKey,
      helloBytes(this.options.room, this.options.peerId, peerId, this.id),
    );
    this.sendFrame(peerId, { t: 'hello', validator: this.id, sig });
    this.helloSent.add(peerId);
    for (const bytes of this.held.get(peerId)?.splice(0) ?? []) this.sendBytes(peerId, bytes);
    this.held.delete(peerId);
  }

  peerClosed(peerId: string): void {
    this.helloSent.delete(peerId);
    this.held.delete(peerId);
    const validator = this.validatorOfPeer.get(peerId);
    this.validatorOfPeer.delete(peerId);
    if (validator && this.peerOfValidator.get(validator) === peerId)
      this.peerOfValidator.delete(validator);
  }

  /** Bytes from a peer's data channel. */
  receive(peerId: string, bytes: Uint8Array): void {
    this.stats.framesIn++;
    const decoded = decodeCanonical(bytes);
    if (!decoded.ok) return this.reject(peerId, decoded.reason);
    const frame = decoded.value as Record<string, unknown>;
    if (
      typeof frame !== 'object' ||
      frame === null ||
      Array.isArray(frame) ||
      frame instanceof Uint8Array
    )
      return this.reject(peerId, 'frame is not a map');
    if (frame.t === 'hello') return this.onHello(peerId, frame);
    // The genesis is public: anyone in the room may ask for it, before proving who it is.
    // A second copy of the genesis (we asked several peers before we had one) is harmless.
    if (frame.t === 'genesis') return;
    if (frame.t === 'genesis-request' && Object.keys(frame).length === 1) {
      this.encodedGenesis ??= encodeGenesis(this.options.genesis);
      return this.sendFrame(peerId, { t: 'genesis', g: this.encodedGenesis });
    }
    if (frame.t === 'head') return this.onHead(peerId, frame);
    if ((frame.t !== 'msg' && frame.t !== 'bye') || !(frame.m instanceof Uint8Array))
      return this.reject(peerId, 'unknown frame');
    if (Object.keys(frame).length !== 2) return this.reject(peerId, 'unknown frame');
    const from = this.validatorOfPeer.get(peerId);
    if (!from) return this.reject(peerId, 'message before hello');
    const message = decodeMessage(frame.m);
    if (!message.ok) return this.reject(peerId, message.reason);
    const m = message.message;
    if (frame.t === 'bye') return this.onBye(peerId, from, m);
    this.options.onMessage?.('deliver', from, m);
    this.verifiedStep(m, (now) => ({ type: 'message', now, from, message: m }));
  }

  private onHello(peerId: string, frame: Record<string, unknown>): void {
    const { validator, sig } = frame;
    if (Object.keys(frame).length !== 3 || !isHex(validator, 32) || !(sig instanceof Uint8Array))
      return this.reject(peerId, 'malformed hello');
    const key = publicKeyFromId(validator);
    if (
      !key ||
      !verifySync(key, helloBytes(this.options.room, peerId, this.options.peerId, validator), sig)
    )
      return this.reject(peerId, 'hello signature invalid');
    this.validatorOfPeer.set(peerId, validator);
    this.lastValidatorOfPeer.set(peerId, validator);
    this.peerOfValidator.set(validator, peerId);
    this.sendBytes(peerId, this.byeFrame().slice());
    // It came back (a reload): it stays.
    const leave = this.pendingLeaves.get(validator);
    if (leave !== undefined) {
      this.options.clock.clearTimeout(leave);
      this.pendingLeaves.delete(validator);
    }
    // Our own transactions still pending go to every validator we meet (one may be the primary).
    for (const tx of this.ownTxs.values())
      this.sendFrame(peerId, { t: 'msg', m: encodeMessage({ type: 'tx', tx }) });
  }

  private onHead(peerId: string, frame: Record<string, unknown>): void {
    const from = this.validatorOfPeer.get(peerId);
    if (!from) return this.reject(peerId, 'message before hello');
    if (Object.keys(frame).length !== 2 || !(frame.c instanceof Uint8Array))
      return this.reject(peerId, 'malformed head');
    const head = decodeCertificate(frame.c);
    if (!head.ok) return this.reject(peerId, head.reason);
    this.options.onPeerHead?.(from, head.certificate);
  }

  private onBye(peerId: string, from: ValidatorId, m: Message): void {
    const tx = m.type === 'tx' ? m.tx : null;
    if (!tx || tx.signer !== from || tx.body.type !== 'validator-leave')
      return this.reject(peerId, 'bye without its own validator-leave');
    this.deposits.set(from, tx);
  }

  private reject(peerId: string, reason: string): void {
    this.stats.malformed++;
    this.stats.peersDisconnected++;
    this.peerClosed(peerId);
    this.transport?.disconnect(peerId, `malformed frame: ${reason}`);
  }

  /**
   * A step that first verifies the signatures `message` carries (natively, off the thread where
   * the platform can), so that the replica's synchronous checks are answered from the cache.
   */
  private verifiedStep(message: Message, input: (now: number) => ReplicaInput): void {
    this.step(async () => {
      await this.verifier.preverify(signedItemsOf(this.options.genesis.ledger.chainId, message));
      await this.apply(this.node.handle(input(this.options.clock.now())));
    });
  }

  private enqueue(input: ReplicaInput): void {
    this.step(() => this.apply(this.node.handle(input)));
  }

  /**
   * Runs `work` after everything queued before it. A step that throws is our bug, not a peer's
   * doing (the replica never throws on input): it is logged and counted, and the next step runs.
   */
  private step(work: () => void | Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await work();
      } catch (error) {
        this.stats.internalErrors++;
        console.error('validator host: a step failed', error);
      }
    });
  }

  private async apply(out: ReplicaOutput): Promise<void> {
    // What we signed is saved before it goes out (a page can be reloaded at any moment).
    const signed = this.options.signed && latestSigned(out.messages, this.id);
    if (signed && (this.signedUpTo === null || isLater(signed, this.signedUpTo))) {
      this.signedUpTo = signed;
      await this.options.signed!.save(signed);
    }
    if (this.deposit && out.events.some((e) => e.type === 'commit')) {
      // Our nonce moved (we joined, say): the deposited leave must move with it.
      const before = this.deposit.frame;
      const frame = this.byeFrame();
      if (frame !== before)
        for (const peer of this.peerOfValidator.values()) this.sendBytes(peer, frame.slice());
    }
    for (const event of out.events) {
      if (event.type === 'tx-committed' || event.type === 'tx-rejected')
        this.ownTxs.delete(event.txId);
      this.options.onEvent?.(event);
    }
    for (const timer of out.timers) {
      const handle = this.options.clock.setTimeout(() => {
        this.timers.delete(handle);
        this.enqueue({ type: 'timer', now: this.options.clock.now(), timer });
      }, timer.afterMs);
      this.timers.add(handle);
    }
    for (const envelope of out.messages) {
      const peer = this.peerOfValidator.get(envelope.to);
      if (!peer) continue;
      const frame = { t: 'msg', m: encodeMessage(envelope.message) };
      const rule = this.node.linkRule?.(envelope.to);
      this.options.onMessage?.(rule?.drop ? 'dropped' : 'send', envelope.to, envelope.message);
      if (rule?.drop) continue;
      if (rule && rule.extraDelayMs > 0)
        this.options.clock.setTimeout(() => this.sendFrame(peer, frame), rule.extraDelayMs);
      else this.sendFrame(peer, frame);
    }
  }

  private sendFrame(
    peerId: string,
    frame: { t: string; [key: string]: string | Uint8Array },
  ): void {
    // The genesis exchange needs no identity; everything else waits for our hello to go first.
    if (frame.t === 'hello' || frame.t.startsWith('genesis'))
      this.transmit(peerId, encodeCanonical(frame));
    else this.sendBytes(peerId, encodeCanonical(frame));
  }

  /**
   * A `msg` or `bye` frame: sent once our hello has gone to that peer. The far side can prove
   * itself (and we answer) a moment before our side of the channel reports open; and where the
   * channel lives on another thread (a tab relaying for its worker), only we know the order.
   */
  private sendBytes(peerId: string, bytes: Uint8Array): void {
    if (this.helloSent.has(peerId)) return this.transmit(peerId, bytes);
    const held = this.held.get(peerId) ?? [];
    if (held.length < maxHeldFrames) held.push(bytes);
    this.held.set(peerId, held);
  }

  private transmit(peerId: string, bytes: Uint8Array): void {
    const length = bytes.length; // a transferred buffer reads 0 once sent
    if (this.transport?.send(peerId, bytes)) {
      this.stats.framesOut++;
      this.stats.bytesOut += length;
    }
  }
}

export function validatorIdOf(keys: KeyPair): ValidatorId {
  return toHex(keys.publicKey);
}
