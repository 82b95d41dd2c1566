// Client side of the signaling relay (server/relay.ts): joins a room under a random peer id and
// passes SDP/ICE blobs to addressed peers. Carries nothing else; consensus data never goes here.

/** The part of the WebSocket API we use: the browser's global, or `ws` in Node. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface SignalingEvents {
  /** The relay accepted us; `peers` were in the room before us. */
  joined(peers: readonly string[]): void;
  peerJoined(peerId: string): void;
  /** `deliberate`: it left on purpose (its tab closed), rather than lost its connection. */
  peerLeft(peerId: string, deliberate: boolean): void;
  signal(from: string, data: unknown): void;
  /** The relay refused a frame of ours (room full, bad name, …). */
  refused(reason: string): void;
  closed(): void;
}

const open = 1;

export class SignalingClient {
  private socket: SocketLike | null = null;

  constructor(
    private readonly url: string,
    readonly room: string,
    readonly peerId: string,
    private readonly createSocket: (url: string) => SocketLike,
    private readonly events: SignalingEvents,
  ) {}

  connect(): void {
    const socket = this.createSocket(this.url);
    this.socket = socket;
    socket.onopen = () =>
      socket.send(JSON.stringify({ type: 'join', room: this.room, peerId: this.peerId }));
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onclose = () => this.events.closed();
    socket.onerror = () => socket.close();
  }

  signal(to: string, data: unknown): void {
    if (this.socket?.readyState === open)
      this.socket.send(JSON.stringify({ type: 'signal', to, data }));
  }

  close(): void {
    if (this.socket?.readyState === open) this.socket.send(JSON.stringify({ type: 'leave' }));
    this.socket?.close();
    this.socket = null;
  }

  private onFrame(data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return; // the relay only sends JSON; anything else is noise
    }
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    switch (frame.type) {
      case 'joined':
        if (Array.isArray(frame.peers))
          this.events.joined(frame.peers.filter((p): p is string => typeof p === 'string'));
        return;
      case 'peer-joined': {
        const id = str(frame.peerId);
        if (id) this.events.peerJoined(id);
        return;
      }
      case 'peer-left': {
        const id = str(frame.peerId);
        if (id) this.events.peerLeft(id, frame.reason === 'left');
        return;
      }
      case 'signal': {
        const from = str(frame.from);
        if (from) this.events.signal(from, frame.data);
        return;
      }
      case 'error':
        this.events.refused(str(frame.reason) ?? 'unknown');
        return;
    }
  }
}
