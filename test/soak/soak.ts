// `npm run soak [-- --seeds N]`: the long version of the simulation properties — every fault mode
// at f Byzantine members for committees of 4, 7, 10 and 13 over many seeds, and the exhaustive
// Twins set (every leader slot, three rounds). Not part of `npm test`; prints each failure with
// the command that reproduces it and exits 1 if any run broke safety or liveness.
import { parseArgs } from 'node:util';
import { faultModes } from '../../src/faults/index.ts';
import { faultsTolerated } from '../../src/protocol/quorum.ts';
import { twinsScenarios } from '../../src/sim/twins.ts';
import { configOf, reproduce, runSim } from '../sim/helpers.ts';
import { exitWhenFlushed } from '../../src/sim/exit.ts';

const { values } = parseArgs({
  options: { seeds: { type: 'string' }, 'skip-twins': { type: 'boolean' } },
});
const seeds = Number(values.seeds ?? 10);
if (!Number.isInteger(seeds) || seeds < 1) {
  process.stderr.write(`soak: --seeds expects a positive integer, got '${values.seeds}'\n`);
  process.exit(2);
}

let runs = 0;
const failures: string[] = [];
for (const n of [4, 7, 10, 13]) {
  for (const fault of faultModes.filter((m) => m !== 'none')) {
    for (let seed = 1; seed <= seeds; seed++) {
      const overrides = {
        validators: n,
        byzantine: faultsTolerated(n),
        fault,
        seed: 7_919 * seed + n,
        blocks: 24,
      };
      const { summary: s } = await runSim(overrides);
      runs++;
      const bad =
        !s.safety.agreement ||
        !s.safety.committeeAgreement ||
        !s.safety.accountability ||
        s.safety.invariantViolations.length > 0 ||
        !s.targetReached ||
        s.transactions.wrongOutcome > 0 ||
        s.transactions.validPending > 0;
      if (bad)
        failures.push(
          `${reproduce(configOf(overrides))}  → ${JSON.stringify({ safety: s.safety, height: s.height, tx: s.transactions })}`,
        );
    }
    process.stdout.write(
      `n=${n} ${fault.padEnd(18)} ${seeds} seeds, failures so far ${failures.length}\n`,
    );
  }
}
if (!values['skip-twins']) {
  const scenarios = twinsScenarios({
    validators: 4,
    rounds: 3,
    roundMs: 1_500,
    firstRoundAtMs: 200,
  });
  for (const sc of scenarios) {
    const { summary: s } = await runSim({
      validators: 4,
      byzantine: 1,
      byzantineValidators: [sc.twinned],
      fault: 'twins',
      seed: 7,
      blocks: 6,
      txPerSecond: 5,
      maxVirtualMs: 20_000,
      network: { partitions: sc.partitions },
    });
    runs++;
    if (!s.safety.agreement || !s.safety.committeeAgreement || !s.safety.accountability)
      failures.push(`twins ${sc.name} → ${JSON.stringify(s.safety)}`);
  }
  process.stdout.write(
    `twins: ${scenarios.length} scenarios, failures so far ${failures.length}\n`,
  );
}
for (const f of failures) process.stdout.write(`FAIL ${f}\n`);
process.stdout.write(`${runs - failures.length} passed, ${failures.length} failed\n`);
exitWhenFlushed(failures.length > 0 ? 1 : 0);
