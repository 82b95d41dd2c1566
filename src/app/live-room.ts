// The page's side of a live room: it owns the WebRTC mesh (simple-peer's browser bundle; the
// signaling relay, or a BroadcastChannel between tabs when there is no relay) and relays bytes to
// and from the validator worker. It decides when this tab founds the room (nobody else is there and
// it has no chain of its own), hands its peers a `bye` as the tab closes, and keeps the latest
// status for the view and for automation (`window.__tierbft`).

import * as Comlink from 'comlink';
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { Mesh, type PeerLike, type PeerState } from '../net/mesh.ts';
import type { ChainImport, LedgerCopy, TabSnapshot } from '../net/tab-validator.ts';
import type { ProtocolConfig } from '../protocol/types.ts';
import type { SafetyProof } from '../views/safety-proof.ts';
import type { ValidatorWorkerApi } from '../../workers/validator.worker.ts';
import { FallbackSocket, type SignalingMode } from './browser-signaling.ts';
import type { PortFrame } from './frames.ts';
import type { FaultMode } from '../faults/index.ts';
import { fateOf, noLinkFaults, type LinkFaultSettings } from './link-faults.ts';
import { ViewModel, type NetworkView } from '../views/model.ts';
import { share } from './share.ts';

export interface LiveRoomOptions {
  readonly room: string;
  /** WebSocket address of the relay (default: this page's origin, path /signal). */
  readonly relayUrl: string;
  /** Skip the relay and meet over BroadcastChannel (tabs of this browser only). */
  readonly forceBroadcast: boolean;
  /** Settings of a room this tab founds (`?interval=` sets the block interval). */
  readonly roomConfig: Partial<ProtocolConfig>;
}

export interface PeerView extends PeerState {
  readonly validator: string | null;
}

export interface LiveStatus {
  readonly snapshot: TabSnapshot | null;
  readonly peers: readonly PeerView[];
  readonly signaling: SignalingMode;
  readonly founder: boolean;
  readonly error: string | null;
  /** What the views draw, as this tab sees the network. */
  readonly view: NetworkView;
}

/** What `window.__tierbft` gives: a frozen copy of the latest status. */
export interface AutomationSnapshot {
  readonly room: string;
  readonly selfId: string;
  readonly name: string;
  readonly tier: string | null;
  readonly height: number;
  readonly headHash: string;
  /** The view this validator is in at the height after its head (0 unless a view changed). */
  readonly view: number;
  readonly peerCount: number;
  readonly committeeSize: number;
  readonly phase: string;
  readonly signaling: SignalingMode;
  readonly committedTxs: number;
  /** The last few committed blocks, newest first (compare tabs at a common height). */
  readonly blocks: readonly { height: number; hash: string }[];
  readonly validators: readonly { id: string; name: string; tier: string; trust: number }[];
  /** Outgoing frames this tab's network faults lost or delayed so far. */
  readonly linkFaults: { readonly lost: number; readonly delayed: number };
  /** False once this tab saw conflicting commits, or a peer's certificate conflicting with one. */
  readonly safe: boolean;
  /** The proof behind `safe: false` when a peer's certificate conflicts with ours (else null). */
  readonly forkProof: SafetyProof | null;
}

const snapshotEveryMs = 300;
const relayTimeoutMs = 2_000;

export class LiveRoom {
  status: LiveStatus;
  private readonly listeners = new Set<(status: LiveStatus) => void>();
  private mesh: Mesh | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private signaling: SignalingMode = 'connecting';
  private founder = false;
  private readonly model = new ViewModel();
  private links: LinkFaultSettings = noLinkFaults;
  /** Frames the link faults ate or held back (shown to automation). */
  private readonly linkCounts = { lost: 0, delayed: 0 };
  /** The ledger view in `status.snapshot`, with its version in the worker (see TabPoll). */
  private ledger: LedgerCopy | null = null;

  private constructor(
    readonly options: LiveRoomOptions,
    private readonly api: Comlink.Remote<ValidatorWorkerApi>,
    private readonly port: MessagePort,
    readonly selfId: string,
  ) {
    this.status = {
      snapshot: null,
      peers: [],
      signaling: 'connecting',
      founder: false,
      error: null,
      view: this.model.view(),
    };
  }

  static async start(options: LiveRoomOptions): Promise<LiveRoom> {
    const worker = new Worker(new URL('../../workers/validator.worker.ts', import.meta.url), {
      type: 'module',
      name: 'validator',
    });
    const api = Comlink.wrap<ValidatorWorkerApi>(worker);
    const channel = new MessageChannel();
    const slot = await tabSlot(options.room);
    const opened = await api.open(
      Comlink.transfer(
        { room: options.room, slot, framePort: channel.port2, roomConfig: options.roomConfig },
        [channel.port2],
      ),
    );
    const live = new LiveRoom(options, api, channel.port1, opened.id);
    live.run(opened.hasChain);
    return live;
  }

  onChange(listener: (status: LiveStatus) => void): () => void {
    this.listeners.add(listener);
    listener(this.status);
    return () => this.listeners.delete(listener);
  }

  /** This tab's chain as a chain file's text (null before it has one). */
  exportChain(): Promise<string | null> {
    return this.api.exportChain();
  }

  /** Verifies a chain file in the worker and shows what it holds. */
  importChain(text: string): Promise<ChainImport> {
    return this.api.importChain(text);
  }

  async payBill(billId: string): Promise<string | null> {
    const r = await this.api.payBill(billId);
    void this.refresh();
    return r.ok ? null : r.error;
  }

  async setFault(mode: FaultMode): Promise<string | null> {
    const r = await this.api.setFault(mode);
    void this.refresh();
    return r.ok ? null : r.error;
  }

  /** Network faults on this tab's outgoing links (delay, loss, peers cut off). */
  setLinkFaults(settings: LinkFaultSettings): void {
    this.links = settings;
  }

  setTraffic(on: boolean, perSecond?: number): void {
    void this.api.setTraffic(on, perSecond);
  }

  automation(): AutomationSnapshot {
    const s = this.status.snapshot;
    return Object.freeze({
      room: this.options.room,
      selfId: this.selfId,
      name: s?.name ?? '',
      tier: s?.tier ?? null,
      height: s?.height ?? 0,
      headHash: s?.headHash ?? '',
      view: s?.view ?? 0,
      peerCount: this.status.peers.filter((p) => p.state === 'open').length,
      committeeSize: s?.committee.length ?? 0,
      phase: s?.phase ?? 'starting',
      signaling: this.status.signaling,
      committedTxs: s?.stats.committedTxs ?? 0,
      blocks: (s?.lastBlocks ?? []).map((b) => ({ height: b.height, hash: b.hash })),
      validators: (s?.validators ?? []).map((v) => ({ ...v })),
      linkFaults: { ...this.linkCounts },
      safe: this.status.view.safety.ok && !s?.forkProof,
      forkProof: s?.forkProof ? structuredClone(s.forkProof) : null,
    });
  }

  private run(hasChain: boolean): void {
    const peerId = `t-${this.selfId.slice(0, 12)}-${Math.random().toString(36).slice(2, 8)}`;
    const port = this.port;
    const mesh = new Mesh(
      {
        url: this.options.relayUrl,
        room: this.options.room,
        peerId,
        maxFrameBytes: 1024 * 1024,
        createSocket: (url) =>
          new FallbackSocket(url, {
            forceBroadcast: this.options.forceBroadcast,
            timeoutMs: relayTimeoutMs,
            onMode: (mode) => {
              this.signaling = mode;
              this.publish();
            },
          }),
        createPeer: (initiator) =>
          new SimplePeer({ initiator, config: { iceServers: [] } }) as unknown as PeerLike,
      },
      {
        open: (peer) => port.postMessage({ k: 'open', peer } satisfies PortFrame),
        close: (peer, reason) => {
          console.info(`tierbft: link to ${peer} closed: ${reason}`);
          port.postMessage({ k: 'close', peer } satisfies PortFrame);
        },
        data: (peer, data) => {
          // simple-peer hands out Buffers that may view a larger buffer: copy out exactly the frame.
          const bytes = new Uint8Array(data.byteLength);
          bytes.set(data);
          port.postMessage({ k: 'data', peer, bytes } satisfies PortFrame, [bytes.buffer]);
        },
        refused: (reason) => {
          this.status = { ...this.status, error: `signaling refused: ${reason}` };
          this.publish();
        },
        left: (peer, deliberate) => {
          if (deliberate) port.postMessage({ k: 'left', peer } satisfies PortFrame);
        },
        joined: (peers) => {
          // Nobody here and no chain of our own: this tab founds the room.
          if (peers.length === 0 && !hasChain && !this.status.snapshot?.height) {
            this.founder = true;
            void this.api.create();
          }
        },
      },
    );
    this.mesh = mesh;
    port.onmessage = (event: MessageEvent<PortFrame>) => {
      const f = event.data;
      if (f.k === 'send') {
        // Unseeded on purpose: this is the live network, not the replayable core.
        const fate = fateOf(this.links, f.peer, Math.random);
        if (fate.lost) {
          this.linkCounts.lost++;
          return;
        }
        if (fate.delayMs > 0) {
          this.linkCounts.delayed++;
          setTimeout(() => mesh.send(f.peer, f.bytes), fate.delayMs);
        } else mesh.send(f.peer, f.bytes);
      } else if (f.k === 'disconnect') mesh.disconnect(f.peer, f.reason);
    };
    void this.api.start(peerId).then(() => mesh.start());
    this.timer = setInterval(() => void this.refresh(), snapshotEveryMs);
    // A closing tab says it leaves; its peers submit its deposited leave unless it comes back.
    addEventListener('pagehide', () => this.goodbye());
  }

  /**
   * Tells the signaling service this tab leaves on purpose; peers then submit the signed leave it
   * deposited with them, unless it comes back within a few seconds (a reload).
   */
  private goodbye(): void {
    if (this.timer) clearInterval(this.timer);
    this.mesh?.stop();
  }

  private async refresh(): Promise<void> {
    // The worker sends the ledger view only when it is not the version held here (null at first),
    // so the unchanged ledger is neither cloned nor compared again. An answer without one means
    // "the version you asked with", whatever other polls (hand payments call here too) changed.
    const held = this.ledger;
    const poll = await this.api.poll(held?.version ?? null);
    let snapshot: TabSnapshot | null = null;
    if (poll) {
      const ledger = poll.ledger ?? held;
      // The rest is a new structured clone every time: keep the parts that did not change as the
      // objects the views already drew, so that they redraw only what changed (see share.ts).
      snapshot = share(this.status.snapshot, { ...poll.snapshot, ledger: ledger?.view ?? null });
      // The ledger the status now holds (share keeps the previous object when they are equal).
      this.ledger = ledger && { version: ledger.version, view: snapshot.ledger };
      for (const o of poll.observations) this.model.observe(o);
    }
    if (snapshot?.phase === 'running') {
      this.model.observe({
        kind: 'validators',
        at: this.model.now,
        validators: snapshot.validators.map((v) => ({
          ...v,
          fault: v.id === this.selfId && snapshot.fault !== 'none' ? snapshot.fault : null,
          primary: v.id === snapshot.primary,
        })),
      });
    }
    const validatorOf = new Map(snapshot?.peerValidators ?? []);
    const peers = share(
      this.status.peers,
      (this.mesh?.peerStates() ?? []).map((p) => ({
        ...p,
        validator: validatorOf.get(p.peerId) ?? null,
      })),
    );
    this.status = {
      ...this.status,
      snapshot,
      peers,
      signaling: this.signaling,
      founder: this.founder,
      view: this.model.view(),
    };
    this.publish();
  }

  private publish(): void {
    for (const listener of this.listeners) listener(this.status);
  }
}

/**
 * Which validator of this browser this tab is: kept in sessionStorage, which survives a reload
 * but is the tab's own. A duplicated tab copies it, so the slot is also held with a Web Lock where
 * the browser has them (secure contexts): a slot already held gets a new one.
 */
async function tabSlot(room: string): Promise<string> {
  const key = `tierbft/slot/${room}`;
  const fresh = () => crypto.getRandomValues(new Uint32Array(2)).join('-');
  let slot = sessionStorage.getItem(key) ?? fresh();
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks) {
    for (;;) {
      const held = await new Promise<boolean>((resolve) => {
        void locks.request(`${key}/${slot}`, { ifAvailable: true }, (lock) => {
          resolve(lock !== null);
          // Held for the tab's lifetime.
          return lock ? new Promise<void>(() => {}) : undefined;
        });
      });
      if (held) break;
      slot = fresh();
    }
  }
  sessionStorage.setItem(key, slot);
  return slot;
}
