// The proof behind a red safety badge: two blocks committed at one height by honest validators,
// each with a commit certificate whose signatures check out, and the validators who signed both
// (two quorums of one committee overlap; past f faults, the overlap can all be Byzantine).

import { verifySync } from '../crypto/verify.ts';
import { publicKeyFromId } from '../crypto/encoding.ts';
import { validatorName } from '../net/names.ts';
import { blockHash, voteSigningBytes } from '../protocol/signing.ts';
import { quorumSize } from '../protocol/quorum.ts';
import type { CommittedBlock } from '../protocol/types.ts';
import type { Simulation } from '../sim/simulator.ts';

export interface ProofBranch {
  readonly digest: string;
  readonly proposer: string;
  readonly view: number;
  readonly txCount: number;
  /** Honest validators that committed this block. */
  readonly committedBy: readonly string[];
  readonly signers: readonly string[];
  /** Signatures of the certificate that verify (Ed25519, checked here, now). */
  readonly validSignatures: number;
  /** The block hashes to the digest its certificate signs. */
  readonly hashMatches: boolean;
}

export interface SafetyProof {
  readonly height: number;
  readonly q: number;
  readonly n: number;
  readonly branches: readonly ProofBranch[];
  /** Validators whose signatures are in two certificates: each signed two conflicting commits. */
  readonly doubleSigners: readonly string[];
  /** Ledger invariants the run's monitor found broken (text), if any. */
  readonly brokenInvariants: readonly string[];
}

/**
 * The proof of a safety violation at `height` in `sim`, or null when no two honest validators
 * committed different blocks there.
 */
export function safetyProof(sim: Simulation, height: number): SafetyProof | null {
  const byDigest = new Map<string, { committed: CommittedBlock; by: string[] }>();
  let committee = 0;
  for (const e of sim.endpoints) {
    if (e.byzantine) continue;
    const replica = e.node.replica;
    const cb = replica.blocks[height - 1];
    if (!cb) continue;
    const entry = byDigest.get(cb.certificate.digest) ?? { committed: cb, by: [] };
    entry.by.push(validatorName(replica.id));
    byDigest.set(cb.certificate.digest, entry);
    committee = Math.max(committee, cb.certificate.signatures.length);
  }
  if (byDigest.size < 2) return null;
  const chainId = sim.endpoints[0]!.node.replica.chain.chainId;
  const n = sim.endpoints[0]!.node.replica.chain.committee.length || committee;
  const signerSets = [...byDigest.values()].map(
    (b) => new Set(b.committed.certificate.signatures.map((s) => s.signer)),
  );
  const doubleSigners = [...(signerSets[0] ?? [])].filter((id) =>
    signerSets.slice(1).some((set) => set.has(id)),
  );
  return {
    height,
    q: quorumSize(n),
    n,
    branches: [...byDigest.values()].map(({ committed, by }) => {
      const c = committed.certificate;
      const valid = c.signatures.filter((s) => {
        const key = publicKeyFromId(s.signer);
        return (
          key !== null &&
          verifySync(key, voteSigningBytes(chainId, s.kind, c.height, c.view, c.digest), s.sig)
        );
      }).length;
      return {
        digest: c.digest,
        proposer: validatorName(committed.block.proposer),
        view: c.view,
        txCount: committed.block.txs.length,
        committedBy: by,
        signers: c.signatures.map((s) => validatorName(s.signer)),
        validSignatures: valid,
        hashMatches: blockHash(committed.block) === c.digest,
      };
    }),
    doubleSigners: doubleSigners.map(validatorName),
    brokenInvariants: sim.summaryNow().safety.invariantViolations,
  };
}
