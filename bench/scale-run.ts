// One run of section 3 (scale), in a process of its own so that its peak memory is its own:
// `tsx bench/scale-run.ts '{"protocol":"pbft","validators":64,"heights":100,"budgetMs":60000,
// "minHeights":5,"hardLimitMs":150000}'`.
// Progress goes to stderr as lines; the result is one JSON line on stdout (ScaleRunResult).
//
// One process holds every replica, so the replicas share one verification cache (the simulator's
// default): a signature that 127 replicas receive is verified once. Every replica still runs its
// own protocol logic, ledger and block validation.

import { defaultSimConfig, type SimConfig } from '../src/sim/config.ts';
import { Simulation } from '../src/sim/simulator.ts';
import type { MessageCategory } from '../src/protocol/types.ts';
import { startProfile, type Breakdown } from './profile.ts';

export interface ScaleRunSpec {
  readonly protocol: 'mlt' | 'pbft';
  readonly validators: number;
  readonly heights: number;
  /**
   * Wall-time budget, setup included: past it the run stops once it has `minHeights` heights
   * (enough to measure its pace), and at `hardLimitMs` in any case.
   */
  readonly budgetMs: number;
  readonly minHeights: number;
  readonly hardLimitMs: number;
}

export interface ScaleRunResult {
  readonly spec: ScaleRunSpec;
  /** Lowest committed height among the validators when the run stopped. */
  readonly heights: number;
  readonly targetReached: boolean;
  readonly committee: number;
  /** Building the city and every replica. */
  readonly setupMs: number;
  /** Running the heights (the step loop). */
  readonly runMs: number;
  /** Everything: setup, run, and the end-of-run ledger check of every replica. */
  readonly wallMs: number;
  /** Messages between validators about heights 1…`heights`, by category (sent copies). */
  readonly messages: Record<Exclude<MessageCategory, 'client'>, number>;
  readonly viewChanges: number;
  readonly verified: number;
  readonly cacheHits: number;
  readonly safe: boolean;
  readonly maxRssBytes: number;
  readonly breakdown: Breakdown;
}

async function main(spec: ScaleRunSpec): Promise<ScaleRunResult> {
  const config: SimConfig = {
    ...defaultSimConfig,
    protocol: spec.protocol,
    validators: spec.validators,
    blocks: spec.heights,
    sharedVerificationCache: true,
  };
  const sentAbout = new Map<number, Record<Exclude<MessageCategory, 'client'>, number>>();
  const profiler = await startProfile();
  const start = performance.now();
  const sim = new Simulation(config, {
    onMessage: (m) => {
      if (m.kind !== 'send' || m.category === 'client' || m.height === null) return;
      let counts = sentAbout.get(m.height);
      if (counts === undefined) {
        counts = { consensus: 0, dissemination: 0, attestation: 0, sync: 0 };
        sentAbout.set(m.height, counts);
      }
      counts[m.category]++;
    },
  });
  const setupMs = performance.now() - start;
  const label = `${spec.protocol} ${spec.validators}`;
  process.stderr.write(`${label}: replicas built in ${(setupMs / 1000).toFixed(1)} s\n`);

  sim.begin();
  let lastReport = performance.now();
  let steps = 0;
  while (await sim.stepOnce()) {
    // Checking the clock on every step costs more than the step itself in small networks.
    if (++steps % 256 !== 0) continue;
    const now = performance.now();
    const elapsed = now - start;
    if (elapsed >= spec.hardLimitMs) break;
    if (elapsed >= spec.budgetMs && sim.minHonestHeight() >= spec.minHeights) break;
    if (now - lastReport >= 5_000) {
      lastReport = now;
      process.stderr.write(
        `${label}: height ${sim.minHonestHeight()}/${spec.heights} after ${((now - start) / 1000).toFixed(0)} s\n`,
      );
    }
  }
  const runMs = performance.now() - start - setupMs;
  const summary = sim.finish(runMs);
  const wallMs = performance.now() - start;
  const breakdown = await profiler.stop();
  const heights = summary.height;
  const messages = { consensus: 0, dissemination: 0, attestation: 0, sync: 0 };
  for (const [height, counts] of sentAbout) {
    if (height > heights) continue; // the height in progress when the run stopped
    for (const category of Object.keys(messages) as (keyof typeof messages)[])
      messages[category] += counts[category];
  }
  return {
    spec,
    heights,
    targetReached: summary.targetReached,
    committee: summary.tiers.core.length,
    setupMs,
    runMs,
    wallMs,
    messages,
    viewChanges: summary.viewChanges,
    verified: summary.verification.verified,
    cacheHits: summary.verification.cacheHits,
    safe:
      summary.safety.agreement &&
      summary.safety.validity &&
      summary.safety.invariantViolations.length === 0,
    // resourceUsage reports kilobytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    breakdown,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ScaleRunSpec;
main(spec).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
