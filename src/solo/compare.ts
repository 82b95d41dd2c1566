// Compare: the same network (validators, faults, seed, traffic) run twice, once with flat PBFT and
// once with multi-level trust, for the same stretch of virtual time; the figures side by side.

import type { CostFigures } from '../views/cost.ts';
import { SoloSession, type SoloConfig } from './session.ts';

export interface ComparedRun {
  readonly protocol: SoloConfig['protocol'];
  readonly cost: CostFigures;
  readonly height: number;
  readonly safe: boolean;
  readonly viewChanges: number;
  /** Consensus messages (pre-prepare … new-view) per committed height. */
  readonly consensusPerHeight: number;
  readonly committee: number;
  readonly quarantined: number;
}

export interface Comparison {
  readonly config: SoloConfig;
  readonly virtualMs: number;
  readonly runs: readonly ComparedRun[];
}

/** Longest stretch a comparison runs (virtual ms). */
export const maxCompareMs = 120_000;

/**
 * Runs `config` with flat PBFT and with multi-level trust for `virtualMs` each. Deterministic: the
 * same arguments give the same figures. Throws RangeError on a bad configuration.
 */
export async function compareProtocols(config: SoloConfig, virtualMs: number): Promise<Comparison> {
  if (!Number.isSafeInteger(virtualMs) || virtualMs < 1 || virtualMs > maxCompareMs)
    throw new RangeError(`virtualMs must be an integer from 1 to ${maxCompareMs}`);
  const runs: ComparedRun[] = [];
  for (const protocol of ['pbft', 'mlt'] as const) {
    const session = new SoloSession({ ...config, protocol }, { keepRecent: 0 });
    // A step cap far above what the stretch needs: the run ends by its virtual clock.
    await session.runFor(virtualMs, Number.MAX_SAFE_INTEGER);
    const s = session.summary();
    runs.push({
      protocol,
      cost: session.cost(),
      height: s.height,
      safe: s.safety.agreement && s.safety.invariantViolations.length === 0,
      viewChanges: s.viewChanges,
      consensusPerHeight: s.messages.consensusPerHeight,
      committee: s.tiers.core.length,
      quarantined: s.tiers.quarantined.length,
    });
  }
  return { config, virtualMs, runs };
}
