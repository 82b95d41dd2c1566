// Twins: one validator of four runs twice with one key (f = 1). Systematic scenarios over
// partitions × leader slots × rounds; no honest pair may ever commit different blocks.
import { describe, expect, it } from 'vitest';
import { twinsPartitions, twinsScenarios } from '../../src/sim/twins.ts';
import { runSim } from './helpers.ts';

describe('Twins scenario generation', () => {
  it('separates the twins in every partition and enumerates every arrangement over the rounds', () => {
    const choices = twinsPartitions(4, 2);
    expect(choices).toHaveLength(9); // no partition + 2^3 ways to place the three honest validators
    for (const groups of choices.slice(1)) {
      expect(groups!.findIndex((g) => g.includes(2))).not.toBe(
        groups!.findIndex((g) => g.includes(4)),
      );
      expect(groups!.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    }
    const scenarios = twinsScenarios({
      validators: 4,
      rounds: 2,
      roundMs: 1_500,
      firstRoundAtMs: 200,
      twinned: [0, 1],
    });
    expect(scenarios).toHaveLength(2 * 81);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  });
});

describe('Twins: no safety violation', () => {
  // Two leader slots (the twin is the first primary, or not) × 9 partitions × 2 rounds. The
  // exhaustive set (every slot, three rounds) runs in `npm run soak`.
  const scenarios = twinsScenarios({
    validators: 4,
    rounds: 2,
    roundMs: 1_500,
    firstRoundAtMs: 200,
    twinned: [0, 1],
  });
  it(`holds agreement in all ${scenarios.length} scenarios`, async () => {
    let live = 0;
    for (const scenario of scenarios) {
      const { summary } = await runSim({
        validators: 4,
        byzantine: 1,
        byzantineValidators: [scenario.twinned],
        fault: 'twins',
        seed: 7,
        blocks: 6,
        txPerSecond: 5,
        maxVirtualMs: 15_000,
        network: { partitions: scenario.partitions },
      });
      expect(summary.safety.agreement, scenario.name).toBe(true);
      expect(summary.safety.committeeAgreement, scenario.name).toBe(true);
      expect(summary.safety.honestConvicted, scenario.name).toEqual([]);
      expect(summary.safety.invariantViolations, scenario.name).toEqual([]);
      if (summary.targetReached) live++;
    }
    // Once the partitions heal, the network must make progress again in (nearly) every scenario.
    expect(live).toBeGreaterThanOrEqual(Math.floor(scenarios.length * 0.9));
  }, 240_000);
});
