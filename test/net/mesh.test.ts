// The WebRTC mesh in Node over real data channels (@roamhq/wrtc), meeting through the real relay:
// every pair connects, bytes flow both ways, an oversized frame disconnects only its sender, and a
// peer that leaves is noticed by the rest.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeTransports } from '../../server/node-transports.ts';
import { Mesh } from '../../src/net/mesh.ts';
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
    const [a, b, c] = [node(url, 'peer-aaaa'), node(url, 'peer-bbbb'), node(url, 'peer-cccc')];
    await until('all pairs open', () => [a, b, c].every((n) => n.opened.size === 2), 15_000);
    b.mesh.send(a.id, new Uint8Array(4_000));
    await until('a drops b', () => a.closed.has(b.id), 15_000);
    expect(a.closed.get(b.id)).toMatch(/over the 1024-byte limit/);
    expect(a.mesh.connectedPeers()).toEqual([c.id]);
    c.mesh.send(a.id, new Uint8Array([7]));
    await until('c still reaches a', () => a.received.some((r) => r.from === c.id), 15_000);
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
