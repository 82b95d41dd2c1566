// Shared set-up for simulation tests: a small, quick default run, and a message that names the
// seed so that any failure can be reproduced with `npm run sim`.
import { defaultNetwork, defaultSimConfig, type SimConfig } from '../../src/sim/config.ts';
import { Simulation, type SimSummary } from '../../src/sim/simulator.ts';
import { faultsTolerated } from '../../src/protocol/quorum.ts';

export type Overrides = Partial<Omit<SimConfig, 'network'>> & {
  network?: Partial<SimConfig['network']>;
};

export function configOf(overrides: Overrides): SimConfig {
  return {
    ...defaultSimConfig,
    blocks: 16,
    txPerSecond: 10,
    trafficUntilMs: 3_000,
    maxVirtualMs: 120_000,
    ...overrides,
    network: { ...defaultNetwork, ...overrides.network },
  };
}

export async function runSim(
  overrides: Overrides,
): Promise<{ summary: SimSummary; sim: Simulation }> {
  const sim = new Simulation(configOf(overrides));
  const summary = await sim.run();
  return { summary, sim };
}

/** How to reproduce a run from the command line. */
export function reproduce(c: SimConfig): string {
  return `npm run sim -- --validators ${c.validators} --byzantine ${c.byzantine} --fault ${c.fault} --protocol ${c.protocol} --seed ${c.seed} --blocks ${c.blocks} --tx-rate ${c.txPerSecond} --traffic-until ${c.trafficUntilMs}`;
}

export { faultsTolerated };
