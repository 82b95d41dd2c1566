// One validator in a live room, from nothing to consensus. `RoomValidator` is the part that does
// not care where the data channels live (in a browser they are on the tab's main thread and this
// runs in a Web Worker): if it brings the genesis (the room's first tab, or a reload that stored
// one), it starts at once; otherwise it asks the first peers for the genesis, checks it, starts
// from it, catches up, and registers with `validator-join`. `RoomNode` adds a mesh (Node bots).

import { decodeCanonical, encodeCanonical, toHex } from '../crypto/encoding.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { registeredValidators, signTx } from '../ledger/ledger.ts';
import { decodeGenesis } from '../protocol/genesis.ts';
import type { CommittedBlock, Genesis, ReplicaEvent } from '../protocol/types.ts';
import { Mesh, type MeshOptions } from './mesh.ts';
import {
  ValidatorHost,
  type HostClock,
  type HostOptions,
  type Transport,
} from './validator-host.ts';

/** Frames kept from before the genesis arrived. */
const maxEarlyFrames = 256;

export interface RoomValidatorOptions {
  readonly keys: KeyPair;
  readonly name: string;
  readonly room: string;
  /** This node's peer id on the signaling relay. */
  readonly peerId: string;
  readonly clock: HostClock;
  /** The room's genesis when this node creates the room; absent to fetch it from peers. */
  readonly genesis?: Genesis;
  /** Committed blocks kept from an earlier session on `genesis` (checked again on start). */
  readonly restore?: readonly CommittedBlock[];
  readonly onEvent?: (event: ReplicaEvent) => void;
  readonly onMessage?: HostOptions['onMessage'];
  readonly onPeerHead?: HostOptions['onPeerHead'];
  /** A fault wrapper for a misbehaving bot (see src/faults). */
  readonly wrap?: HostOptions['wrap'];
  /** Where what this validator signed is kept between runs (see HostOptions.signed). */
  readonly signed?: HostOptions['signed'];
  /** Told once the node runs on a genesis (its hash names the chain). */
  readonly onStarted?: (host: ValidatorHost, genesisHash: string, genesis: Genesis) => void;
}

export class RoomValidator {
  host: ValidatorHost | null = null;
  private transport: Transport | null = null;
  private readonly open = new Set<string>();
  private readonly asked = new Set<string>();
  private readonly early: [string, Uint8Array][] = [];

  constructor(private readonly options: RoomValidatorOptions) {}

  get id(): string {
    return toHex(this.options.keys.publicKey);
  }

  start(transport: Transport): void {
    this.transport = transport;
    if (this.options.genesis) this.run(this.options.genesis, '', this.options.restore ?? []);
  }

  /** Starts a new room on `genesis` (this node is its first validator); ignored once running. */
  create(genesis: Genesis): void {
    if (!this.host) this.run(genesis, '', []);
  }

  stop(): void {
    this.host?.stop();
  }

  peerOpened(peer: string): void {
    this.open.add(peer);
    if (this.host) this.host.peerOpened(peer);
    else this.askForGenesis(peer);
  }

  peerClosed(peer: string): void {
    this.open.delete(peer);
    this.host?.peerClosed(peer);
  }

  /** The signaling service says the peer left the room on purpose (see ValidatorHost). */
  peerLeftRoom(peer: string): void {
    this.host?.peerLeftRoom(peer);
  }

  peerData(peer: string, bytes: Uint8Array): void {
    if (this.host) return this.host.receive(peer, bytes);
    // Frames before the genesis (a peer's hello, say) wait for the host, within a bound.
    if (this.early.length < maxEarlyFrames) this.early.push([peer, bytes]);
    // Before the genesis, the only frame we take is the genesis itself.
    const decoded = decodeCanonical(bytes);
    const frame = decoded.ok ? (decoded.value as Record<string, unknown>) : null;
    if (
      !frame ||
      typeof frame !== 'object' ||
      frame.t !== 'genesis' ||
      !(frame.g instanceof Uint8Array)
    )
      return;
    const genesis = decodeGenesis(frame.g);
    if (!genesis.ok) {
      this.transport?.disconnect(peer, `bad genesis: ${genesis.reason}`);
      return;
    }
    this.run(genesis.genesis, genesis.hash, []);
  }

  private askForGenesis(peer: string): void {
    if (this.asked.has(peer)) return;
    this.asked.add(peer);
    this.transport?.send(peer, encodeCanonical({ t: 'genesis-request' }));
  }

  private run(genesis: Genesis, hash: string, restore: readonly CommittedBlock[]): void {
    const options = this.options;
    const transport = this.transport;
    if (!transport) throw new Error('RoomValidator: start() before the genesis');
    const host = new ValidatorHost({
      genesis,
      keys: options.keys,
      room: options.room,
      peerId: options.peerId,
      clock: options.clock,
      restore,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.onMessage ? { onMessage: options.onMessage } : {}),
      ...(options.onPeerHead ? { onPeerHead: options.onPeerHead } : {}),
      ...(options.wrap ? { wrap: options.wrap } : {}),
      ...(options.signed ? { signed: options.signed } : {}),
    });
    this.host = host;
    host.start(transport);
    for (const peer of this.open) host.peerOpened(peer);
    for (const [peer, bytes] of this.early.splice(0)) host.receive(peer, bytes);
    options.onStarted?.(host, hash || host.replica.chain.genesisHash, genesis);
    // A newcomer registers; it joins as an Observer and climbs by behaving well. A validator that
    // comes back after leaving registers again (same key, trust from zero). The restored blocks
    // are applied asynchronously, so look at them directly.
    void host.idle().then(() => {
      const ledger = host.replica.chain.ledger;
      if (registeredValidators(ledger).some((v) => v.id === this.id)) return;
      host.submit(
        signTx(genesis.ledger.chainId, options.keys.secretKey, this.id, {
          type: 'validator-join',
          nonce: ledger.accounts.get(this.id)?.nonce ?? 0,
          name: options.name,
        }),
      );
    });
  }
}

export interface RoomNodeOptions
  extends Omit<MeshOptions, 'peerId'>, Omit<RoomValidatorOptions, 'peerId' | 'room'> {}

/** A room validator with its own mesh: a headless bot in Node. */
export class RoomNode {
  readonly peerId: string;
  readonly mesh: Mesh;
  readonly validator: RoomValidator;

  constructor(options: RoomNodeOptions) {
    // A fresh peer id per session: the relay only needs it to address signals.
    this.peerId = `v-${toHex(options.keys.publicKey).slice(0, 16)}-${Math.floor(options.clock.now()).toString(36)}`;
    this.validator = new RoomValidator({ ...options, peerId: this.peerId });
    this.mesh = new Mesh(
      { ...options, peerId: this.peerId },
      {
        open: (peer) => this.validator.peerOpened(peer),
        data: (peer, bytes) => this.validator.peerData(peer, bytes),
        close: (peer) => this.validator.peerClosed(peer),
        left: (peer, deliberate) => {
          if (deliberate) this.validator.peerLeftRoom(peer);
        },
        refused: () => {},
      },
    );
  }

  get id(): string {
    return this.validator.id;
  }

  get host(): ValidatorHost | null {
    return this.validator.host;
  }

  start(): void {
    this.validator.start(this.mesh);
    this.mesh.start();
  }

  stop(): void {
    this.validator.stop();
    this.mesh.stop();
  }
}
