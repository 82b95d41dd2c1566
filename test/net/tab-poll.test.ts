// The status page's poll of its validator worker: the snapshot and the observations in one call,
// and the ledger view (most of a snapshot's bytes) only when it is not the version the page holds.
// One tab that founds a quick room, polled the way LiveRoom polls it.
import { afterAll, describe, expect, it } from 'vitest';
import type { LedgerCopy, TabValidator } from '../../src/net/tab-validator.ts';
import { openAlone } from './alone.ts';
import { until } from './helpers.ts';

let tab: TabValidator | null = null;
afterAll(() => tab?.stop());

describe("the status page's poll", () => {
  it('sends the ledger view once per change, and every change', async () => {
    tab = await openAlone('poll-room');
    const t = tab;
    const height = () => t.host?.replica.chain.height ?? 0;

    // Before the genesis: no ledger, which is version 0, sent to a page that holds nothing.
    const first = t.poll(null);
    expect(first.ledger).toEqual({ version: 0, view: null });
    expect(t.poll(0).ledger).toBeNull();

    t.start('a-1');
    t.create();
    t.setTraffic(true, 20);
    await until('a few heights', () => height() >= 3, 10_000);

    // Polled the way the page does: it says which version it holds, and keeps it until a new
    // one comes. Whenever the chain moves the page gets the new ledger; the ledger it holds is
    // always the one a full snapshot has; in between, nothing is sent again.
    let held: LedgerCopy | null = null;
    const heightsSeen = new Set<number>();
    let sent = 0;
    let notSent = 0;
    const start = height();
    while (height() < start + 6) {
      const poll = t.poll(held?.version ?? null);
      const full = t.snapshot();
      if (poll.ledger) {
        if (held) expect(poll.ledger.version).toBeGreaterThan(held.version);
        expect(poll.ledger.view).not.toBe(held?.view);
        held = poll.ledger;
        sent++;
      } else notSent++;
      expect(held).not.toBeNull();
      // What the page shows is the full snapshot, exactly.
      expect({ ...poll.snapshot, ledger: held!.view }).toEqual(full);
      expect(held!.view!.height).toBe(full.height);
      heightsSeen.add(full.height);
      // Asked again at once, the chain has not moved: nothing is sent.
      expect(t.poll(held!.version).ledger).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // One ledger per height the page saw (each height is a change), none while it stood still.
    expect(sent).toBe(heightsSeen.size);
    expect(notSent).toBeGreaterThan(0);

    // A page that holds an older version (or none: a reload) gets the current one.
    const current = t.poll(held!.version).ledger ?? held!;
    expect(current.view).toEqual(t.snapshot().ledger);
    expect(t.poll(current.version - 1).ledger).toEqual(current);
    expect(t.poll(null).ledger).toEqual(current);
    expect(t.poll(current.version).ledger).toBeNull();
  }, 30_000);

  it('hands over the observations since the last poll, once', async () => {
    const t = tab!;
    const h = t.host!.replica.chain.height;
    await until('two more heights', () => t.host!.replica.chain.height >= h + 2, 10_000);
    const poll = t.poll(null);
    expect(poll.observations.some((o) => o.kind === 'event')).toBe(true);
    expect(t.drainObservations()).toEqual([]);
  });
});
