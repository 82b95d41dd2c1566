// One validator in a live room, from nothing to consensus: connect to the mesh; if this node
// brings the genesis (the room's first tab), start at once; otherwise ask the first peers for the
// genesis, check it, start from it, catch up, and register with `validator-join`.

import { decodeCanonical, encodeCanonical, toHex } from '../crypto/encoding.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { signTx } from '../ledger/ledger.ts';
import { decodeGenesis } from '../protocol/genesis.ts';
import type { Genesis, ReplicaEvent } from '../protocol/types.ts';
import { Mesh, type MeshOptions } from './mesh.ts';
import { ValidatorHost, type HostClock, type HostOptions } from './validator-host.ts';

/** Frames kept from before the genesis arrived. */
const maxEarlyFrames = 256;

export interface RoomNodeOptions extends Omit<MeshOptions, 'peerId'> {
  readonly keys: KeyPair;
  readonly name: string;
  readonly clock: HostClock;
  /** The room's genesis when this node creates the room; absent to fetch it from peers. */
  readonly genesis?: Genesis;
  readonly onEvent?: (event: ReplicaEvent) => void;
  /** A fault wrapper for a misbehaving bot (see src/faults). */
  readonly wrap?: HostOptions['wrap'];
  /** Told once the node runs on a genesis (its hash names the chain). */
  readonly onStarted?: (host: ValidatorHost, genesisHash: string) => void;
}

export class RoomNode {
  readonly peerId: string;
  readonly mesh: Mesh;
  host: ValidatorHost | null = null;
  private readonly open = new Set<string>();
  private readonly asked = new Set<string>();
  private readonly early: [string, Uint8Array][] = [];

  constructor(private readonly options: RoomNodeOptions) {
    // A fresh peer id per session: the relay only needs it to address signals.
    this.peerId = `v-${toHex(options.keys.publicKey).slice(0, 16)}-${Math.floor(options.clock.now()).toString(36)}`;
    this.mesh = new Mesh(
      { ...options, peerId: this.peerId },
      {
        open: (peer) => this.onOpen(peer),
        data: (peer, bytes) => this.onData(peer, bytes),
        close: (peer) => {
          this.open.delete(peer);
          this.host?.peerClosed(peer);
        },
        refused: () => {},
      },
    );
  }

  get id(): string {
    return toHex(this.options.keys.publicKey);
  }

  start(): void {
    this.mesh.start();
    if (this.options.genesis) this.run(this.options.genesis, '');
  }

  stop(): void {
    this.host?.stop();
    this.mesh.stop();
  }

  private onOpen(peer: string): void {
    this.open.add(peer);
    if (this.host) this.host.peerOpened(peer);
    else this.askForGenesis(peer);
  }

  private askForGenesis(peer: string): void {
    if (this.asked.has(peer)) return;
    this.asked.add(peer);
    this.mesh.send(peer, encodeCanonical({ t: 'genesis-request' }));
  }

  private onData(peer: string, bytes: Uint8Array): void {
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
      this.mesh.disconnect(peer, `bad genesis: ${genesis.reason}`);
      return;
    }
    this.run(genesis.genesis, genesis.hash);
  }

  private run(genesis: Genesis, hash: string): void {
    const options = this.options;
    const host = new ValidatorHost({
      genesis,
      keys: options.keys,
      room: options.room,
      peerId: this.peerId,
      clock: options.clock,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.wrap ? { wrap: options.wrap } : {}),
    });
    this.host = host;
    host.start(this.mesh);
    for (const peer of this.open) host.peerOpened(peer);
    for (const [peer, bytes] of this.early.splice(0)) host.receive(peer, bytes);
    options.onStarted?.(host, hash || host.replica.chain.genesisHash);
    // A newcomer registers; it joins as an Observer and climbs by behaving well.
    if (!genesis.ledger.validators.some((v) => v.id === this.id)) {
      host.submit(
        signTx(genesis.ledger.chainId, options.keys.secretKey, this.id, {
          type: 'validator-join',
          nonce: 0,
          name: options.name,
        }),
      );
    }
  }
}
