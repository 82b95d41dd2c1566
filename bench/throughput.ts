// Section 2 of the benchmark: throughput against the crypto limit. Four validators in one process
// (the simulator on its virtual clock), each with its own verification cache, so every replica
// verifies every signature itself, fed city transactions as fast as they commit. What counts is
// real (wall-clock) time: committed transactions per second, and how that compares with the
// least work the validators must do, one native signature check per transaction per validator.

import { defaultSimConfig, type SimConfig } from '../src/sim/config.ts';
import { Simulation } from '../src/sim/simulator.ts';
import { breakdownNotes, clientLabel, startProfile } from './profile.ts';
import { round, type Progress, type Section } from './report.ts';

export interface ThroughputOptions {
  readonly quick: boolean;
  readonly progress: Progress;
  /** Native verifications per second on one core (section 1): the limit to compare against. */
  readonly nativeVerificationsPerSecond: number;
}

/** The goal of issue #5: consensus costs at most 40 % on top of the unavoidable checks. */
const goalRatio = 0.6;

/**
 * The feed. Transactions go in at a fixed virtual rate; the primary proposes as soon as it has
 * work, so every block carries what arrived during the previous height. 400 per virtual second
 * over 100 households is as fast as this city can submit valid transactions: above ~500 the seven
 * providers' nonce chains outrun the mempool's nonce window and valid transactions start to be
 * rejected (the run checks that none was).
 */
export function throughputConfig(quick: boolean): SimConfig {
  return {
    ...defaultSimConfig,
    protocol: 'mlt',
    validators: 4,
    seed: 1,
    blocks: quick ? 20 : 120,
    households: 100,
    txPerSecond: 400,
    invalidShare: 0,
    sharedVerificationCache: false,
  };
}

export async function throughputBench(options: ThroughputOptions): Promise<Section> {
  const { progress, quick } = options;
  const config = throughputConfig(quick);
  const sim = new Simulation(config);
  progress(
    `throughput: ${config.validators} validators, own caches, ${config.txPerSecond} tx per virtual s, until height ${config.blocks} …`,
  );

  const profiler = await startProfile();
  const start = performance.now();
  let lastReport = start;
  sim.begin();
  while (await sim.stepOnce()) {
    const now = performance.now();
    if (now - lastReport >= 5_000) {
      lastReport = now;
      progress(
        `throughput: height ${sim.minHonestHeight()}/${config.blocks} after ${((now - start) / 1000).toFixed(0)} s`,
      );
    }
  }
  const wallMs = performance.now() - start;
  const breakdown = await profiler.stop();
  const s = sim.finish(wallMs);

  const seconds = wallMs / 1000;
  const txPerSecond = s.transactions.committed / seconds;
  const paymentsPerSecond = s.payments.committed / seconds;
  const ratio = (txPerSecond * config.validators) / options.nativeVerificationsPerSecond;
  const clientMs = breakdown.buckets.find((b) => b.label === clientLabel)?.ms ?? 0;
  const validatorSeconds = (wallMs - clientMs) / 1000;
  const validatorRatio =
    ((s.transactions.committed / validatorSeconds) * config.validators) /
    options.nativeVerificationsPerSecond;

  const figures: Section['figures'] = {
    committedTransactionsPerSecond: {
      value: round(txPerSecond, 1),
      unit: 'transactions/s (wall clock)',
      note: 'every committed ledger transaction: bill payments, bills issued, transfers, top-ups',
    },
    committedBillPaymentsPerSecond: {
      value: round(paymentsPerSecond, 1),
      unit: 'pay-bill transactions/s (wall clock)',
    },
    ratioToNativeLimit: {
      value: round(ratio, 3),
      unit: 'transactions/s × validators ÷ native verifications/s',
      goal: `≥ ${goalRatio}`,
      met: ratio >= goalRatio,
    },
    ratioWithoutClientWork: {
      value: round(validatorRatio, 3),
      unit: 'as above, wall time minus the client’s share of the profile',
      note: 'the city workload signs its transactions in the same process; a real client does that on its own device',
    },
    committedTransactions: { value: s.transactions.committed, unit: 'transactions' },
    heights: { value: s.height, unit: 'heights' },
    wallTime: { value: round(seconds, 1), unit: 's' },
    signaturesVerifiedPerTransaction: {
      value: round(s.verification.verified / Math.max(1, s.transactions.committed), 2),
      unit: 'verifications (all replicas) per committed transaction',
      note: `${config.validators} is the floor: one per transaction per validator; votes and certificates add the rest`,
    },
    validRejectedOrPending: {
      value: s.transactions.wrongOutcome + s.transactions.validPending,
      unit: 'valid transactions rejected or still pending at the end',
    },
  };
  const notes = [
    `simulated ${config.validators} validators (multi-level trust, seed ${config.seed}, ${config.households} households), each replica with its own verification cache: every signature is verified by every replica (${s.verification.verified} verifications, ${s.verification.cacheHits} cache hits of a replica's own earlier result)`,
    `${(s.virtualMs / 1000).toFixed(1)} s of virtual time; ${s.transactions.committed} of ${s.transactions.submitted} submitted transactions committed, ${s.transactions.wrongOutcome} valid ones rejected, ${s.transactions.validPending} still in flight when the target height was reached`,
    `limit compared against: ${Math.round(options.nativeVerificationsPerSecond)} native verifications/s on one core (section 1); at that rate the unavoidable checks (${config.validators} per committed transaction) take ${((config.validators * s.transactions.committed) / options.nativeVerificationsPerSecond).toFixed(1)} s of the ${seconds.toFixed(1)} s`,
    `where the wall time goes (sampled CPU profile of the main thread, ${Math.round(breakdown.totalMs)} ms):`,
    ...breakdownNotes(breakdown).map((line) => `  ${line}`),
  ];
  if (!s.safety.agreement || s.safety.invariantViolations.length > 0)
    notes.push('WARNING: the run broke a safety property; the figures above are not meaningful');
  return { figures, notes };
}
