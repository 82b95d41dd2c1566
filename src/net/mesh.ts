// A full WebRTC mesh over simple-peer: one data channel per pair of peers in a room, set up
// through the signaling relay. The newcomer initiates to everyone already there, so every pair
// has exactly one initiator. Bytes in, bytes out: what they mean is the host's business, except
// that a peer sending a frame over the size limit is disconnected (it cannot be honest).
//
// A data channel message has a size limit of its own (256 KiB in Chromium, less elsewhere), below
// the frames a validator may send (a new-view carrying prepared blocks, a batch of blocks for a
// peer catching up). So frames travel in parts of at most `partBytes`: each channel message starts
// with one byte, `whole` (the frame is the rest), `part` (more follows) or `last` (the frame ends
// here); channels are ordered and reliable, so the parts arrive in order.

import { SignalingClient, type SocketLike } from './signaling.ts';

/** The part of a simple-peer instance the mesh uses. */
export interface PeerLike {
  signal(data: unknown): void;
  send(data: Uint8Array): void;
  destroy(): void;
  on(event: 'signal', listener: (data: unknown) => void): this;
  on(event: 'connect' | 'close', listener: () => void): this;
  on(event: 'data', listener: (data: Uint8Array) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface MeshOptions {
  readonly url: string;
  readonly room: string;
  readonly peerId: string;
  readonly createSocket: (url: string) => SocketLike;
  readonly createPeer: (initiator: boolean) => PeerLike;
  /** Frames larger than this disconnect their sender. */
  readonly maxFrameBytes: number;
}

export interface MeshEvents {
  open(peerId: string): void;
  data(peerId: string, bytes: Uint8Array): void;
  close(peerId: string, reason: string): void;
  refused(reason: string): void;
  /** The signaling service let us in; `peers` were in the room before us (may come more than once). */
  joined?(peers: readonly string[]): void;
  /** The signaling service says the peer left the room (`deliberate`: on purpose). */
  left?(peerId: string, deliberate: boolean): void;
  /** The signaling connection closed (the links already open stay up). */
  signalingClosed?(): void;
}

export interface PeerState {
  readonly peerId: string;
  readonly state: 'connecting' | 'open';
}

interface Link {
  readonly peer: PeerLike;
  connected: boolean;
  /** Frames sent before the channel opened on our side. */
  readonly pending: Uint8Array[];
  /** Parts of the frame being received, and their total length. */
  parts: Uint8Array[];
  partsLength: number;
}

/** Attempts to set a failed channel up again, and the first pause (it doubles). */
const maxRetries = 5;
const retryBaseMs = 250;
/** The first byte of each channel message. */
const whole = 0;
const part = 1;
const last = 2;
/** Most frame bytes in one channel message (well under every browser's limit). */
export const partBytes = 60 * 1024;

/** Frames held per link until its channel opens. */
const maxPendingFrames = 256;
/** A link not open after this long is given up and set up again (ICE can hang without failing). */
const connectTimeoutMs = 10_000;

function isOffer(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'offer';
}

/** `bytes` behind a one-byte part marker, in a fresh buffer. */
function withMarker(marker: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + 1);
  out[0] = marker;
  out.set(bytes, 1);
  return out;
}

export class Mesh {
  private readonly links = new Map<string, Link>();
  /** Who the relay says is in the room. */
  private readonly roomPeers = new Set<string>();
  private readonly retries = new Map<string, number>();
  private readonly banned = new Set<string>();
  private stopped = false;
  private readonly signaling: SignalingClient;

  constructor(
    private readonly options: MeshOptions,
    private readonly events: MeshEvents,
  ) {
    this.signaling = new SignalingClient(
      options.url,
      options.room,
      options.peerId,
      options.createSocket,
      {
        joined: (peers) => {
          for (const id of peers) {
            this.roomPeers.add(id);
            this.link(id, true);
          }
          events.joined?.(peers);
        },
        peerJoined: (id) => {
          // The newcomer initiates; its offer creates our side of the link.
          this.roomPeers.add(id);
        },
        peerLeft: (id, deliberate) => {
          this.roomPeers.delete(id);
          events.left?.(id, deliberate);
          this.drop(id, 'left the room');
        },
        signal: (from, data) => {
          if (this.banned.has(from)) return;
          // A new offer on an existing link means the far side started over (its side timed out,
          // or it reloaded): start over with it.
          const existing = this.links.get(from);
          if (existing && isOffer(data)) this.drop(from, 'the peer started over');
          (this.links.get(from) ?? this.link(from, false)).peer.signal(data);
        },
        refused: (reason) => events.refused(reason),
        closed: () => events.signalingClosed?.(),
      },
    );
  }

  start(): void {
    this.signaling.connect();
  }

  /** Peers whose data channel is open. */
  connectedPeers(): string[] {
    return [...this.links].filter(([, l]) => l.connected).map(([id]) => id);
  }

  /** Every link, open or still being set up. */
  peerStates(): PeerState[] {
    return [...this.links].map(([peerId, l]) => ({
      peerId,
      state: l.connected ? 'open' : 'connecting',
    }));
  }

  send(peerId: string, bytes: Uint8Array): boolean {
    const link = this.links.get(peerId);
    if (!link) return false;
    // The far side would hang up on it: not sent (a bug of ours, not a reason to drop the link).
    if (bytes.byteLength > this.options.maxFrameBytes) return false;
    // The far side can talk (and we can answer) a moment before our side sees the channel open:
    // hold a few frames until it does.
    if (!link.connected) {
      if (link.pending.length >= maxPendingFrames) return false;
      link.pending.push(bytes);
      return true;
    }
    return this.transmit(peerId, link, bytes);
  }

  private transmit(peerId: string, link: Link, bytes: Uint8Array): boolean {
    try {
      if (bytes.byteLength <= partBytes) {
        link.peer.send(withMarker(whole, bytes));
        return true;
      }
      for (let at = 0; at < bytes.byteLength; at += partBytes) {
        const end = Math.min(at + partBytes, bytes.byteLength);
        link.peer.send(withMarker(end === bytes.byteLength ? last : part, bytes.subarray(at, end)));
      }
      return true;
    } catch (error) {
      this.drop(peerId, `send failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Disconnects one peer (a misbehaving one, say); the others are not disturbed. */
  disconnect(peerId: string, reason: string): void {
    // It misbehaved: refuse its offers from now on (it cannot simply dial back in).
    this.banned.add(peerId);
    this.drop(peerId, reason);
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.links.keys()]) this.drop(id, 'stopped');
    this.signaling.close();
  }

  private link(peerId: string, initiator: boolean): Link {
    const existing = this.links.get(peerId);
    if (existing) return existing;
    const peer = this.options.createPeer(initiator);
    const link: Link = { peer, connected: false, pending: [], parts: [], partsLength: 0 };
    this.links.set(peerId, link);
    const timer = setTimeout(() => {
      if (!link.connected) this.lost(peerId, link, 'timed out connecting');
    }, connectTimeoutMs);
    peer.on('signal', (data) => this.signaling.signal(peerId, data));
    peer.on('connect', () => {
      clearTimeout(timer);
      link.connected = true;
      this.retries.delete(peerId);
      // Whatever the host says on open (its hello) goes first, then what waited for the channel.
      const waiting = link.pending.splice(0);
      this.events.open(peerId);
      for (const bytes of waiting) this.transmit(peerId, link, bytes);
    });
    peer.on('data', (data) => this.received(peerId, link, data));
    peer.on('close', () => {
      clearTimeout(timer);
      this.lost(peerId, link, 'channel closed');
    });
    peer.on('error', (error) => this.lost(peerId, link, `channel error: ${error.message}`));
    return link;
  }

  /** A channel message: a whole frame, or one part of one. */
  private received(peerId: string, link: Link, data: Uint8Array): void {
    if (this.links.get(peerId) !== link) return;
    const marker = data[0];
    const body = data.subarray(1);
    const length = link.partsLength + body.byteLength;
    if (data.byteLength === 0 || marker === undefined || marker > last)
      return this.disconnect(peerId, 'sent a channel message with no valid part marker');
    if (length > this.options.maxFrameBytes)
      return this.disconnect(
        peerId,
        `sent a frame of over ${this.options.maxFrameBytes} bytes (${length} so far)`,
      );
    if (marker === whole) {
      if (link.parts.length > 0)
        return this.disconnect(peerId, 'sent a whole frame in the middle of a split one');
      return this.events.data(peerId, body);
    }
    // Keep a copy: the channel's buffer may be reused.
    link.parts.push(body.slice());
    link.partsLength = length;
    if (marker === part) return;
    const frame = new Uint8Array(length);
    let at = 0;
    for (const p of link.parts) {
      frame.set(p, at);
      at += p.byteLength;
    }
    link.parts = [];
    link.partsLength = 0;
    this.events.data(peerId, frame);
  }

  /**
   * A channel that failed on its own (not closed by either side on purpose) is set up again while
   * the peer is still in the room: the smaller peer id offers, after a growing pause, a few times.
   */
  private lost(peerId: string, link: Link, reason: string): void {
    if (this.links.get(peerId) !== link) return;
    this.drop(peerId, reason);
    const attempt = (this.retries.get(peerId) ?? 0) + 1;
    if (this.stopped || attempt > maxRetries || this.options.peerId > peerId) return;
    this.retries.set(peerId, attempt);
    setTimeout(
      () => {
        if (!this.stopped && this.roomPeers.has(peerId) && !this.links.has(peerId))
          this.link(peerId, true);
      },
      retryBaseMs * 2 ** (attempt - 1),
    );
  }

  private drop(peerId: string, reason: string): void {
    const link = this.links.get(peerId);
    if (!link) return;
    this.links.delete(peerId);
    link.peer.destroy();
    this.events.close(peerId, reason);
  }
}
