// Configuration of one simulated run. A run is a pure function of this object (seed included).

import {
  defaultProtocolConfig,
  type ProtocolConfig,
  type ProtocolMode,
} from '../protocol/types.ts';
import { faultModes, type FaultMode } from '../faults/index.ts';

export interface Partition {
  /** Groups of validator indices (0-based); messages between groups are lost while it lasts. */
  readonly groups: readonly (readonly number[])[];
  readonly startMs: number;
  readonly endMs: number;
  /** Groups name network endpoints instead of validators (Twins: a twin is endpoint N, N+1, …). */
  readonly byEndpoint?: boolean;
}

export interface Restart {
  readonly validator: number;
  readonly crashAtMs: number;
  readonly restartAtMs: number;
  /** Restart with the saved state (chain, votes) or from genesis (amnesia). */
  readonly keepState: boolean;
}

export interface NetworkConfig {
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
  /** Probability that a message is lost (0–0.3), until GST if `gstMs` is set. */
  readonly loss: number;
  /** Probability that a message is delivered twice (0–0.5). */
  readonly duplicate: number;
  /** Global stabilisation time: before it, loss applies and latency may be up to `preGstMaxLatencyMs`. */
  readonly gstMs: number;
  readonly preGstMaxLatencyMs: number;
  readonly partitions: readonly Partition[];
}

export interface SimConfig {
  readonly protocol: ProtocolMode;
  readonly validators: number;
  readonly byzantine: number;
  readonly fault: FaultMode;
  /** Which validators are Byzantine (indices); chosen by the seed when absent. */
  readonly byzantineValidators?: readonly number[];
  readonly seed: number;
  /** Target: every honest validator commits this many heights. */
  readonly blocks: number;
  /** Virtual-time limit; reaching it first is how a liveness failure shows. */
  readonly maxVirtualMs: number;
  /** Honest newcomers that join (validator-join) after the start. */
  readonly joiners: number;
  /** Honest genesis validators (the last ones) that send validator-leave after the start. */
  readonly leavers: number;
  readonly households: number;
  /** Transactions per virtual second from the city workload (0 = quiet: empty blocks only). */
  readonly txPerSecond: number;
  /** The workload stops submitting at this virtual time (so the mempool can drain). */
  readonly trafficUntilMs: number;
  readonly invalidShare: number;
  readonly network: NetworkConfig;
  readonly restarts: readonly Restart[];
  readonly protocolOverrides: Partial<ProtocolConfig>;
  /** One verification cache for all replicas (allowed in one process; stated in the output). */
  readonly sharedVerificationCache: boolean;
  /** Keep every event in memory (for replay views); the trace hash is computed either way. */
  readonly keepTrace: boolean;
}

export const defaultNetwork: NetworkConfig = {
  latencyMinMs: 5,
  latencyMaxMs: 40,
  loss: 0,
  duplicate: 0,
  gstMs: 0,
  preGstMaxLatencyMs: 400,
  partitions: [],
};

export const defaultSimConfig: SimConfig = {
  protocol: 'mlt',
  validators: 4,
  byzantine: 0,
  fault: 'none',
  seed: 1,
  blocks: 20,
  maxVirtualMs: 300_000,
  joiners: 0,
  leavers: 0,
  households: 12,
  txPerSecond: 20,
  trafficUntilMs: Number.MAX_SAFE_INTEGER,
  invalidShare: 0.1,
  network: defaultNetwork,
  restarts: [],
  protocolOverrides: {},
  sharedVerificationCache: true,
  keepTrace: false,
};

export function protocolConfigOf(config: SimConfig): ProtocolConfig {
  return { ...defaultProtocolConfig, ...config.protocolOverrides, mode: config.protocol };
}

/** Every reason `config` cannot run, in words (empty when it can). */
export function configErrors(config: SimConfig): string[] {
  const errors: string[] = [];
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(v) || v < min || v > max)
      errors.push(`${name} must be an integer from ${min} to ${max}, got ${v}`);
  };
  int('--validators', config.validators, 1, 2_000);
  int('--byzantine', config.byzantine, 0, 2_000);
  if (config.byzantine > config.validators)
    errors.push(`--byzantine ${config.byzantine} exceeds --validators ${config.validators}`);
  if (config.byzantineValidators) {
    const b = config.byzantineValidators;
    if (
      b.length !== config.byzantine ||
      new Set(b).size !== b.length ||
      b.some((i) => !Number.isInteger(i) || i < 0 || i >= config.validators)
    ) {
      errors.push('byzantineValidators must name --byzantine distinct validator indices');
    }
  }
  if (!faultModes.includes(config.fault))
    errors.push(`unknown fault '${config.fault}' (one of: ${faultModes.join(', ')})`);
  if (config.fault === 'none' && config.byzantine > 0)
    errors.push('--byzantine needs a --fault other than none');
  if (config.protocol !== 'mlt' && config.protocol !== 'pbft')
    errors.push(`unknown protocol '${String(config.protocol)}' (mlt or pbft)`);
  int('--seed', config.seed, 0, 0x7fffffff);
  int('--blocks', config.blocks, 1, 1_000_000);
  int('--max-time', config.maxVirtualMs, 1);
  int('--joiners', config.joiners, 0, 1_000);
  int('--leavers', config.leavers, 0, Math.max(0, config.validators - 1));
  int('--households', config.households, 1, 10_000);
  if (!(config.txPerSecond >= 0 && config.txPerSecond <= 100_000))
    errors.push(`--tx-rate must be from 0 to 100000, got ${config.txPerSecond}`);
  if (!(config.invalidShare >= 0 && config.invalidShare <= 1))
    errors.push(`--invalid-share must be from 0 to 1, got ${config.invalidShare}`);
  const n = config.network;
  if (!(n.loss >= 0 && n.loss <= 0.3)) errors.push(`--loss must be from 0 to 0.3, got ${n.loss}`);
  if (!(n.duplicate >= 0 && n.duplicate <= 0.5))
    errors.push(`--duplicate must be from 0 to 0.5, got ${n.duplicate}`);
  if (!(n.latencyMinMs >= 0 && n.latencyMaxMs >= n.latencyMinMs))
    errors.push('latency range must satisfy 0 ≤ min ≤ max');
  for (const p of n.partitions) {
    if (!(p.endMs > p.startMs && p.startMs >= 0))
      errors.push('a partition must end after it starts');
    const limit = config.validators + (p.byEndpoint ? config.byzantine : 0);
    for (const g of p.groups)
      for (const i of g)
        if (!Number.isInteger(i) || i < 0 || i >= limit)
          errors.push(`partition names validator ${i}, but there are ${config.validators}`);
  }
  for (const r of config.restarts) {
    if (!Number.isInteger(r.validator) || r.validator < 0 || r.validator >= config.validators)
      errors.push(`restart names validator ${r.validator}, but there are ${config.validators}`);
    if (!(r.restartAtMs > r.crashAtMs && r.crashAtMs >= 0))
      errors.push('a restart must come after its crash');
  }
  return errors;
}
