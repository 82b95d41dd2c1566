// The safety properties every run must keep while at most f committee members are Byzantine:
// agreement, identical committees and trust on every honest node, the ledger invariants, and,
// once the workload stopped and the network is stable, every valid transaction committed.
import { describe, expect, it } from 'vitest';
import { byzantineModes } from './modes.ts';
import { configOf, faultsTolerated, reproduce, runSim } from './helpers.ts';

export function safetySuite(sizes: readonly number[]): void {
  for (const n of sizes) {
    const f = faultsTolerated(n);
    describe(`a committee of ${n} with f = ${f} Byzantine members`, () => {
      byzantineModes.forEach((fault, i) => {
        it(`keeps agreement, the ledger invariants and liveness under '${fault}'`, async () => {
          const overrides = {
            validators: n,
            byzantine: f,
            fault,
            seed: 1_000 * n + i,
            blocks: n >= 10 ? 12 : 16,
          };
          const { summary } = await runSim(overrides);
          const how = reproduce(configOf(overrides));
          expect(summary.safety.agreement, how).toBe(true);
          expect(summary.safety.committeeAgreement, how).toBe(true);
          expect(summary.safety.validity, how).toBe(true);
          expect(summary.safety.honestConvicted, how).toEqual([]);
          expect(summary.safety.invariantViolations, how).toEqual([]);
          expect(summary.targetReached, how).toBe(true);
          expect(summary.transactions.wrongOutcome, how).toBe(0);
          expect(summary.transactions.validPending, how).toBe(0);
          expect(summary.transactions.committed, how).toBeGreaterThan(0);
        });
      });
    });
  }
}
