// What exactly is signed, for every signed piece of the protocol, with domain separation so that
// a signature made for one purpose can never be replayed as another. Also enumerates every
// signature a message carries, so a host can verify them all (natively, in a batch) before the
// pure replica looks at the message.

import { encodeCanonical, hashOf, publicKeyFromId, type Canonical } from '../crypto/encoding.ts';
import { sign } from '../crypto/keys.ts';
import { txSigningBytes } from '../ledger/ledger.ts';
import type { SignedTx } from '../ledger/types.ts';
import type {
  Attestation,
  Block,
  CertSignature,
  CommitCertificate,
  Digest,
  Evidence,
  Message,
  PreparedCertificate,
  ValidatorId,
  ViewChange,
  Vote,
  VoteKind,
} from './types.ts';

const domain = 'tierbft/v1';

export function voteSigningBytes(
  chainId: string,
  kind: VoteKind,
  height: number,
  view: number,
  digest: Digest,
): Uint8Array {
  return encodeCanonical([domain, chainId, kind, height, view, digest]);
}

export function viewChangeSigningBytes(
  chainId: string,
  height: number,
  view: number,
  prepared: { view: number; digest: Digest } | null,
): Uint8Array {
  return encodeCanonical([
    domain,
    chainId,
    'view-change',
    height,
    view,
    prepared ? [prepared.view, prepared.digest] : null,
  ]);
}

export function attestationSigningBytes(
  chainId: string,
  height: number,
  blockHash: Digest,
  resultsHash: Digest,
): Uint8Array {
  return encodeCanonical([domain, chainId, 'attestation', height, blockHash, resultsHash]);
}

export function signVote(
  chainId: string,
  secretKey: Uint8Array,
  signer: ValidatorId,
  kind: VoteKind,
  height: number,
  view: number,
  digest: Digest,
): Vote {
  return {
    kind,
    height,
    view,
    digest,
    signer,
    sig: sign(secretKey, voteSigningBytes(chainId, kind, height, view, digest)),
  };
}

export function signViewChange(
  chainId: string,
  secretKey: Uint8Array,
  signer: ValidatorId,
  height: number,
  view: number,
  prepared: PreparedCertificate | null,
  accepted: Vote | null,
): ViewChange {
  const sig = sign(secretKey, viewChangeSigningBytes(chainId, height, view, prepared));
  return { height, view, prepared, accepted, signer, sig };
}

export function signAttestation(
  chainId: string,
  secretKey: Uint8Array,
  signer: ValidatorId,
  height: number,
  blockHash: Digest,
  resultsHash: Digest,
): Attestation {
  return {
    height,
    blockHash,
    resultsHash,
    signer,
    sig: sign(secretKey, attestationSigningBytes(chainId, height, blockHash, resultsHash)),
  };
}

// ── canonical forms and hashes ──────────────────────────────────────────────────────────────

export function txToCanonical(tx: SignedTx): Canonical {
  return {
    chainId: tx.chainId,
    signer: tx.signer,
    body: tx.body as unknown as Canonical,
    sig: tx.sig,
  };
}

function certSignaturesToCanonical(signatures: readonly CertSignature[]): Canonical {
  return signatures.map((s) => [s.signer, s.kind, s.sig]);
}

export function commitCertificateToCanonical(c: CommitCertificate): Canonical {
  return {
    height: c.height,
    view: c.view,
    digest: c.digest,
    signatures: certSignaturesToCanonical(c.signatures),
  };
}

export function voteToCanonical(v: Vote): Canonical {
  return [v.kind, v.height, v.view, v.digest, v.signer, v.sig];
}

export function attestationToCanonical(a: Attestation): Canonical {
  return [a.height, a.blockHash, a.resultsHash, a.signer, a.sig];
}

export function evidenceToCanonical(e: Evidence): Canonical {
  switch (e.type) {
    case 'equivocation':
      return { type: e.type, first: voteToCanonical(e.first), second: voteToCanonical(e.second) };
    case 'invalid-proposal':
      return {
        type: e.type,
        proposal: voteToCanonical(e.proposal),
        block: blockToCanonical(e.block),
      };
  }
}

export function blockToCanonical(b: Block): Canonical {
  return {
    height: b.height,
    prevHash: b.prevHash,
    proposer: b.proposer,
    txs: b.txs.map(txToCanonical),
    lastCommit: b.lastCommit ? commitCertificateToCanonical(b.lastCommit) : null,
    attestations: b.attestations.map(attestationToCanonical),
    evidence: b.evidence.map(evidenceToCanonical),
  };
}

const blockHashes = new WeakMap<Block, Digest>();
/** The block's digest: SHA-256 of its canonical encoding (memoised per object; blocks are immutable). */
export function blockHash(block: Block): Digest {
  let h = blockHashes.get(block);
  if (h === undefined) {
    h = hashOf(blockToCanonical(block));
    blockHashes.set(block, h);
  }
  return h;
}

// ── every signature a message carries ───────────────────────────────────────────────────────

export interface SignedItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function pushItem(
  out: SignedItem[],
  signer: string,
  message: Uint8Array,
  signature: Uint8Array,
): void {
  const publicKey = publicKeyFromId(signer);
  if (publicKey) out.push({ publicKey, message, signature });
}

function voteItems(chainId: string, v: Vote, out: SignedItem[]): void {
  pushItem(out, v.signer, voteSigningBytes(chainId, v.kind, v.height, v.view, v.digest), v.sig);
}

function certItems(
  chainId: string,
  c: { height: number; view: number; digest: Digest; signatures: readonly CertSignature[] },
  out: SignedItem[],
): void {
  for (const s of c.signatures)
    pushItem(out, s.signer, voteSigningBytes(chainId, s.kind, c.height, c.view, c.digest), s.sig);
}

function blockItems(chainId: string, b: Block, out: SignedItem[]): void {
  for (const tx of b.txs)
    pushItem(out, tx.signer, txSigningBytes(tx.chainId, tx.signer, tx.body), tx.sig);
  if (b.lastCommit) certItems(chainId, b.lastCommit, out);
  for (const a of b.attestations)
    pushItem(
      out,
      a.signer,
      attestationSigningBytes(chainId, a.height, a.blockHash, a.resultsHash),
      a.sig,
    );
  for (const e of b.evidence) evidenceItems(chainId, e, out);
}

function evidenceItems(chainId: string, e: Evidence, out: SignedItem[]): void {
  if (e.type === 'equivocation') {
    voteItems(chainId, e.first, out);
    voteItems(chainId, e.second, out);
  } else {
    voteItems(chainId, e.proposal, out);
    blockItems(chainId, e.block, out);
  }
}

function viewChangeItems(chainId: string, vc: ViewChange, out: SignedItem[]): void {
  pushItem(
    out,
    vc.signer,
    viewChangeSigningBytes(chainId, vc.height, vc.view, vc.prepared),
    vc.sig,
  );
  if (vc.prepared) {
    certItems(chainId, vc.prepared, out);
    blockItems(chainId, vc.prepared.block, out);
  }
  if (vc.accepted) voteItems(chainId, vc.accepted, out);
}

/**
 * Every (public key, signed bytes, signature) triple inside `message`. A host verifies these
 * (with the native fast path, in parallel) before it hands the message to the replica, whose
 * synchronous checks then hit the cache.
 */
export function signedItemsOf(chainId: string, message: Message): SignedItem[] {
  const out: SignedItem[] = [];
  switch (message.type) {
    case 'pre-prepare':
      voteItems(chainId, message.vote, out);
      blockItems(chainId, message.block, out);
      break;
    case 'prepare':
    case 'commit':
      voteItems(chainId, message.vote, out);
      break;
    case 'view-change':
      viewChangeItems(chainId, message.viewChange, out);
      break;
    case 'new-view':
      for (const vc of message.viewChanges) viewChangeItems(chainId, vc, out);
      voteItems(chainId, message.proposal, out);
      blockItems(chainId, message.block, out);
      break;
    case 'decided':
      blockItems(chainId, message.committed.block, out);
      certItems(chainId, message.committed.certificate, out);
      break;
    case 'block-response':
      for (const c of message.blocks) {
        blockItems(chainId, c.block, out);
        certItems(chainId, c.certificate, out);
      }
      break;
    case 'attestation': {
      const a = message.attestation;
      pushItem(
        out,
        a.signer,
        attestationSigningBytes(chainId, a.height, a.blockHash, a.resultsHash),
        a.sig,
      );
      break;
    }
    case 'evidence':
      evidenceItems(chainId, message.evidence, out);
      break;
    case 'tx':
      pushItem(
        out,
        message.tx.signer,
        txSigningBytes(message.tx.chainId, message.tx.signer, message.tx.body),
        message.tx.sig,
      );
      break;
    case 'block-request':
      break;
  }
  return out;
}
