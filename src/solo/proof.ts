// The proof behind a red safety badge in solo mode: the blocks honest validators of the run
// committed at one height, with their certificates (see src/views/safety-proof.ts).

import { validatorName } from '../net/names.ts';
import type { Simulation } from '../sim/simulator.ts';
import { proofOf, type ProofInput, type SafetyProof } from '../views/safety-proof.ts';

export type { SafetyProof } from '../views/safety-proof.ts';

/**
 * The proof of a safety violation at `height` in `sim`, or null when no two honest validators
 * committed different blocks there.
 */
export function safetyProof(sim: Simulation, height: number): SafetyProof | null {
  const branches: ProofInput[] = [];
  let n = 0;
  for (const e of sim.endpoints) {
    if (e.byzantine) continue;
    const replica = e.node.replica;
    const cb = replica.blocks[height - 1];
    if (!cb) continue;
    branches.push({
      certificate: cb.certificate,
      block: cb.block,
      committedBy: [validatorName(replica.id)],
    });
    n = Math.max(n, replica.chain.committee.length);
  }
  if (branches.length < 2) return null;
  const chainId = sim.endpoints[0]!.node.replica.chain.chainId;
  return proofOf(chainId, n, branches, sim.summaryNow().safety.invariantViolations);
}
