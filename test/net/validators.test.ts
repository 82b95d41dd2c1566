// Headless validators in Node forming a network over real WebRTC (through the relay) and
// committing bill payments: the live counterpart of the simulator, with real clocks and channels.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Relay } from '../../server/relay.ts';
import { createCity, createWorkload } from '../../src/ledger/city.ts';
import { txIdOf } from '../../src/ledger/ledger.ts';
import { Mesh, type PeerLike } from '../../src/net/mesh.ts';
import type { SocketLike } from '../../src/net/signaling.ts';
import { ValidatorHost } from '../../src/net/validator-host.ts';
import { defaultProtocolConfig, type Genesis } from '../../src/protocol/types.ts';

let server: Server | null = null;
let relay: Relay | null = null;
const stops: (() => void)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await relay?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function until(
  what: string | (() => string),
  condition: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const clock = {
  now: () => performance.now(),
  setTimeout: (f: () => void, ms: number) => setTimeout(f, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

describe('headless validators over real WebRTC', () => {
  it('four validators connect through the relay, commit payments, and agree on the head', async () => {
    relay = new Relay({ log: () => {} });
    server = createServer();
    relay.attach(server);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/signal`;

    const city = createCity({ seed: 5, households: 6, chainId: 'live-test', validators: 4 });
    const genesis: Genesis = {
      config: { ...defaultProtocolConfig, blockIntervalMs: 200, viewTimeoutMs: 1_000 },
      ledger: city.genesis(),
      initialTrust: {},
    };
    const meshes: Mesh[] = [];
    const log: string[] = [];
    const hosts = city.validators.map((v, i) => {
      const peerId = `validator-${i}-${v.id.slice(0, 8)}`;
      const host = new ValidatorHost({ genesis, keys: v.keys, room: 'live-test', peerId, clock });
      const mesh = new Mesh(
        {
          url,
          room: 'live-test',
          peerId,
          maxFrameBytes: 1024 * 1024,
          createSocket: (u) => new WebSocket(u) as unknown as SocketLike,
          createPeer: (initiator) =>
            new SimplePeer({ initiator, wrtc, config: { iceServers: [] } }) as unknown as PeerLike,
        },
        {
          open: (peer) => (log.push(`${i} open ${peer.slice(0, 11)}`), host.peerOpened(peer)),
          data: (peer, bytes) => host.receive(peer, bytes),
          close: (peer, reason) => (
            log.push(`${i} closed ${peer.slice(0, 11)}: ${reason}`),
            host.peerClosed(peer)
          ),
          refused: () => {},
        },
      );
      meshes.push(mesh);
      mesh.start();
      host.start(mesh);
      stops.push(() => {
        host.stop();
        mesh.stop();
      });
      return host;
    });

    await until(
      () =>
        `every validator knows the other three; known: ${hosts.map((h) => h.knownValidators().length).join(',')}, open: ${meshes.map((m) => m.connectedPeers().length).join(',')}, log: ${log.join(' | ')}`,
      () => hosts.every((h) => h.knownValidators().length === 3),
    );
    const workload = createWorkload(city, { seed: 5, invalidShare: 0 });
    const batch = workload.nextBatch(
      { height: hosts[0]!.replica.height, ledger: hosts[0]!.replica.chain.ledger },
      12,
    );
    for (const item of batch) hosts[0]!.submit(item.tx);
    const ids = new Set(batch.map((item) => txIdOf(item.tx)));
    const committed = (h: ValidatorHost) =>
      new Set(h.replica.blocks.flatMap((b) => b.block.txs.map(txIdOf)));
    await until('every payment committed everywhere', () =>
      hosts.every((h) => [...ids].every((id) => committed(h).has(id))),
    );
    const height = Math.min(...hosts.map((h) => h.replica.chain.height));
    expect(height).toBeGreaterThan(0);
    const digests = new Set(hosts.map((h) => h.replica.blocks[height - 1]!.certificate.digest));
    expect(digests.size).toBe(1);
    expect(hosts.every((h) => h.stats.malformed === 0)).toBe(true);
  }, 60_000);
});
