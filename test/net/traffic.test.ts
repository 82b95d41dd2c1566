// City traffic without a network: the validators of a room split the city between them by their
// place in the committed registry, never sign twice for one member at a time, and everything they
// sign applies on the ledger in order, while validators join and leave.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/encoding.ts';
import { generateKeyPair, type KeyPair } from '../../src/crypto/keys.ts';
import { verifySync } from '../../src/crypto/verify.ts';
import {
  applyTx,
  billsOf,
  checkTx,
  createLedger,
  signTx,
  txIdOf,
  type LedgerState,
} from '../../src/ledger/ledger.ts';
import type { SignedTx } from '../../src/ledger/types.ts';
import { CityTraffic, handoverHeights } from '../../src/net/traffic.ts';
import { createRoomGenesis, roomCityOf } from '../../src/protocol/genesis.ts';
import { Rng } from '../../src/sim/rng.ts';

const keys: KeyPair[] = [1, 2, 3].map((i) => generateKeyPair(new Uint8Array(32).fill(i)));
const ids = keys.map((k) => toHex(k.publicKey));

function setUp() {
  const genesis = createRoomGenesis({
    chainId: 'traffic-test',
    households: 12,
    creator: { id: ids[0]!, name: 'Alpha' },
  });
  const city = roomCityOf(genesis);
  if (!city) throw new Error('no city in the room genesis');
  const members = [city.issuer, ...city.providers, ...city.households].map((m) => m.id);
  return { genesis, city, members, ledger: createLedger(genesis.ledger) };
}

/** A toy chain: blocks of whatever is handed in, applied in order, every tx checked on the way. */
class ToyChain {
  height = 0;
  constructor(public ledger: LedgerState) {}

  commit(txs: readonly SignedTx[]): void {
    this.height++;
    for (const tx of txs) {
      const ctx = { height: this.height, check: verifySync };
      const checked = checkTx(this.ledger, tx, ctx);
      const { state, result } = applyTx(this.ledger, tx, ctx);
      expect(checked.ok, `checkTx of ${tx.body.type} by ${tx.signer.slice(0, 8)}`).toBe(true);
      expect(result, `${tx.body.type} by ${tx.signer.slice(0, 8)} at ${this.height}`).toMatchObject(
        { ok: true },
      );
      this.ledger = state;
    }
  }

  get view() {
    return { height: this.height, ledger: this.ledger };
  }
}

const joinTx = (chainId: string, i: number, nonce = 0) =>
  signTx(chainId, keys[i]!.secretKey, ids[i]!, {
    type: 'validator-join',
    nonce,
    name: `v${i}`,
  });
const leaveTx = (chainId: string, i: number, nonce: number) =>
  signTx(chainId, keys[i]!.secretKey, ids[i]!, { type: 'validator-leave', nonce });

describe('city traffic', () => {
  it('the first validator alone drives the whole city from genesis', () => {
    const { city, members, ledger } = setUp();
    const traffic = new CityTraffic(city, ids[0]!, 1);
    expect(traffic.ownedMembers({ height: 0, ledger }).map((m) => m.id)).toEqual(members);
    expect(traffic.households({ height: 0, ledger })).toHaveLength(12);
    // Not in the registry: nothing.
    expect(new CityTraffic(city, ids[1]!, 2).ownedMembers({ height: 0, ledger })).toEqual([]);
  });

  it('1, 2 and 3 validators partition the city; one tx in flight per signer; all of it applies', () => {
    const { city, members, ledger } = setUp();
    const chain = new ToyChain(ledger);
    const nodes = ids.map((id, i) => new CityTraffic(city, id, 100 + i));
    const rng = new Rng(7);
    // In flight: produced, not yet in a block; each waits 1–3 blocks.
    let inFlight: { tx: SignedTx; node: number; due: number }[] = [];
    // Registry changes: height of the block that carries them.
    const changes = new Map<number, SignedTx>([
      [8, joinTx(city.chainId, 1)],
      [24, joinTx(city.chainId, 2)],
      [44, leaveTx(city.chainId, 1, 1)],
    ]);
    const registryAt = (h: number) => (h < 8 ? [0] : h < 24 ? [0, 1] : h < 44 ? [0, 1, 2] : [0, 2]);
    let lastChange = 0;
    const produced = new Map<string, number>();
    // The room's first validator holds the city from genesis.
    for (const n of nodes) n.ownedMembers(chain.view);
    for (let step = 0; step < 64; step++) {
      // The next block: the registry change of its height, and the transactions due.
      const h = chain.height + 1;
      const due = inFlight.filter((f) => f.due <= h);
      inFlight = inFlight.filter((f) => f.due > h);
      const change = changes.get(h);
      chain.commit([...(change ? [change] : []), ...due.map((f) => f.tx)]);
      for (const f of due) nodes[f.node]!.settled(txIdOf(f.tx));
      if (change) lastChange = h;

      // Ownership: always disjoint; a partition once the hand-over pause is over.
      const owned = nodes.map((n) => n.ownedMembers(chain.view).map((m) => m.id));
      const all = owned.flat();
      expect(new Set(all).size, `disjoint at ${h}`).toBe(all.length);
      if (h - lastChange >= handoverHeights) {
        expect(all.sort(), `partition at ${h}`).toEqual([...members].sort());
        for (const [i, o] of owned.entries())
          expect(o.length > 0, `node ${i} at ${h}`).toBe(registryAt(h).includes(i));
      }

      // New traffic from every node.
      for (const [i, node] of nodes.entries()) {
        for (const tx of node.next(chain.view, 6)) {
          const busy = inFlight.find((f) => f.tx.signer === tx.signer);
          expect(busy, `second tx in flight for ${tx.signer.slice(0, 8)} at ${h}`).toBeUndefined();
          expect(owned[i]).toContain(tx.signer);
          produced.set(tx.body.type, (produced.get(tx.body.type) ?? 0) + 1);
          inFlight.push({ tx, node: i, due: h + rng.int(1, 3) });
        }
      }
    }
    expect(produced.get('issue-bill')).toBeGreaterThan(10);
    expect(produced.get('pay-bill')).toBeGreaterThan(10);
    expect(chain.ledger.txCount).toBeGreaterThan(40);
  });

  it('a node that missed a registry in between pauses what it holds (another may have signed)', () => {
    const { city, members, ledger } = setUp();
    const chain = new ToyChain(ledger);
    const [a, b] = [new CityTraffic(city, ids[0]!, 1), new CityTraffic(city, ids[1]!, 2)];
    expect(a.ownedMembers(chain.view)).toHaveLength(members.length);
    for (let h = 1; h <= 4; h++) chain.commit([]);
    expect(a.ownedMembers(chain.view)).toHaveLength(members.length);
    // B joins at 5, signs for its share (member 3, say) from 8; C joins at 12.
    chain.commit([joinTx(city.chainId, 1)]);
    while (chain.height < 10) {
      chain.commit([]);
      b.ownedMembers(chain.view);
    }
    const fromB = b.next(chain.view, 20);
    expect(fromB.map((tx) => tx.signer)).toContain(members[3]);
    chain.commit([]);
    chain.commit([joinTx(city.chainId, 2)]);
    chain.commit([]);
    chain.commit([]);
    // A looks again at 14: under 1 and 3 validators member 3 is A's, but B held it in between
    // and may still have its payment in flight.
    const atFourteen = a.ownedMembers(chain.view).map((m) => m.id);
    expect(atFourteen).not.toContain(members[3]);
    expect(a.next(chain.view, 20).map((tx) => tx.signer)).not.toContain(members[3]);
    for (let i = 0; i < handoverHeights; i++) chain.commit([]);
    expect(a.ownedMembers(chain.view).map((m) => m.id)).toEqual(
      members.filter((_, i) => i % 3 === 0),
    );
  });

  it('pays a bill by hand only for a household it drives', () => {
    const { city, ledger } = setUp();
    const chain = new ToyChain(ledger);
    const provider = city.providers[0]!;
    const [mine, theirs] = [city.households[0]!, city.households[1]!];
    // Two nodes: A holds households at even city positions, B odd ones (8 + index).
    chain.commit([joinTx(city.chainId, 1)]);
    const a = new CityTraffic(city, ids[0]!, 1);
    a.ownedMembers(chain.view);
    const issue = (payer: string, nonce: number) =>
      signTx(city.chainId, provider.keys.secretKey, provider.id, {
        type: 'issue-bill',
        nonce,
        payer,
        asset: 'CNY',
        amount: 5_000,
        period: 'p1',
        dueHeight: 100,
      });
    chain.commit([issue(mine.id, 0), issue(theirs.id, 1)]);
    for (let i = 0; i < handoverHeights; i++) chain.commit([]);
    const billOf = (payer: string) => billsOf(chain.ledger, { payer })[0]!.id;
    expect(a.households(chain.view).map((m) => m.id)).toContain(mine.id);
    expect(a.pay(chain.view, billOf(theirs.id))).toEqual({
      error: 'its household is driven by another tab',
    });
    expect(a.pay(chain.view, 'ab'.repeat(32))).toEqual({ error: 'no such bill' });
    const tx = a.pay(chain.view, billOf(mine.id));
    if ('error' in tx) throw new Error(tx.error);
    chain.commit([tx]);
    expect(a.pay(chain.view, billOf(mine.id))).toEqual({ error: 'the bill is paid' });
  });
});
