// Signaling in the browser. The relay of `npm start` is the normal path; when it cannot be
// reached (a static build opened from disk or a static host), tabs of one browser meet over a
// BroadcastChannel instead. Both are presented to SignalingClient as one WebSocket-like object that
// speaks the relay's JSON protocol, so the mesh above does not know which one it got.

import type { SocketLike } from '../net/signaling.ts';

export type SignalingMode = 'connecting' | 'relay' | 'broadcast-channel';

/** How long a newcomer listens for tabs already in the room before it calls itself first. */
export const presenceWindowMs = 700;
const channelName = 'tierbft-signal/v1';
const connecting = 0;
const open = 1;
const closed = 3;

type Frame = Record<string, unknown>;

/**
 * The relay's protocol between the tabs of one browser: a newcomer announces itself, the tabs in
 * the room answer `present`, signals are addressed by peer id, and a tab going away says so.
 */
export class BroadcastSocket implements SocketLike {
  readyState = connecting;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly channel = new BroadcastChannel(channelName);
  private room = '';
  private peerId = '';
  /** Answers collected during the presence window; null once it has passed. */
  private gathering: string[] | null = null;

  constructor() {
    this.channel.onmessage = (event: MessageEvent) => this.onChannel(event.data);
    queueMicrotask(() => {
      this.readyState = open;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    if (this.readyState !== open) return;
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return;
    }
    if (
      frame.type === 'join' &&
      typeof frame.room === 'string' &&
      typeof frame.peerId === 'string'
    ) {
      this.room = frame.room;
      this.peerId = frame.peerId;
      this.gathering = [];
      this.post({ type: 'announce' });
      setTimeout(() => {
        const peers = this.gathering ?? [];
        this.gathering = null;
        this.deliver({ type: 'joined', room: this.room, peerId: this.peerId, peers });
      }, presenceWindowMs);
    } else if (frame.type === 'signal' && typeof frame.to === 'string') {
      this.post({ type: 'signal', to: frame.to, data: frame.data });
    } else if (frame.type === 'leave') {
      this.post({ type: 'gone' });
    }
  }

  close(): void {
    if (this.readyState === closed) return;
    if (this.peerId) this.post({ type: 'gone' });
    this.readyState = closed;
    this.channel.close();
    this.onclose?.({});
  }

  private post(frame: Frame): void {
    this.channel.postMessage({ ...frame, room: this.room, from: this.peerId });
  }

  private deliver(frame: Frame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  private onChannel(raw: unknown): void {
    if (this.readyState !== open || !this.peerId || typeof raw !== 'object' || raw === null) return;
    const frame = raw as Frame;
    const from = frame.from;
    if (frame.room !== this.room || typeof from !== 'string' || from === this.peerId) return;
    switch (frame.type) {
      case 'announce':
        this.post({ type: 'present', to: from });
        this.deliver({ type: 'peer-joined', peerId: from });
        return;
      case 'present':
        if (frame.to !== this.peerId) return;
        if (this.gathering) this.gathering.push(from);
        else this.deliver({ type: 'joined', room: this.room, peerId: this.peerId, peers: [from] });
        return;
      case 'signal':
        if (frame.to === this.peerId) this.deliver({ type: 'signal', from, data: frame.data });
        return;
      case 'gone':
        // Only a tab that is going away says so; a crashed one never does.
        this.deliver({ type: 'peer-left', peerId: from, reason: 'left' });
        return;
    }
  }
}

/**
 * A WebSocket to the relay, or the BroadcastChannel when the relay does not answer in time (or
 * `forceBroadcast`): `mode` tells which.
 */
export class FallbackSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  mode: SignalingMode = 'connecting';
  private inner: SocketLike | null = null;

  constructor(
    url: string,
    options: { forceBroadcast: boolean; timeoutMs: number; onMode: (mode: SignalingMode) => void },
  ) {
    const useBroadcast = () => {
      if (this.mode !== 'connecting') return;
      this.mode = 'broadcast-channel';
      options.onMode(this.mode);
      this.adopt(new BroadcastSocket());
    };
    if (options.forceBroadcast) {
      useBroadcast();
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      useBroadcast();
      return;
    }
    const timer = setTimeout(() => {
      ws.onopen = ws.onclose = ws.onerror = null;
      ws.close();
      useBroadcast();
    }, options.timeoutMs);
    ws.onerror = ws.onclose = () => {
      clearTimeout(timer);
      ws.onopen = ws.onclose = ws.onerror = null;
      useBroadcast();
    };
    ws.onopen = () => {
      clearTimeout(timer);
      this.mode = 'relay';
      options.onMode(this.mode);
      this.adopt(ws as unknown as SocketLike);
      this.onopen?.({});
    };
  }

  get readyState(): number {
    return this.inner?.readyState ?? connecting;
  }

  send(data: string): void {
    this.inner?.send(data);
  }

  close(): void {
    this.inner?.close();
  }

  private adopt(socket: SocketLike): void {
    this.inner = socket;
    socket.onopen = (e) => this.onopen?.(e);
    socket.onmessage = (e) => this.onmessage?.(e);
    socket.onclose = (e) => this.onclose?.(e);
    socket.onerror = (e) => this.onerror?.(e);
  }
}
