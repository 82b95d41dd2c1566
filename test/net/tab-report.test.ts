// What a tab reports for benchmarks: its own transactions (submitted, committed once, latency) over
// a window of its clock, and an audit of the chain it holds. One tab that founds a quick room and
// drives the whole city alone.
import { afterAll, describe, expect, it } from 'vitest';
import type { TabValidator } from '../../src/net/tab-validator.ts';
import { openAlone } from './alone.ts';
import { until } from './helpers.ts';

let tab: TabValidator | null = null;
afterAll(() => tab?.stop());

describe("a tab's report of its own transactions", () => {
  it('counts every transaction it submitted once, with its latency, and audits the chain', async () => {
    tab = await openAlone('report-room');
    const t = tab;
    t.start('a-1');
    t.create();
    const before = t.now();
    expect(t.ownTxReport(before).submitted).toBe(0);
    t.setTraffic(true, 50, 4);
    await until('traffic committed', () => t.ownTxReport(before).committed >= 40, 20_000);
    t.setTraffic(false);
    const stopped = t.now();
    await until('everything answered', () => t.ownTxReport(before).pending === 0, 20_000);

    const r = t.ownTxReport(before);
    expect(r.committedTwice).toBe(0);
    expect(r.rejected).toEqual({});
    expect(r.committed).toBe(r.submitted);
    expect(r.latenciesMs).toHaveLength(r.committed);
    expect(r.latenciesMs.every((ms) => ms >= 0 && ms < 20_000)).toBe(true);
    expect(Object.values(r.committedByType).reduce((a, b) => a + b, 0)).toBe(r.committed);
    const host = t.host!;

    // The window: nothing was submitted after traffic stopped, all of it before.
    expect(t.ownTxReport(stopped + 1).submitted).toBe(0);
    expect(t.ownTxReport(before, stopped + 1).submitted).toBe(r.submitted);
    expect(t.ownTxReport(0, before).submitted).toBe(0);

    // Alone in its room, every transaction on its chain is its own.
    const height = host.replica.chain.height;
    const audit = t.chainAudit(0, height)!;
    expect(audit.blocks).toBe(height);
    expect(audit.txs).toBe(r.committed);
    expect(audit.byType).toEqual(r.committedByType);
    expect(audit.duplicateTxs).toBe(0);
    expect(audit.billsPaidTwice).toBe(0);
    expect(t.chainAudit(height, height)!.blocks).toBe(0);
  }, 60_000);
});
