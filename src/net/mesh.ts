// A full WebRTC mesh over simple-peer: one data channel per pair of peers in a room, set up
// through the signaling relay. The newcomer initiates to everyone already there, so every pair
// has exactly one initiator. Bytes in, bytes out: what they mean is the host's business, except
// that a peer sending a frame over the size limit is disconnected (it cannot be honest).

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
}

interface Link {
  readonly peer: PeerLike;
  connected: boolean;
}

export class Mesh {
  private readonly links = new Map<string, Link>();
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
          for (const id of peers) this.link(id, true);
        },
        peerJoined: () => {
          // The newcomer initiates; its offer creates our side of the link.
        },
        peerLeft: (id) => this.drop(id, 'left the room'),
        signal: (from, data) => (this.links.get(from) ?? this.link(from, false)).peer.signal(data),
        refused: (reason) => events.refused(reason),
        closed: () => {},
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

  send(peerId: string, bytes: Uint8Array): boolean {
    const link = this.links.get(peerId);
    if (!link?.connected) return false;
    link.peer.send(bytes);
    return true;
  }

  /** Disconnects one peer (a misbehaving one, say); the others are not disturbed. */
  disconnect(peerId: string, reason: string): void {
    this.drop(peerId, reason);
  }

  stop(): void {
    for (const id of [...this.links.keys()]) this.drop(id, 'stopped');
    this.signaling.close();
  }

  private link(peerId: string, initiator: boolean): Link {
    const existing = this.links.get(peerId);
    if (existing) return existing;
    const peer = this.options.createPeer(initiator);
    const link: Link = { peer, connected: false };
    this.links.set(peerId, link);
    peer.on('signal', (data) => this.signaling.signal(peerId, data));
    peer.on('connect', () => {
      link.connected = true;
      this.events.open(peerId);
    });
    peer.on('data', (data) => {
      if (data.byteLength > this.options.maxFrameBytes) {
        this.drop(
          peerId,
          `sent ${data.byteLength} bytes, over the ${this.options.maxFrameBytes}-byte limit`,
        );
        return;
      }
      this.events.data(peerId, data);
    });
    peer.on('close', () => this.drop(peerId, 'channel closed'));
    peer.on('error', (error) => this.drop(peerId, `channel error: ${error.message}`));
    return link;
  }

  private drop(peerId: string, reason: string): void {
    const link = this.links.get(peerId);
    if (!link) return;
    this.links.delete(peerId);
    link.peer.destroy();
    this.events.close(peerId, reason);
  }
}
