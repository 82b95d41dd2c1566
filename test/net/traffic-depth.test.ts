// City traffic with several transactions in flight per member (the benchmark's saturation): what a
// node signs allows for what it has in flight, so everything still applies, in nonce order, with
// no bill paid twice and no balance spent twice, however the blocks cut the stream.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/encoding.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { applyTx, createLedger, txIdOf, type LedgerState } from '../../src/ledger/ledger.ts';
import type { SignedTx } from '../../src/ledger/types.ts';
import { CityTraffic, maxDepth } from '../../src/net/traffic.ts';
import { createRoomGenesis, roomCityOf } from '../../src/protocol/genesis.ts';
import { Rng } from '../../src/sim/rng.ts';

const creator = toHex(generateKeyPair(new Uint8Array(32).fill(1)).publicKey);

function setUp() {
  const genesis = createRoomGenesis({
    chainId: 'traffic-depth-test',
    households: 12,
    creator: { id: creator, name: 'Alpha' },
  });
  const city = roomCityOf(genesis);
  if (!city) throw new Error('no city in the room genesis');
  return { city, ledger: createLedger(genesis.ledger) };
}

/**
 * Runs one node that drives the whole city for `heights` blocks. Each block takes, of what is in
 * flight, a random number of each signer's oldest transactions (a block never skips a nonce, as a
 * primary's mempool order does not), and every one of them must apply.
 */
function drive(depth: number, heights: number, seed: number) {
  const { city, ledger: genesisLedger } = setUp();
  let ledger: LedgerState = genesisLedger;
  const node = new CityTraffic(city, creator, seed);
  node.setDepth(depth);
  const rng = new Rng(seed);
  let inFlight: SignedTx[] = [];
  let committed = 0;
  let mostInFlight = 0;
  const byType = new Map<string, number>();
  for (let height = 1; height <= heights; height++) {
    const view = { height: height - 1, ledger };
    inFlight.push(...node.next(view, 200));
    const perSigner = new Map<string, number>();
    for (const tx of inFlight) perSigner.set(tx.signer, (perSigner.get(tx.signer) ?? 0) + 1);
    mostInFlight = Math.max(mostInFlight, ...perSigner.values());
    // This block: for each signer, its first k in flight (k random).
    const take = new Map([...perSigner].map(([s, n]) => [s, rng.int(0, n)]));
    const block: SignedTx[] = [];
    const rest: SignedTx[] = [];
    for (const tx of inFlight) {
      const k = take.get(tx.signer)!;
      if (k > 0) {
        block.push(tx);
        take.set(tx.signer, k - 1);
      } else rest.push(tx);
    }
    for (const tx of block) {
      // Signatures are not what is tested here (and checking thousands is slow).
      const { state, result } = applyTx(ledger, tx, { height, check: () => true });
      expect(result, `${tx.body.type} by ${tx.signer.slice(0, 8)} at ${height}`).toMatchObject({
        ok: true,
      });
      ledger = state;
      node.settled(txIdOf(tx));
      byType.set(tx.body.type, (byType.get(tx.body.type) ?? 0) + 1);
      committed++;
    }
    inFlight = rest;
  }
  for (const times of ledger.billPayments.values()) expect(times).toBe(1);
  return { committed, mostInFlight, byType };
}

describe('city traffic with several transactions in flight per member', () => {
  it('by default one in flight per member, as before', () => {
    const r = drive(1, 20, 3);
    expect(r.mostInFlight).toBe(1);
    expect(r.byType.get('pay-bill')).toBeGreaterThan(5);
  });

  it('deeper pipelines keep every transaction valid, never pay a bill twice, and carry more', () => {
    const shallow = drive(1, 14, 5);
    for (const depth of [3, 8]) {
      const deep = drive(depth, 14, 5);
      expect(deep.mostInFlight).toBeGreaterThan(1);
      expect(deep.mostInFlight).toBeLessThanOrEqual(depth);
      expect(deep.committed).toBeGreaterThan(2 * shallow.committed);
      expect(deep.byType.get('pay-bill')).toBeGreaterThan(2 * shallow.byType.get('pay-bill')!);
    }
  });

  it('clamps the depth to 1 … maxDepth', () => {
    const { city, ledger } = setUp();
    const node = new CityTraffic(city, creator, 1);
    node.setDepth(10_000);
    const view = { height: 0, ledger };
    const txs = node.next(view, 10_000);
    const perSigner = new Map<string, number>();
    for (const tx of txs) perSigner.set(tx.signer, (perSigner.get(tx.signer) ?? 0) + 1);
    expect(Math.max(...perSigner.values())).toBeLessThanOrEqual(maxDepth);
    const other = new CityTraffic(city, creator, 1);
    other.setDepth(0);
    const one = other.next(view, 10_000);
    expect(new Set(one.map((tx) => tx.signer)).size).toBe(one.length);
  });
});
