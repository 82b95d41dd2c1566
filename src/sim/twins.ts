// Twins scenarios (Bano et al., OPODIS 2021), generated systematically rather than sampled: a
// committee of four where one validator runs twice with the same key (two honest copies that see
// different parts of the network), placed at each leader slot, under every partition that
// separates the twins, arranged over R rounds in every order. Safety must hold in all of them.

import type { Partition } from './config.ts';

export interface TwinsScenario {
  readonly name: string;
  /** The validator that has a twin. */
  readonly twinned: number;
  readonly partitions: readonly Partition[];
}

export interface TwinsOptions {
  readonly validators: number;
  readonly rounds: number;
  readonly roundMs: number;
  readonly firstRoundAtMs: number;
  /** Which validators to twin (leader slots); default all. */
  readonly twinned?: readonly number[];
}

/**
 * Every way to split the endpoints so that the twins sit on different sides (the twin is endpoint
 * `validators`), plus "no partition". Splits are into two groups; the twinned validator's side is
 * named by which honest validators join it.
 */
export function twinsPartitions(
  validators: number,
  twinned: number,
): (readonly (readonly number[])[] | null)[] {
  const honest = [...Array(validators).keys()].filter((v) => v !== twinned);
  const out: (readonly (readonly number[])[] | null)[] = [null];
  for (let mask = 0; mask < 1 << honest.length; mask++) {
    const withOriginal = [twinned, ...honest.filter((_, i) => mask & (1 << i))];
    const withTwin = [validators, ...honest.filter((_, i) => !(mask & (1 << i)))];
    out.push([withOriginal, withTwin]);
  }
  return out;
}

export function twinsScenarios(options: TwinsOptions): TwinsScenario[] {
  const { validators, rounds, roundMs, firstRoundAtMs } = options;
  const scenarios: TwinsScenario[] = [];
  for (const twinned of options.twinned ?? [...Array(validators).keys()]) {
    const choices = twinsPartitions(validators, twinned);
    const total = choices.length ** rounds;
    for (let k = 0; k < total; k++) {
      const partitions: Partition[] = [];
      const labels: string[] = [];
      let rest = k;
      for (let r = 0; r < rounds; r++) {
        const choice = rest % choices.length;
        rest = Math.floor(rest / choices.length);
        const groups = choices[choice]!;
        labels.push(groups ? groups.map((g) => g.join(',')).join('|') : 'all');
        if (groups)
          partitions.push({
            groups,
            startMs: firstRoundAtMs + r * roundMs,
            endMs: firstRoundAtMs + (r + 1) * roundMs,
            byEndpoint: true,
          });
      }
      scenarios.push({ name: `twin of ${twinned}: ${labels.join(' then ')}`, twinned, partitions });
    }
  }
  return scenarios;
}
