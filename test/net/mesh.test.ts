// The WebRTC mesh in Node over real data channels (@roamhq/wrtc), meeting through the real relay:
// every pair connects, bytes flow both ways, an oversized frame disconnects only its sender, and a
// peer that leaves is noticed by the rest.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Relay } from '../../server/relay.ts';
import { Mesh, type PeerLike } from '../../src/net/mesh.ts';
import type { SocketLike } from '../../src/net/signaling.ts';

let server: Server | null = null;
let relay: Relay | null = null;
const meshes: Mesh[] = [];

async function startRelay(): Promise<string> {
  relay = new Relay({ log: () => {} });
  server = createServer();
  relay.attach(server);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/signal`;
}

afterEach(async () => {
  for (const m of meshes.splice(0)) m.stop();
  await relay?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

interface Node {
  id: string;
  mesh: Mesh;
  opened: Set<string>;
  closed: Map<string, string>;
  received: { from: string; bytes: Uint8Array }[];
}

function node(url: string, id: string, maxFrameBytes = 1_024): Node {
  const n: Node = {
    id,
    mesh: null as unknown as Mesh,
    opened: new Set(),
    closed: new Map(),
    received: [],
  };
  n.mesh = new Mesh(
    {
      url,
      room: 'mesh-test',
      peerId: id,
      maxFrameBytes,
      createSocket: (u) => new WebSocket(u) as unknown as SocketLike,
      createPeer: (initiator) =>
        new SimplePeer({ initiator, wrtc, config: { iceServers: [] } }) as unknown as PeerLike,
    },
    {
      open: (peer) => n.opened.add(peer),
      data: (from, bytes) => n.received.push({ from, bytes }),
      close: (peer, reason) => n.closed.set(peer, reason),
      refused: () => {},
    },
  );
  meshes.push(n.mesh);
  n.mesh.start();
  return n;
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the WebRTC mesh', () => {
  it('connects every pair of three peers and carries bytes both ways', async () => {
    const url = await startRelay();
    const nodes = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb'), node(url, 'peer-cccc')];
    await until('all pairs open', () => nodes.every((n) => n.opened.size === 2));
    for (const from of nodes)
      for (const to of nodes)
        if (from !== to)
          expect(from.mesh.send(to.id, new TextEncoder().encode(`${from.id}→${to.id}`))).toBe(true);
    await until('all frames delivered', () => nodes.every((n) => n.received.length === 2));
    for (const n of nodes) {
      const texts = n.received.map((r) => `${r.from}:${new TextDecoder().decode(r.bytes)}`).sort();
      const others = nodes
        .filter((o) => o !== n)
        .map((o) => `${o.id}:${o.id}→${n.id}`)
        .sort();
      expect(texts).toEqual(others);
    }
  }, 30_000);

  it('disconnects a peer that sends an oversized frame, and only that peer', async () => {
    const url = await startRelay();
    const [a, b, c] = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb'), node(url, 'peer-cccc')];
    await until('all pairs open', () => [a, b, c].every((n) => n.opened.size === 2));
    b.mesh.send(a.id, new Uint8Array(4_000));
    await until('a drops b', () => a.closed.has(b.id));
    expect(a.closed.get(b.id)).toMatch(/over the 1024-byte limit/);
    expect(a.mesh.connectedPeers()).toEqual([c.id]);
    c.mesh.send(a.id, new Uint8Array([7]));
    await until('c still reaches a', () => a.received.some((r) => r.from === c.id));
  }, 30_000);

  it('notices a peer that leaves the room', async () => {
    const url = await startRelay();
    const [a, b] = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb')];
    await until('open', () => a.opened.size === 1 && b.opened.size === 1);
    b.mesh.stop();
    await until('a notices', () => a.closed.has(b.id));
    expect(a.mesh.connectedPeers()).toEqual([]);
  }, 30_000);
});
