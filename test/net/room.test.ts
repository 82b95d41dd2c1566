// A live room from scratch over real WebRTC: the first node creates the genesis; newcomers fetch
// it from peers, catch up, register with validator-join, and climb the tiers by behaving well.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeClock as clock, nodeTransports } from '../../server/node-transports.ts';
import { encodeCanonical, sha256Bytes, toHex } from '../../src/crypto/encoding.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { decodeGenesis, encodeGenesis, createRoomGenesis } from '../../src/protocol/genesis.ts';
import { RoomNode } from '../../src/net/room-node.ts';
import { startRelay, until } from './helpers.ts';

const nodes: RoomNode[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) n.stop();
  for (const stop of stops.splice(0)) await stop();
});

const keysOf = (label: string) =>
  generateKeyPair(sha256Bytes(encodeCanonical(['room-test', label])));

describe('the room genesis', () => {
  it('round-trips and is rejected when tampered with', () => {
    const creator = keysOf('creator');
    const genesis = createRoomGenesis({
      chainId: 'room-x',
      citySeed: 3,
      households: 4,
      creator: { id: toHex(creator.publicKey), name: 'Ana' },
    });
    const decoded = decodeGenesis(encodeGenesis(genesis));
    expect(decoded.ok && decoded.genesis).toEqual(genesis);
    const bad = decodeGenesis(
      encodeCanonical({
        config: { ...genesis.config, epochLength: 0 },
        ledger: genesis.ledger as never,
        initialTrust: {},
      }),
    );
    expect(bad).toMatchObject({
      ok: false,
      reason: 'config.epochLength must be an integer from 1 to 10000',
    });
    expect(decodeGenesis(new Uint8Array([1, 2, 3])).ok).toBe(false);
    expect(
      decodeGenesis(
        encodeCanonical({
          config: genesis.config as never,
          ledger: { chainId: 'x' },
          initialTrust: {},
        }),
      ).ok,
    ).toBe(false);
  });
});

describe('a live room over real WebRTC', () => {
  it('newcomers fetch the genesis, catch up, join as Observers and reach the same head', async () => {
    const relay = await startRelay();
    stops.push(relay.stop);
    const mesh = {
      url: relay.signalUrl,
      room: 'room-test',
      maxFrameBytes: 1024 * 1024,
      ...nodeTransports,
    };
    const creatorKeys = keysOf('creator');
    const genesis = createRoomGenesis({
      chainId: 'room-test',
      citySeed: 3,
      households: 4,
      creator: { id: toHex(creatorKeys.publicKey), name: 'Ana' },
      config: { blockIntervalMs: 100, viewTimeoutMs: 1_000, epochLength: 4, syncTimeoutMs: 300 },
    });
    const creator = new RoomNode({ ...mesh, keys: creatorKeys, name: 'Ana', clock, genesis });
    nodes.push(creator);
    creator.start();
    await until(
      'the creator commits a few heights',
      () => (creator.host?.replica.chain.height ?? 0) >= 3,
    );

    const newcomers = ['Bo', 'Chen'].map(
      (name) => new RoomNode({ ...mesh, keys: keysOf(name), name, clock }),
    );
    for (const n of newcomers) {
      nodes.push(n);
      n.start();
    }
    const tierOf = (id: string) => creator.host!.replica.chain.tierOf(id);
    await until('both newcomers registered', () => newcomers.every((n) => tierOf(n.id) !== null));
    expect(
      newcomers.every(
        (n) => n.host!.replica.chain.genesisHash === creator.host!.replica.chain.genesisHash,
      ),
    ).toBe(true);
    await until(
      'newcomers climbed to Core',
      () => newcomers.every((n) => tierOf(n.id) === 'core'),
      40_000,
    );
    const target = creator.host!.replica.chain.height + 2;
    await until('everyone past the target', () =>
      nodes.every((n) => (n.host?.replica.chain.height ?? 0) >= target),
    );
    const heads = new Set(nodes.map((n) => n.host!.replica.blocks[target - 1]!.certificate.digest));
    expect(heads.size).toBe(1);
  }, 90_000);
});
