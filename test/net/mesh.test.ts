// The WebRTC mesh in Node over real data channels (@roamhq/wrtc), meeting through the real relay:
// every pair connects, bytes flow both ways, an oversized frame disconnects only its sender, and a
// peer that leaves is noticed by the rest.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeTransports } from '../../server/node-transports.ts';
import { Mesh, partBytes } from '../../src/net/mesh.ts';
import { startRelay, until } from './helpers.ts';

const meshes: Mesh[] = [];
const stops: (() => Promise<void>)[] = [];

async function relayUrl(): Promise<string> {
  const relay = await startRelay();
  stops.push(relay.stop);
  return relay.signalUrl;
}

afterEach(async () => {
  for (const m of meshes.splice(0)) m.stop();
  for (const stop of stops.splice(0)) await stop();
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
      ...nodeTransports,
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

describe('the WebRTC mesh', () => {
  it('connects every pair of three peers and carries bytes both ways', async () => {
    const url = await relayUrl();
    const nodes = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb'), node(url, 'peer-cccc')];
    await until('all pairs open', () => nodes.every((n) => n.opened.size === 2), 15_000);
    for (const from of nodes)
      for (const to of nodes)
        if (from !== to)
          expect(from.mesh.send(to.id, new TextEncoder().encode(`${from.id}→${to.id}`))).toBe(true);
    await until('all frames delivered', () => nodes.every((n) => n.received.length === 2), 15_000);
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
    const url = await relayUrl();
    // B's own limit is higher: it sends what A will not take.
    const [a, b, c] = [
      node(url, 'peer-aaaa'),
      node(url, 'peer-bbbb', 1_000_000),
      node(url, 'peer-cccc'),
    ];
    await until('all pairs open', () => [a, b, c].every((n) => n.opened.size === 2), 15_000);
    // Nobody sends a frame over its own limit (the far side would hang up): refused, link kept.
    expect(c.mesh.send(a.id, new Uint8Array(4_000))).toBe(false);
    expect(b.mesh.send(a.id, new Uint8Array(4_000))).toBe(true);
    await until('a drops b', () => a.closed.has(b.id), 15_000);
    expect(a.closed.get(b.id)).toMatch(/sent a frame of over 1024 bytes/);
    expect(a.mesh.connectedPeers()).toEqual([c.id]);
    c.mesh.send(a.id, new Uint8Array([7]));
    await until('c still reaches a', () => a.received.some((r) => r.from === c.id), 15_000);
  }, 30_000);

  it('carries frames larger than a data channel message, in parts, intact and in order', async () => {
    const url = await relayUrl();
    const [a, b] = [node(url, 'peer-aaaa', 1 << 20), node(url, 'peer-bbbb', 1 << 20)];
    await until('open', () => a.opened.size === 1 && b.opened.size === 1, 15_000);
    // 600 KiB: over Chromium's 256 KiB per message; then a small one, then one just over a part.
    const big = new Uint8Array(600 * 1024).map((_, i) => (i * 31 + 7) % 251);
    const sizes = [big.byteLength, 5, partBytes + 1];
    expect(a.mesh.send(b.id, big)).toBe(true);
    expect(a.mesh.send(b.id, new Uint8Array([1, 2, 3, 4, 5]))).toBe(true);
    expect(a.mesh.send(b.id, big.subarray(0, partBytes + 1))).toBe(true);
    await until('three frames', () => b.received.length === 3, 15_000);
    expect(b.received.map((r) => r.bytes.byteLength)).toEqual(sizes);
    expect(b.received[0]!.bytes).toEqual(big);
    expect(b.received[2]!.bytes).toEqual(big.subarray(0, partBytes + 1));
    expect(b.closed.size).toBe(0);
  }, 30_000);

  it('notices a peer that leaves the room', async () => {
    const url = await relayUrl();
    const [a, b] = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb')];
    await until('open', () => a.opened.size === 1 && b.opened.size === 1, 15_000);
    b.mesh.stop();
    await until('a notices', () => a.closed.has(b.id), 15_000);
    expect(a.mesh.connectedPeers()).toEqual([]);
  }, 30_000);
});
