// The behaviours a live tab switches on and off that need more than a wrapper around its replica:
// a crash (the validator stops, then continues where it was) and Twins (a second replica with the
// same key, each copy on half of the links). Three tabs on an in-process wire, real clock, a quick
// room whose creator A stays its only Core validator (B and C are Observers that follow it).
import { afterAll, describe, expect, it } from 'vitest';
import type { TabValidator } from '../../src/net/tab-validator.ts';
import { Wire, oneCoreRoom as roomConfig, until } from './helpers.ts';

const wire = new Wire();
const tabs: TabValidator[] = [];
afterAll(() => {
  for (const tab of tabs) tab.stop();
});

async function openTab(slot: string): Promise<TabValidator> {
  const tab = await wire.open({ room: 'faults-room', slot, peerId: `${slot}-1`, roomConfig });
  tabs.push(tab);
  return tab;
}

const height = (t: TabValidator) => t.host!.replica.chain.height;
const hashAt = (t: TabValidator, h: number) => t.host!.replica.blocks[h - 1]?.certificate.digest;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live crash and twins', () => {
  let a: TabValidator;
  let b: TabValidator;
  let c: TabValidator;

  it('three tabs form the room', async () => {
    a = await openTab('a');
    a.create();
    a.setTraffic(true, 10);
    await until('A running', () => a.host !== null && height(a) > 0, 10_000);
    b = await openTab('b');
    c = await openTab('c');
    await until(
      'B and C registered and at the head',
      () =>
        [b, c].every(
          (t) =>
            t.snapshot().tier === 'observer' && t.snapshot().headHash === a.snapshot().headHash,
        ),
      15_000,
    );
  });

  it('a crashed Observer stops, misses heights, then catches up where it was', async () => {
    expect(b.setFault('crash')).toEqual({ ok: true });
    await b.host!.idle();
    const frozen = height(b);
    const committedBefore = b.snapshot().stats.committedTxs;
    await until('A five heights on', () => height(a) >= frozen + 5, 10_000);
    // Nothing was handled while crashed: no height, no commit, no hand payment.
    expect(height(b)).toBe(frozen);
    expect(b.snapshot().stats.committedTxs).toBe(committedBefore);
    expect(b.snapshot().fault).toBe('crash');
    const bill = b.snapshot().bills.find((x) => x.state === 'issued');
    if (bill)
      expect(b.payBill(bill.id)).toEqual({ ok: false, error: 'this validator has crashed' });

    expect(b.setFault('none')).toEqual({ ok: true });
    await until('B back at the head', () => height(b) >= height(a) - 1 && height(b) > frozen + 4);
    const common = Math.min(height(a), height(b));
    expect(hashAt(b, common)).toBe(hashAt(a, common));
  });

  it('when the only Core validator crashes the room halts, and it moves on once it is back', async () => {
    a.setFault('crash');
    await a.host!.idle();
    const frozen = height(a);
    await pause(1_500); // fifteen block intervals
    // A step already in flight may finish one more height; then nothing, anywhere.
    expect(height(a)).toBeLessThanOrEqual(frozen + 1);
    for (const t of [b, c]) expect(height(t)).toBeLessThanOrEqual(frozen + 1);

    // Its timers were due while it was down: they fire at once, and it proposes again.
    a.setFault('none');
    await until(
      'the room committing again',
      () => [a, b, c].every((t) => height(t) >= frozen + 5),
      10_000,
    );
    const common = Math.min(...[a, b, c].map(height));
    expect(new Set([a, b, c].map((t) => hashAt(t, common))).size).toBe(1);
  });

  it('twins of the only Core validator fork the room: each side follows one copy', async () => {
    const start = height(a);
    a.setFault('twins');
    expect(a.snapshot().fault).toBe('twins');
    // One copy talks to B, the other to C; a committee of one has f = 0, so both copies commit
    // blocks of their own at the same heights, and B and C no longer agree.
    let forked = 0;
    await until(
      () => `B and C to fork (B at ${height(b)}, C at ${height(c)})`,
      () => {
        forked = Math.min(height(b), height(c));
        return forked > start && hashAt(b, forked) !== hashAt(c, forked);
      },
      10_000,
    );
    // The tab follows its original copy, and so does the side that talks to it: compared where
    // the two sides differ (the fork need not start at the first height after the switch).
    await until('A at the height where B and C differ', () => height(a) >= forked, 10_000);
    const [same, other] = hashAt(b, forked) === hashAt(a, forked) ? [b, c] : [c, b];
    expect(hashAt(same, forked)).toBe(hashAt(a, forked));
    expect(hashAt(other, forked)).not.toBe(hashAt(a, forked));
    const h = Math.min(height(a), height(same));
    expect(hashAt(same, h)).toBe(hashAt(a, h));
    // The side that follows the twin is caught by its peer's chain: a certified block there
    // conflicts with one committed here, with two valid certificates from one validator.
    await until(
      'a fork proof in B or C',
      () => [b, c].some((t) => t.snapshot().forkProof !== null),
      10_000,
    );
    const proof = [b, c].map((t) => t.snapshot().forkProof).find((p) => p !== null)!;
    expect(proof.height).toBeGreaterThan(start);
    expect(proof.branches).toHaveLength(2);
    expect(proof.branches[0]!.digest).not.toBe(proof.branches[1]!.digest);
    for (const branch of proof.branches) expect(branch.validSignatures).toBeGreaterThanOrEqual(1);
    expect(proof.doubleSigners).toEqual([a.name]);
  });
});
