// Level 2 (DESIGN.md §4.3): a high-value payment is committed with its block and settled once a
// quorum of that height's Candidates has attested it in later blocks.
import { describe, expect, it } from 'vitest';
import { runSim } from './helpers.ts';

describe('level-2 settlement of high-value payments', () => {
  it('waits for a quorum of Candidate attestations, then settles every committed one', async () => {
    const { sim, summary } = await runSim({
      validators: 10,
      seed: 1,
      blocks: 40,
      txPerSecond: 40,
      trafficUntilMs: 6_000,
      protocolOverrides: { maxCore: 4 },
      keepTrace: true,
    });
    expect(summary.tiers.candidate.length).toBeGreaterThan(0);
    expect(summary.payments.highValueCommitted).toBeGreaterThan(0);
    expect(summary.payments.highValueSettled).toBe(summary.payments.highValueCommitted);
    // Settlement comes strictly after the commit, at a later height that carried the attestations.
    const settled = sim.recordedEvents
      .filter((e) => e.event.type === 'payment-settled')
      .map((e) => e.event);
    for (const e of settled)
      if (e.type === 'payment-settled') expect(e.settledAtHeight).toBeGreaterThan(e.height);
  });

  it('settles at commit when the height has no Candidates', async () => {
    const { sim, summary } = await runSim({
      validators: 4,
      seed: 1,
      blocks: 40,
      txPerSecond: 40,
      trafficUntilMs: 6_000,
      keepTrace: true,
    });
    expect(summary.tiers.candidate).toHaveLength(0);
    expect(summary.payments.highValueCommitted).toBeGreaterThan(0);
    expect(summary.payments.highValueSettled).toBe(summary.payments.highValueCommitted);
    for (const { event } of sim.recordedEvents)
      if (event.type === 'payment-settled') expect(event.settledAtHeight).toBe(event.height);
  });
});

describe('the validator registry', () => {
  it('a validator that leaves drops out of the committee at the next epoch, and the rest go on', async () => {
    const { summary, sim } = await runSim({
      validators: 7,
      leavers: 1,
      seed: 3,
      blocks: 32,
      keepTrace: true,
    });
    expect(summary.safety.agreement).toBe(true);
    expect(summary.targetReached).toBe(true);
    const leaver = sim.city.validators[6]!.id;
    const all = [
      ...summary.tiers.core,
      ...summary.tiers.candidate,
      ...summary.tiers.observer,
      ...summary.tiers.quarantined,
    ];
    expect(all).not.toContain(leaver);
    expect(summary.tiers.core).toHaveLength(6);
    const left = sim.recordedEvents.find(
      (e) => e.event.type === 'tier-change' && e.event.id === leaver && e.event.to === null,
    );
    expect(left?.event).toMatchObject({ reason: 'left' });
  });
});
