// Hosts one replica on a live network: real clock and timers, the WebRTC mesh, the wire codec and
// the signature cache. It is the impure shell around the pure replica — the same shell runs in a
// Web Worker (bytes relayed from the tab's data channels) and in a headless Node validator.
//
// Wire frames are canonical CBOR maps: `hello` (proves which validator sits behind a peer id),
// and `msg` (one protocol message, encoded by src/protocol/codec.ts). A peer that sends anything
// malformed is disconnected: an honest peer never does.

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
import type { SignedTx } from '../ledger/types.ts';
import { decodeMessage, encodeMessage } from '../protocol/codec.ts';
import { encodeGenesis } from '../protocol/genesis.ts';
import { Replica } from '../protocol/replica.ts';
import { HonestNode, type Node } from '../faults/index.ts';
import { signedItemsOf } from '../protocol/signing.ts';
import type {
  Genesis,
  ReplicaEvent,
  ReplicaInput,
  ReplicaOutput,
  ValidatorId,
} from '../protocol/types.ts';

/** What the host needs from a transport (the mesh, or the tab relaying for a worker). */
export interface Transport {
  send(peerId: string, bytes: Uint8Array): boolean;
  disconnect(peerId: string, reason: string): void;
}

export interface HostClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
}

export interface HostStats {
  framesIn: number;
  framesOut: number;
  malformed: number;
  peersDisconnected: number;
}

function helloBytes(room: string, fromPeer: string, toPeer: string, validator: string): Uint8Array {
  return encodeCanonical(['tierbft/hello/v1', room, fromPeer, toPeer, validator]);
}

export class ValidatorHost {
  readonly replica: Replica;
  /** What the host drives: the replica itself, or a fault wrapper around it. */
  readonly node: Node;
  readonly verifier = new SignatureVerifier();
  readonly stats: HostStats = { framesIn: 0, framesOut: 0, malformed: 0, peersDisconnected: 0 };
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

  constructor(private readonly options: HostOptions) {
    this.replica = new Replica({
      genesis: options.genesis,
      keys: options.keys,
      check: (pk, msg, sig) => this.verifier.check(pk, msg, sig),
    });
    this.node = options.wrap ? options.wrap(this.replica) : new HonestNode(this.replica);
  }

  get id(): ValidatorId {
    return this.replica.id;
  }

  /** Peers whose validator identity has been proven. */
  knownValidators(): ValidatorId[] {
    return [...this.peerOfValidator.keys()];
  }

  start(transport: Transport): void {
    this.transport = transport;
    this.enqueue({ type: 'start', now: this.options.clock.now() });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) this.options.clock.clearTimeout(t);
    this.timers.clear();
  }

  /** Submits a transaction here and sends it to every connected validator (replicas do not relay). */
  submit(tx: SignedTx): void {
    this.enqueue({ type: 'submit', now: this.options.clock.now(), tx });
    this.ownTxs.set(txIdOf(tx), tx);
    for (const peer of this.peerOfValidator.values())
      this.sendFrame(peer, { t: 'msg', m: encodeMessage({ type: 'tx', tx }) });
  }

  /** A data channel to `peerId` opened: prove who we are. */
  peerOpened(peerId: string): void {
    const sig = sign(
      this.options.keys.secretKey,
      helloBytes(this.options.room, this.options.peerId, peerId, this.id),
    );
    this.sendFrame(peerId, { t: 'hello', validator: this.id, sig });
  }

  peerClosed(peerId: string): void {
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
    if (frame.t !== 'msg' || !(frame.m instanceof Uint8Array) || Object.keys(frame).length !== 2)
      return this.reject(peerId, 'unknown frame');
    const from = this.validatorOfPeer.get(peerId);
    if (!from) return this.reject(peerId, 'message before hello');
    const message = decodeMessage(frame.m);
    if (!message.ok) return this.reject(peerId, message.reason);
    const m = message.message;
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      await this.verifier.preverify(signedItemsOf(this.options.genesis.ledger.chainId, m));
      this.apply(
        this.node.handle({ type: 'message', now: this.options.clock.now(), from, message: m }),
      );
    });
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
    this.peerOfValidator.set(validator, peerId);
    // Our own transactions still pending go to every validator we meet (one may be the primary).
    for (const tx of this.ownTxs.values())
      this.sendFrame(peerId, { t: 'msg', m: encodeMessage({ type: 'tx', tx }) });
  }

  private reject(peerId: string, reason: string): void {
    this.stats.malformed++;
    this.stats.peersDisconnected++;
    this.peerClosed(peerId);
    this.transport?.disconnect(peerId, `malformed frame: ${reason}`);
  }

  private enqueue(input: ReplicaInput): void {
    this.queue = this.queue.then(() => {
      if (!this.stopped) this.apply(this.node.handle(input));
    });
  }

  private apply(out: ReplicaOutput): void {
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
    if (this.transport?.send(peerId, encodeCanonical(frame))) this.stats.framesOut++;
  }
}

export function validatorIdOf(keys: KeyPair): ValidatorId {
  return toHex(keys.publicKey);
}
