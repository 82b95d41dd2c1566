// Headless validators in Node forming a network over real WebRTC (through the relay) and
// committing bill payments: the live counterpart of the simulator, with real clocks and channels.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeClock as clock, nodeTransports } from '../../server/node-transports.ts';
import { createCity, createWorkload } from '../../src/ledger/city.ts';
import { txIdOf } from '../../src/ledger/ledger.ts';
import { Mesh } from '../../src/net/mesh.ts';
import { ValidatorHost } from '../../src/net/validator-host.ts';
import { defaultProtocolConfig, type Genesis } from '../../src/protocol/types.ts';
import { startRelay, until } from './helpers.ts';

const stops: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('headless validators over real WebRTC', () => {
  it('four validators connect through the relay, commit payments, and agree on the head', async () => {
    const relay = await startRelay();
    const url = relay.signalUrl;

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
          ...nodeTransports,
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
      20_000,
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
    await until(
      'every payment committed everywhere',
      () => hosts.every((h) => [...ids].every((id) => committed(h).has(id))),
      20_000,
    );
    const height = Math.min(...hosts.map((h) => h.replica.chain.height));
    expect(height).toBeGreaterThan(0);
    const digests = new Set(hosts.map((h) => h.replica.blocks[height - 1]!.certificate.digest));
    expect(digests.size).toBe(1);
    expect(hosts.every((h) => h.stats.malformed === 0)).toBe(true);
  }, 60_000);
});
