// The signaling relay (DESIGN.md §6): rooms as topics, offers addressed to a peer id, nothing
// else. It passes SDP/ICE blobs and room membership between tabs and never sees consensus data.
// It stays small and dumb on purpose; what it does guard is itself: frame size, message rate per
// connection, peers per room, and malformed frames (dropped with a logged reason, never thrown).

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export interface RelayOptions {
  /** Largest frame accepted, in bytes (SDP with candidates is a few KiB). */
  readonly maxFrameBytes: number;
  /** Sustained frames per second per connection, and the burst above it. */
  readonly maxFramesPerSecond: number;
  readonly burstFrames: number;
  readonly maxPeersPerRoom: number;
  readonly maxRooms: number;
  /** URL path of the WebSocket endpoint. */
  readonly path: string;
  /** Where reasons for dropped frames go (default: console.warn). */
  readonly log: (line: string) => void;
  /** Clock for the rate limiter (injected so tests need not sleep). */
  readonly nowMs: () => number;
}

export const defaultRelayOptions: RelayOptions = {
  maxFrameBytes: 64 * 1024,
  maxFramesPerSecond: 50,
  burstFrames: 200,
  maxPeersPerRoom: 64,
  maxRooms: 1_000,
  path: '/signal',
  log: (line) => console.warn(line),
  nowMs: () => performance.now(),
};

/** What a client may send. */
export type ClientFrame =
  | { readonly type: 'join'; readonly room: string; readonly peerId: string }
  | { readonly type: 'signal'; readonly to: string; readonly data: unknown }
  | { readonly type: 'leave' };

/** What the relay sends. */
export type RelayFrame =
  | {
      readonly type: 'joined';
      readonly room: string;
      readonly peerId: string;
      readonly peers: readonly string[];
    }
  | { readonly type: 'peer-joined'; readonly peerId: string }
  /**
   * `left`: it said so (a `leave` frame, or its page closed the socket as it went away);
   * `disconnected`: the connection broke (a crash, a network failure).
   */
  | {
      readonly type: 'peer-left';
      readonly peerId: string;
      readonly reason: 'left' | 'disconnected';
    }
  | { readonly type: 'signal'; readonly from: string; readonly data: unknown }
  | { readonly type: 'error'; readonly reason: string };

const roomPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
const peerIdPattern = /^[A-Za-z0-9_-]{8,64}$/;

type Parsed = { ok: true; frame: ClientFrame } | { ok: false; reason: string };

/** Checks one text frame from a client. Never throws. */
export function parseClientFrame(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'not an object' };
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v).sort().join(',');
  switch (v.type) {
    case 'join':
      if (keys !== 'peerId,room,type')
        return { ok: false, reason: 'join takes exactly room and peerId' };
      if (typeof v.room !== 'string' || !roomPattern.test(v.room))
        return { ok: false, reason: 'bad room name' };
      if (typeof v.peerId !== 'string' || !peerIdPattern.test(v.peerId))
        return { ok: false, reason: 'bad peer id' };
      return { ok: true, frame: { type: 'join', room: v.room, peerId: v.peerId } };
    case 'signal':
      if (keys !== 'data,to,type') return { ok: false, reason: 'signal takes exactly to and data' };
      if (typeof v.to !== 'string' || !peerIdPattern.test(v.to))
        return { ok: false, reason: 'bad recipient' };
      return { ok: true, frame: { type: 'signal', to: v.to, data: v.data } };
    case 'leave':
      if (keys !== 'type') return { ok: false, reason: 'leave takes no fields' };
      return { ok: true, frame: { type: 'leave' } };
    default:
      return { ok: false, reason: 'unknown frame type' };
  }
}

interface Connection {
  readonly socket: WebSocket;
  room: string | null;
  peerId: string | null;
  tokens: number;
  lastRefillMs: number;
}

export interface RelayStats {
  connections: number;
  rooms: number;
  framesRelayed: number;
  dropped: Record<string, number>;
}

export class Relay {
  readonly options: RelayOptions;
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Map<string, Connection>>();
  private readonly connections = new Set<Connection>();
  private framesRelayed = 0;
  private readonly dropped: Record<string, number> = {};

  constructor(options: Partial<RelayOptions> = {}) {
    this.options = { ...defaultRelayOptions, ...options };
    // ws enforces maxPayload itself (it closes the socket with 1009); we check again below so a
    // frame just under ws's limit but over ours is dropped with a reason instead.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxFrameBytes * 2 });
    this.wss.on('connection', (socket) => this.onConnection(socket));
  }

  /** Serves the relay on `server` at `options.path`; other upgrade requests are left alone. */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== this.options.path) return;
      this.wss.handleUpgrade(request, socket, head, (ws) =>
        this.wss.emit('connection', ws, request),
      );
    });
  }

  stats(): RelayStats {
    return {
      connections: this.connections.size,
      rooms: this.rooms.size,
      framesRelayed: this.framesRelayed,
      dropped: { ...this.dropped },
    };
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(socket: WebSocket): void {
    const c: Connection = {
      socket,
      room: null,
      peerId: null,
      tokens: this.options.burstFrames,
      lastRefillMs: this.options.nowMs(),
    };
    this.connections.add(c);
    socket.on('message', (data, isBinary) => this.onFrame(c, data, isBinary));
    socket.on('close', (code) => {
      // 1000 normal closure, 1001 going away (a page unloading): a deliberate leave.
      this.leave(c, code === 1000 || code === 1001 ? 'left' : 'disconnected');
      this.connections.delete(c);
    });
    socket.on('error', () => socket.terminate());
  }

  private drop(c: Connection, reason: string, reply = true): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.options.log(
      `relay: dropped a frame from ${c.peerId ?? 'a new connection'}${c.room ? ` in ${c.room}` : ''}: ${reason}`,
    );
    if (reply) this.send(c, { type: 'error', reason });
  }

  private send(c: Connection, frame: RelayFrame): void {
    if (c.socket.readyState === c.socket.OPEN) c.socket.send(JSON.stringify(frame));
  }

  /** Token bucket: `burstFrames` at once, refilled at `maxFramesPerSecond`. */
  private allow(c: Connection): boolean {
    const now = this.options.nowMs();
    c.tokens = Math.min(
      this.options.burstFrames,
      c.tokens + ((now - c.lastRefillMs) * this.options.maxFramesPerSecond) / 1000,
    );
    c.lastRefillMs = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  private onFrame(c: Connection, data: RawData, isBinary: boolean): void {
    if (!this.allow(c)) {
      // No reply: answering a flood would only double it.
      this.drop(c, 'rate limit', false);
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (bytes.length > this.options.maxFrameBytes) return this.drop(c, 'frame too large');
    if (isBinary) return this.drop(c, 'binary frame');
    const parsed = parseClientFrame(bytes.toString('utf8'));
    if (!parsed.ok) return this.drop(c, parsed.reason);
    const frame = parsed.frame;
    switch (frame.type) {
      case 'join':
        return this.join(c, frame.room, frame.peerId);
      case 'leave':
        return this.leave(c, 'left');
      case 'signal': {
        if (!c.room || !c.peerId) return this.drop(c, 'signal before join');
        const target = this.rooms.get(c.room)?.get(frame.to);
        if (!target) return this.drop(c, 'no such peer in the room');
        this.framesRelayed++;
        return this.send(target, { type: 'signal', from: c.peerId, data: frame.data });
      }
    }
  }

  private join(c: Connection, room: string, peerId: string): void {
    if (c.room) return this.drop(c, 'already in a room');
    let members = this.rooms.get(room);
    if (!members && this.rooms.size >= this.options.maxRooms) return this.drop(c, 'too many rooms');
    if (members && members.size >= this.options.maxPeersPerRoom) return this.drop(c, 'room full');
    if (members?.has(peerId)) return this.drop(c, 'peer id taken');
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    const peers = [...members.keys()];
    members.set(peerId, c);
    c.room = room;
    c.peerId = peerId;
    this.send(c, { type: 'joined', room, peerId, peers });
    for (const other of members.values())
      if (other !== c) this.send(other, { type: 'peer-joined', peerId });
  }

  private leave(c: Connection, reason: 'left' | 'disconnected'): void {
    if (!c.room || !c.peerId) return;
    const members = this.rooms.get(c.room);
    members?.delete(c.peerId);
    if (members) {
      for (const other of members.values())
        this.send(other, { type: 'peer-left', peerId: c.peerId, reason });
      if (members.size === 0) this.rooms.delete(c.room);
    }
    c.room = null;
    c.peerId = null;
  }
}
