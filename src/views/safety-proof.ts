// The proof behind a red safety badge: two blocks committed at one height, each with a commit
// certificate whose signatures check out, and the validators who signed both (two quorums of one
// committee overlap; past f faults, the overlap can all be Byzantine). Built from committed blocks
// only (a solo run's replicas, or a live tab's own chain and a certificate a peer sent it).

import { verifySync } from '../crypto/verify.ts';
import { publicKeyFromId } from '../crypto/encoding.ts';
import { validatorName } from '../net/names.ts';
import { blockHash, voteSigningBytes } from '../protocol/signing.ts';
import { quorumSize } from '../protocol/quorum.ts';
import type { Block, CommitCertificate, CommittedBlock, Message } from '../protocol/types.ts';

export interface ProofBranch {
  readonly digest: string;
  /** Null when only the certificate is known (a peer sent the next block, not this one). */
  readonly proposer: string | null;
  readonly view: number;
  readonly txCount: number | null;
  /** Validators known to have committed this block. */
  readonly committedBy: readonly string[];
  readonly signers: readonly string[];
  /** Signatures of the certificate that verify (Ed25519, checked here, now). */
  readonly validSignatures: number;
  /** The block hashes to the digest its certificate signs (null: the block is not known). */
  readonly hashMatches: boolean | null;
}

export interface SafetyProof {
  readonly height: number;
  readonly q: number;
  readonly n: number;
  readonly branches: readonly ProofBranch[];
  /** Validators whose signatures are in two certificates: each signed two conflicting commits. */
  readonly doubleSigners: readonly string[];
  /** Ledger invariants found broken (text), if any. */
  readonly brokenInvariants: readonly string[];
}

export interface ProofInput {
  readonly certificate: CommitCertificate;
  readonly block: Block | null;
  readonly committedBy: readonly string[];
}

/**
 * The proof that two or more certificates for one height conflict; null when they all certify the
 * same block, or when one of them does not carry `q` valid signatures of its own (a peer cannot
 * fake a fork with made-up signatures).
 */
export function proofOf(
  chainId: string,
  n: number,
  branches: readonly ProofInput[],
  brokenInvariants: readonly string[] = [],
): SafetyProof | null {
  const byDigest = new Map<string, ProofInput>();
  for (const b of branches) {
    const seen = byDigest.get(b.certificate.digest);
    if (!seen) byDigest.set(b.certificate.digest, b);
    else
      byDigest.set(b.certificate.digest, {
        ...seen,
        block: seen.block ?? b.block,
        committedBy: [...new Set([...seen.committedBy, ...b.committedBy])],
      });
  }
  if (byDigest.size < 2) return null;
  const first = branches[0]!.certificate;
  if (branches.some((b) => b.certificate.height !== first.height)) return null;
  const q = quorumSize(n);
  const out: ProofBranch[] = [];
  for (const { certificate: c, block, committedBy } of byDigest.values()) {
    const signers = new Set<string>();
    for (const s of c.signatures) {
      const key = publicKeyFromId(s.signer);
      if (
        s.kind === 'commit' &&
        key !== null &&
        verifySync(key, voteSigningBytes(chainId, s.kind, c.height, c.view, c.digest), s.sig)
      )
        signers.add(s.signer);
    }
    if (signers.size < q) return null;
    out.push({
      digest: c.digest,
      proposer: block ? validatorName(block.proposer) : null,
      view: c.view,
      txCount: block ? block.txs.length : null,
      committedBy,
      signers: c.signatures.map((s) => validatorName(s.signer)),
      validSignatures: signers.size,
      hashMatches: block ? blockHash(block) === c.digest : null,
    });
  }
  const signerSets = [...byDigest.values()].map(
    (b) => new Set(b.certificate.signatures.map((s) => s.signer)),
  );
  const doubleSigners = [...(signerSets[0] ?? [])].filter((id) =>
    signerSets.slice(1).some((set) => set.has(id)),
  );
  return {
    height: first.height,
    q,
    n,
    branches: out,
    doubleSigners: doubleSigners.map(validatorName),
    brokenInvariants,
  };
}

/**
 * Commit certificates a message carries, with their blocks where it has them: a decided block, a
 * batch of blocks, or the certificate of the height before inside a proposed block.
 */
export function certificatesIn(
  message: Message,
): { certificate: CommitCertificate; block: Block | null }[] {
  switch (message.type) {
    case 'decided':
      return [message.committed];
    case 'block-response':
      return message.blocks.map((b) => ({ certificate: b.certificate, block: b.block }));
    case 'pre-prepare':
    case 'new-view':
      return message.block.lastCommit
        ? [{ certificate: message.block.lastCommit, block: null }]
        : [];
    default:
      return [];
  }
}

/** A committee size, or the size of the committee that decided a given height. */
export type CommitteeSize = number | ((height: number) => number);

/**
 * Watches what peers send for a certificate that conflicts with a block this validator
 * committed: the proof of a fork that a single tab can see. The first proof found is kept.
 */
export class ForkWatch {
  private found: SafetyProof | null = null;
  /**
   * Conflicting certificates checked that proved nothing (bad signatures). Checking costs
   * signature checks on the slow path; past this many, a peer sending made-up ones is ignored.
   */
  private failures = 0;
  static readonly maxFailures = 64;

  constructor(
    private readonly chainId: string,
    private readonly selfName: string,
  ) {}

  get proof(): SafetyProof | null {
    return this.found;
  }

  /**
   * `from`: the peer's validator id; `ours`: our committed blocks (index = height − 1);
   * `committeeSize`: the size of the committee that decided a height (q follows from it).
   */
  observe(
    from: string,
    message: Message,
    ours: readonly CommittedBlock[],
    committeeSize: CommitteeSize,
  ): SafetyProof | null {
    for (const theirs of certificatesIn(message))
      this.compare(from, theirs.certificate, theirs.block, ours, committeeSize);
    return this.found;
  }

  /** The same for one certificate (and its block, when known) that `from` holds. */
  compare(
    from: string,
    certificate: CommitCertificate,
    block: Block | null,
    ours: readonly CommittedBlock[],
    committeeSize: CommitteeSize,
  ): SafetyProof | null {
    if (this.found || this.failures >= ForkWatch.maxFailures) return this.found;
    const mine = ours[certificate.height - 1];
    if (!mine || mine.certificate.digest === certificate.digest) return null;
    const n = typeof committeeSize === 'number' ? committeeSize : committeeSize(certificate.height);
    const proof = proofOf(this.chainId, n, [
      { certificate: mine.certificate, block: mine.block, committedBy: [this.selfName] },
      { certificate, block, committedBy: [`${validatorName(from)} (sent it)`] },
    ]);
    if (proof) return (this.found = proof);
    this.failures++;
    return null;
  }
}
