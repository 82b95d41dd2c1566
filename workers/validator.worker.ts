// The tab's validator, in a Web Worker: the replica, the ledger, the mempool and every signature
// check live here, off the page's thread. The page keeps the WebRTC data channels (workers have no
// RTCPeerConnection) and relays their bytes over a MessagePort, transferring each frame's buffer;
// everything else (start, the status view's poll, hand payments) is a comlink call.

import * as Comlink from 'comlink';
import { IdbStorage } from '../src/app/storage.ts';
import type { ProtocolConfig } from '../src/protocol/types.ts';
import {
  TabValidator,
  importChain,
  type ChainImport,
  type ChainAudit,
  type OwnTxReport,
  type TabPoll,
} from '../src/net/tab-validator.ts';
import type { PortFrame } from '../src/app/frames.ts';
import type { FaultMode } from '../src/faults/index.ts';

let tab: TabValidator | null = null;
let port: MessagePort | null = null;

function post(frame: PortFrame, transfer: Transferable[] = []): void {
  port?.postMessage(frame, transfer);
}

const api = {
  /** Loads (or makes) this tab's validator for the room; frames flow over `framePort`. */
  async open(options: {
    room: string;
    slot: string;
    framePort: MessagePort;
    roomConfig?: Partial<ProtocolConfig>;
  }): Promise<{ id: string; name: string; hasChain: boolean }> {
    if (tab) throw new Error('the validator is already open');
    port = options.framePort;
    const storage = await IdbStorage.open();
    tab = await TabValidator.open({
      room: options.room,
      slot: options.slot,
      storage,
      clock: {
        now: () => performance.now(),
        setTimeout: (f, ms) => setTimeout(f, ms),
        clearTimeout: (h) => clearTimeout(h as number),
      },
      transport: {
        send(peer, bytes) {
          // A fresh buffer per frame (cborg allocates one): hand it over instead of copying.
          const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
          const copy = whole ? bytes : bytes.slice();
          post({ k: 'send', peer, bytes: copy }, [copy.buffer as ArrayBuffer]);
          return true;
        },
        disconnect(peer, reason) {
          post({ k: 'disconnect', peer, reason });
        },
      },
      ...(options.roomConfig ? { roomConfig: options.roomConfig } : {}),
    });
    port.onmessage = (event: MessageEvent<PortFrame>) => onFrame(event.data);
    return { id: tab.id, name: tab.name, hasChain: tab.hasChain };
  },
  start(peerId: string): void {
    tab?.start(peerId);
  },
  create(): void {
    tab?.create();
  },
  /**
   * The status and the events and messages since the last call, for the views; the ledger view
   * only when it is not version `ledgerHeld`, the one the page holds (see TabPoll).
   */
  poll(ledgerHeld: number | null): TabPoll | null {
    return tab?.poll(ledgerHeld) ?? null;
  },
  payBill(billId: string) {
    return tab?.payBill(billId) ?? { ok: false as const, error: 'not open' };
  },
  setFault(mode: FaultMode) {
    return tab?.setFault(mode) ?? { ok: false as const, error: 'not open' };
  },
  setTraffic(on: boolean, perSecond?: number): void {
    tab?.setTraffic(on, perSecond);
  },
  /** This tab's chain as a chain file (null before it has one). */
  exportChain(): string | null {
    return tab?.exportChain() ?? null;
  },
  /** Verifies a chain file from anywhere (it need not be this room's). */
  importChain(text: string): Promise<ChainImport> {
    return importChain(text);
  },
};

export type ValidatorWorkerApi = typeof api;

/**
 * For automation that reaches this worker itself (Playwright's worker handle; `npm run bench`):
 * traffic past what the page offers, what became of this tab's own transactions, an audit of its
 * chain, and a few counters of its host.
 */
export interface ValidatorWorkerProbe {
  /** This worker's clock (ms), which `ownTxReport` counts on. */
  now(): number;
  /** See TabValidator.setTraffic: up to 200 a second, up to `depth` in flight per member. */
  setTraffic(on: boolean, perSecond?: number, depth?: number): void;
  ownTxReport(since?: number, until?: number): OwnTxReport | null;
  chainAudit(fromHeight: number, toHeight: number): ChainAudit | null;
  /** How long the validator's input queue takes to catch up with everything received so far (ms). */
  backlogMs(): Promise<number>;
  /** Counters of the host: frames, signature checks by path, the mempool, the current view. */
  counters(): Record<string, number>;
}

const probe: ValidatorWorkerProbe = {
  now: () => performance.now(),
  setTraffic: (on, perSecond, depth) => tab?.setTraffic(on, perSecond, depth),
  ownTxReport: (since, until) => tab?.ownTxReport(since, until) ?? null,
  chainAudit: (from, to) => tab?.chainAudit(from, to) ?? null,
  async backlogMs() {
    const start = performance.now();
    await tab?.host?.idle();
    return performance.now() - start;
  },
  counters() {
    const host = tab?.host;
    if (!host) return {};
    return {
      ...host.stats,
      nativeChecks: host.verifier.stats.native,
      pureJsChecks: host.verifier.stats.pureJs,
      cacheHits: host.verifier.stats.hits,
      mempool: host.replica.mempoolSize,
      height: host.replica.chain.height,
      txCount: host.replica.chain.ledger.txCount,
      view: host.replica.view,
    };
  },
};
(globalThis as typeof globalThis & { __tierbftProbe?: ValidatorWorkerProbe }).__tierbftProbe =
  probe;

/** Frames from the page: never trusted (a peer sent them); the host drops what is malformed. */
function onFrame(frame: PortFrame): void {
  if (!tab || typeof frame !== 'object' || frame === null) return;
  try {
    if (frame.k === 'data' && frame.bytes instanceof Uint8Array)
      tab.peerData(frame.peer, frame.bytes);
    else if (frame.k === 'open') tab.peerOpened(frame.peer);
    else if (frame.k === 'close') tab.peerClosed(frame.peer);
    else if (frame.k === 'left') tab.peerLeftRoom(frame.peer);
  } catch (error) {
    // Nothing a peer sends may stop the validator; a throw here is our bug, so say so loudly.
    console.error('validator worker: frame handling failed', error);
  }
}

Comlink.expose(api);
