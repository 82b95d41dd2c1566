// Safety over many seeds, property-based: any seed, any fault mode, up to f Byzantine members.
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { faultsTolerated } from '../../src/protocol/quorum.ts';
import { byzantineModes } from './modes.ts';
import { configOf, reproduce, runSim } from './helpers.ts';

describe('over random seeds', () => {
  it('agreement, committee agreement and the ledger invariants hold for any seed and fault mode', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.constantFrom(...byzantineModes),
        fc.constantFrom(4, 7),
        fc.boolean(),
        async (seed, fault, n, lossy) => {
          const overrides = {
            validators: n,
            byzantine: faultsTolerated(n),
            fault,
            seed,
            blocks: 10,
            network: lossy ? { loss: 0.1, duplicate: 0.1, gstMs: 3_000 } : {},
          };
          const { summary } = await runSim(overrides);
          const how = `${reproduce(configOf(overrides))}${lossy ? ' --loss 0.1 --duplicate 0.1 --gst 3000' : ''}`;
          expect(summary.safety.agreement, how).toBe(true);
          expect(summary.safety.committeeAgreement, how).toBe(true);
          expect(summary.safety.honestConvicted, how).toEqual([]);
          expect(summary.safety.invariantViolations, how).toEqual([]);
          expect(summary.targetReached, how).toBe(true);
          expect(summary.transactions.wrongOutcome, how).toBe(0);
          expect(summary.transactions.validPending, how).toBe(0);
        },
      ),
      { numRuns: 24, seed: 20261203 },
    );
  }, 180_000);
});
