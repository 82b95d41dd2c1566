// The monitor must be able to see a violation, and a run must be a pure function of its seed.
import { describe, expect, it } from 'vitest';
import { runSim } from './helpers.ts';

describe('the safety monitor', () => {
  it('reports a fork when more than f committee members collude in equivocation', async () => {
    // n = 4 tolerates f = 1; two colluding equivocators can split the honest pair.
    const forks: number[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const { summary } = await runSim({
        validators: 4,
        byzantine: 2,
        fault: 'equivocate',
        seed,
        blocks: 8,
        maxVirtualMs: 20_000,
      });
      forks.push(summary.safety.forks);
      if (summary.safety.forks > 0) expect(summary.safety.agreement).toBe(false);
    }
    expect(
      forks.some((f) => f > 0),
      `forks per seed: ${forks.join(', ')}`,
    ).toBe(true);
  });

  it('reports no fork with exactly f colluding equivocators (same set-up, one fewer)', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const { summary } = await runSim({
        validators: 4,
        byzantine: 1,
        fault: 'equivocate',
        seed,
        blocks: 8,
      });
      expect(summary.safety.forks, `seed ${seed}`).toBe(0);
    }
  });
});

describe('determinism', () => {
  const config = {
    validators: 7,
    byzantine: 2,
    fault: 'equivocate' as const,
    seed: 42,
    blocks: 12,
    network: { loss: 0.05, duplicate: 0.1 },
  };

  it('the same seed gives the same trace, byte for byte', async () => {
    const a = await runSim(config);
    const b = await runSim(config);
    expect(a.summary.traceHash).toBe(b.summary.traceHash);
    const { wallMs: _a, ...restA } = a.summary;
    const { wallMs: _b, ...restB } = b.summary;
    expect(restA).toEqual(restB);
  });

  it('another seed gives another trace', async () => {
    const a = await runSim(config);
    const b = await runSim({ ...config, seed: 43 });
    expect(a.summary.traceHash).not.toBe(b.summary.traceHash);
  });
});
