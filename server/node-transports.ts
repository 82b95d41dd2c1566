// What a validator needs from Node to live on a real network: a WebSocket for signaling (`ws`),
// WebRTC data channels (simple-peer over @roamhq/wrtc), and the real clock. The browser passes
// its own equivalents; everything above takes these as injected dependencies.

import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { WebSocket } from 'ws';
import type { PeerLike } from '../src/net/mesh.ts';
import type { SocketLike } from '../src/net/signaling.ts';
import type { HostClock } from '../src/net/validator-host.ts';

export const nodeClock: HostClock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const nodeTransports = {
  createSocket: (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike,
  // No STUN servers: peers on one machine or one LAN meet through host candidates.
  createPeer: (initiator: boolean): PeerLike =>
    new SimplePeer({ initiator, wrtc, config: { iceServers: [] } }) as unknown as PeerLike,
};
