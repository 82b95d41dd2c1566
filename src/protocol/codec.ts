// The wire codec of consensus messages (DESIGN.md §2): every message that crosses the network is
// canonical CBOR of a canonical form `{ type, ...fields }`, and every frame that arrives is decoded
// defensively — size limit first, then strict canonical CBOR, then a schema check of every field
// (exact key sets, lowercase hex ids, 64-byte signatures, integer ranges, array caps, bounded
// nesting). `decodeMessage` never throws: a malformed frame gives `{ ok: false, reason }`, with the
// reason naming the offending field, e.g. "prepare.vote.sig: expected 64 bytes".
//
// The schema check is structural. Whether a signature verifies, a certificate reaches a quorum or a
// block is valid on the chain is for the host's verifier and the replica. The only cross-field
// rules here are the vote kinds each position admits (the replica drops the others anyway) and
// block-request's fromHeight ≤ toHeight.
//
// Canonical forms reuse signing.ts (blocks, votes, attestations, evidence, commit certificates and
// transactions are encoded exactly as they are hashed); the rest (prepared certificates, view
// changes, committed blocks and the message envelope) are defined here.

import { type Canonical, decodeCanonical, encodeCanonical, isHex } from '../crypto/encoding.ts';
import { decodeTx } from '../ledger/ledger.ts';
import type { SignedTx } from '../ledger/types.ts';
import {
  attestationToCanonical,
  blockToCanonical,
  commitCertificateToCanonical,
  evidenceToCanonical,
  txToCanonical,
  voteToCanonical,
} from './signing.ts';
import type {
  Attestation,
  Block,
  CertSignature,
  CommitCertificate,
  CommittedBlock,
  Digest,
  Evidence,
  Message,
  PreparedCertificate,
  ValidatorId,
  ViewChange,
  Vote,
  VoteKind,
} from './types.ts';

// ── limits ──────────────────────────────────────────────────────────────────────────────────

export interface CodecLimits {
  /** Largest frame looked at; bigger ones are dropped before parsing (≤ `maxEncodedBytes`). */
  readonly maxFrameBytes: number;
  readonly maxTxsPerBlock: number;
  /** Signatures in a commit or prepared certificate. */
  readonly maxCertificateSignatures: number;
  readonly maxAttestationsPerBlock: number;
  readonly maxEvidencePerBlock: number;
  /** View-changes carried by a new-view. */
  readonly maxViewChanges: number;
  /** Committed blocks in a block-response. */
  readonly maxBlocksPerResponse: number;
  /**
   * How many invalid-proposal blocks may nest inside each other, counted from a top-level block (or
   * from an evidence message's evidence). 2 means: a block may carry invalid-proposal evidence whose
   * block carries invalid-proposal evidence, and that innermost block carries none.
   */
  readonly maxInvalidProposalDepth: number;
}

/**
 * The default caps sit well above what an honest replica produces with the default protocol
 * config (500 txs, 128 attestations and 16 evidence per block; 32 blocks per catch-up response),
 * so that a room may raise its settings without every peer dropping its blocks.
 */
export const defaultCodecLimits: CodecLimits = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxTxsPerBlock: 2048,
  maxCertificateSignatures: 256,
  maxAttestationsPerBlock: 256,
  maxEvidencePerBlock: 64,
  maxViewChanges: 256,
  maxBlocksPerResponse: 64,
  maxInvalidProposalDepth: 2,
});

export type DecodeMessageResult = { ok: true; message: Message } | { ok: false; reason: string };

// ── encoding ────────────────────────────────────────────────────────────────────────────────

export function preparedCertificateToCanonical(p: PreparedCertificate): Canonical {
  return {
    height: p.height,
    view: p.view,
    digest: p.digest,
    block: blockToCanonical(p.block),
    signatures: p.signatures.map((s) => [s.signer, s.kind, s.sig]),
  };
}

export function viewChangeToCanonical(vc: ViewChange): Canonical {
  return {
    height: vc.height,
    view: vc.view,
    prepared: vc.prepared ? preparedCertificateToCanonical(vc.prepared) : null,
    accepted: vc.accepted ? voteToCanonical(vc.accepted) : null,
    signer: vc.signer,
    sig: vc.sig,
  };
}

export function committedBlockToCanonical(c: CommittedBlock): Canonical {
  return {
    block: blockToCanonical(c.block),
    certificate: commitCertificateToCanonical(c.certificate),
  };
}

/** The canonical form of a message: a map with its `type` and its fields. */
export function messageToCanonical(m: Message): Canonical {
  switch (m.type) {
    case 'pre-prepare':
      return { type: m.type, vote: voteToCanonical(m.vote), block: blockToCanonical(m.block) };
    case 'prepare':
    case 'commit':
      return { type: m.type, vote: voteToCanonical(m.vote) };
    case 'view-change':
      return { type: m.type, viewChange: viewChangeToCanonical(m.viewChange) };
    case 'new-view':
      return {
        type: m.type,
        height: m.height,
        view: m.view,
        viewChanges: m.viewChanges.map(viewChangeToCanonical),
        proposal: voteToCanonical(m.proposal),
        block: blockToCanonical(m.block),
      };
    case 'decided':
      return { type: m.type, committed: committedBlockToCanonical(m.committed) };
    case 'block-request':
      return { type: m.type, fromHeight: m.fromHeight, toHeight: m.toHeight };
    case 'block-response':
      return { type: m.type, blocks: m.blocks.map(committedBlockToCanonical) };
    case 'attestation':
      return { type: m.type, attestation: attestationToCanonical(m.attestation) };
    case 'evidence':
      return { type: m.type, evidence: evidenceToCanonical(m.evidence) };
    case 'tx':
      return { type: m.type, tx: txToCanonical(m.tx) };
  }
}

/**
 * Canonical CBOR bytes of `message`. Throws only on programmer errors (a float or undefined
 * somewhere in the message); it does not check the decoder's limits.
 */
export function encodeMessage(message: Message): Uint8Array {
  return encodeCanonical(messageToCanonical(message));
}

/** Canonical CBOR bytes of a commit certificate alone (a validator host's `head` frame). */
export function encodeCertificate(certificate: CommitCertificate): Uint8Array {
  return encodeCanonical(commitCertificateToCanonical(certificate));
}

// ── field checks ────────────────────────────────────────────────────────────────────────────
// Each check takes the untrusted value and its path (for the reason) and returns a fresh, typed
// value, or throws a CodecError that decodeMessage turns into `{ ok: false }`.

class CodecError extends Error {}

function fail(path: string, what: string): never {
  throw new CodecError(`${path}: ${what}`);
}

type Fields = Readonly<Record<string, unknown>>;

function isMap(v: unknown): v is Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v))
    return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A map with exactly `keys` (no extra, none missing). */
function fields(v: unknown, path: string, keys: readonly string[]): Fields {
  if (!isMap(v)) fail(path, 'expected a map');
  const own = Reflect.ownKeys(v);
  for (const k of own) {
    if (typeof k !== 'string' || !keys.includes(k))
      fail(path, `unexpected field ${describeKey(k)}`);
  }
  if (own.length !== keys.length) {
    for (const k of keys)
      if (!Object.prototype.hasOwnProperty.call(v, k)) fail(path, `missing field ${k}`);
  }
  return v;
}

function describeKey(k: string | symbol): string {
  return typeof k === 'string' ? JSON.stringify(k.slice(0, 32)) : 'symbol';
}

/** An array of exactly `names.length` items (a positional record such as a vote). */
function tuple(v: unknown, path: string, names: readonly string[]): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array [${names.join(', ')}]`);
  if (v.length !== names.length)
    fail(path, `expected ${names.length} items [${names.join(', ')}], got ${v.length}`);
  return v;
}

/** An array of at most `max` items, each checked by `item`. */
function list<T>(
  v: unknown,
  path: string,
  max: number,
  item: (x: unknown, path: string) => T,
): T[] {
  if (!Array.isArray(v)) fail(path, 'expected an array');
  if (v.length > max) fail(path, `${v.length} items, at most ${max} allowed`);
  const out: T[] = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = item(v[i], `${path}[${i}]`);
  return out;
}

function nullable<T>(v: unknown, path: string, item: (x: unknown, path: string) => T): T | null {
  return v === null ? null : item(v, path);
}

function int(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, `expected an integer ≥ ${min}`);
  if (v < min) fail(path, `expected an integer ≥ ${min}, got ${v}`);
  return v;
}

const height = (v: unknown, path: string): number => int(v, path, 1);
const view = (v: unknown, path: string): number => int(v, path, 0);

function hex32(v: unknown, path: string): string {
  if (!isHex(v, 32)) fail(path, 'expected 64 lowercase hex chars (32 bytes)');
  return v;
}

const validatorId: (v: unknown, path: string) => ValidatorId = hex32;
const digest: (v: unknown, path: string) => Digest = hex32;

function signature(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 64) fail(path, 'expected 64 bytes');
  return v.slice(); // a copy: the message shares nothing with the decoder's buffers
}

const anyKind: readonly VoteKind[] = ['pre-prepare', 'prepare', 'commit'];
const proposalKind: readonly VoteKind[] = ['pre-prepare'];
const commitKind: readonly VoteKind[] = ['commit'];
const preparedKinds: readonly VoteKind[] = ['pre-prepare', 'prepare'];

function voteKind(v: unknown, path: string, allowed: readonly VoteKind[]): VoteKind {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(path, `expected ${allowed.map((k) => JSON.stringify(k)).join(' or ')}`);
  }
  return v as VoteKind;
}

// ── schema ──────────────────────────────────────────────────────────────────────────────────

const voteNames = ['kind', 'height', 'view', 'digest', 'signer', 'sig'];
function vote(v: unknown, path: string, kinds: readonly VoteKind[]): Vote {
  const [kind, h, w, d, signer, sig] = tuple(v, path, voteNames);
  return {
    kind: voteKind(kind, `${path}.kind`, kinds),
    height: height(h, `${path}.height`),
    view: view(w, `${path}.view`),
    digest: digest(d, `${path}.digest`),
    signer: validatorId(signer, `${path}.signer`),
    sig: signature(sig, `${path}.sig`),
  };
}

const certSignatureNames = ['signer', 'kind', 'sig'];
function certSignatures(
  v: unknown,
  path: string,
  limits: CodecLimits,
  kinds: readonly VoteKind[],
): CertSignature[] {
  return list(v, path, limits.maxCertificateSignatures, (x, p) => {
    const [signer, kind, sig] = tuple(x, p, certSignatureNames);
    return {
      signer: validatorId(signer, `${p}.signer`),
      kind: voteKind(kind, `${p}.kind`, kinds),
      sig: signature(sig, `${p}.sig`),
    };
  });
}

const commitCertificateKeys = ['height', 'view', 'digest', 'signatures'];
function commitCertificate(v: unknown, path: string, limits: CodecLimits): CommitCertificate {
  const f = fields(v, path, commitCertificateKeys);
  return {
    height: height(f['height'], `${path}.height`),
    view: view(f['view'], `${path}.view`),
    digest: digest(f['digest'], `${path}.digest`),
    signatures: certSignatures(f['signatures'], `${path}.signatures`, limits, commitKind),
  };
}

const preparedCertificateKeys = ['height', 'view', 'digest', 'block', 'signatures'];
function preparedCertificate(v: unknown, path: string, limits: CodecLimits): PreparedCertificate {
  const f = fields(v, path, preparedCertificateKeys);
  return {
    height: height(f['height'], `${path}.height`),
    view: view(f['view'], `${path}.view`),
    digest: digest(f['digest'], `${path}.digest`),
    block: block(f['block'], `${path}.block`, limits, 0),
    signatures: certSignatures(f['signatures'], `${path}.signatures`, limits, preparedKinds),
  };
}

const attestationNames = ['height', 'blockHash', 'resultsHash', 'signer', 'sig'];
function attestation(v: unknown, path: string): Attestation {
  const [h, blockHash, resultsHash, signer, sig] = tuple(v, path, attestationNames);
  return {
    height: height(h, `${path}.height`),
    blockHash: digest(blockHash, `${path}.blockHash`),
    resultsHash: digest(resultsHash, `${path}.resultsHash`),
    signer: validatorId(signer, `${path}.signer`),
    sig: signature(sig, `${path}.sig`),
  };
}

function tx(v: unknown, path: string): SignedTx {
  const result = decodeTx(v); // the ledger's own schema; returns a fresh transaction
  if (!result.ok) fail(path, result.reason);
  return result.tx;
}

const equivocationKeys = ['type', 'first', 'second'];
const invalidProposalKeys = ['type', 'proposal', 'block'];
/** `depth`: invalid-proposal blocks already around this evidence. */
function evidence(v: unknown, path: string, limits: CodecLimits, depth: number): Evidence {
  if (!isMap(v)) fail(path, 'expected a map');
  const type = v['type'];
  switch (type) {
    case 'equivocation': {
      const f = fields(v, path, equivocationKeys);
      return {
        type,
        first: vote(f['first'], `${path}.first`, anyKind),
        second: vote(f['second'], `${path}.second`, anyKind),
      };
    }
    case 'invalid-proposal': {
      const f = fields(v, path, invalidProposalKeys);
      if (depth >= limits.maxInvalidProposalDepth) {
        fail(
          path,
          `invalid-proposal evidence nested more than ${limits.maxInvalidProposalDepth} deep`,
        );
      }
      return {
        type,
        proposal: vote(f['proposal'], `${path}.proposal`, proposalKind),
        block: block(f['block'], `${path}.block`, limits, depth + 1),
      };
    }
    default:
      return fail(`${path}.type`, `unknown evidence type ${describeValue(type)}`);
  }
}

const blockKeys = [
  'height',
  'prevHash',
  'proposer',
  'txs',
  'lastCommit',
  'attestations',
  'evidence',
];
/** `depth`: invalid-proposal blocks around this block (0 for a block at the top of a message). */
function block(v: unknown, path: string, limits: CodecLimits, depth: number): Block {
  const f = fields(v, path, blockKeys);
  return {
    height: height(f['height'], `${path}.height`),
    prevHash: digest(f['prevHash'], `${path}.prevHash`),
    proposer: validatorId(f['proposer'], `${path}.proposer`),
    txs: list(f['txs'], `${path}.txs`, limits.maxTxsPerBlock, tx),
    lastCommit: nullable(f['lastCommit'], `${path}.lastCommit`, (x, p) =>
      commitCertificate(x, p, limits),
    ),
    attestations: list(
      f['attestations'],
      `${path}.attestations`,
      limits.maxAttestationsPerBlock,
      attestation,
    ),
    evidence: list(f['evidence'], `${path}.evidence`, limits.maxEvidencePerBlock, (x, p) =>
      evidence(x, p, limits, depth),
    ),
  };
}

const viewChangeKeys = ['height', 'view', 'prepared', 'accepted', 'signer', 'sig'];
function viewChange(v: unknown, path: string, limits: CodecLimits): ViewChange {
  const f = fields(v, path, viewChangeKeys);
  return {
    height: height(f['height'], `${path}.height`),
    view: view(f['view'], `${path}.view`),
    prepared: nullable(f['prepared'], `${path}.prepared`, (x, p) =>
      preparedCertificate(x, p, limits),
    ),
    accepted: nullable(f['accepted'], `${path}.accepted`, (x, p) => vote(x, p, proposalKind)),
    signer: validatorId(f['signer'], `${path}.signer`),
    sig: signature(f['sig'], `${path}.sig`),
  };
}

const committedBlockKeys = ['block', 'certificate'];
function committedBlock(v: unknown, path: string, limits: CodecLimits): CommittedBlock {
  const f = fields(v, path, committedBlockKeys);
  return {
    block: block(f['block'], `${path}.block`, limits, 0),
    certificate: commitCertificate(f['certificate'], `${path}.certificate`, limits),
  };
}

function describeValue(v: unknown): string {
  return typeof v === 'string'
    ? JSON.stringify(v.slice(0, 32))
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'array'
        : typeof v;
}

function message(v: unknown, limits: CodecLimits): Message {
  if (!isMap(v)) fail('message', 'expected a map');
  const type = v['type'];
  switch (type) {
    case 'pre-prepare': {
      const f = fields(v, type, ['type', 'vote', 'block']);
      return {
        type,
        vote: vote(f['vote'], `${type}.vote`, proposalKind),
        block: block(f['block'], `${type}.block`, limits, 0),
      };
    }
    case 'prepare':
    case 'commit': {
      const f = fields(v, type, ['type', 'vote']);
      return { type, vote: vote(f['vote'], `${type}.vote`, [type]) };
    }
    case 'view-change': {
      const f = fields(v, type, ['type', 'viewChange']);
      return { type, viewChange: viewChange(f['viewChange'], `${type}.viewChange`, limits) };
    }
    case 'new-view': {
      const f = fields(v, type, ['type', 'height', 'view', 'viewChanges', 'proposal', 'block']);
      return {
        type,
        height: height(f['height'], `${type}.height`),
        view: view(f['view'], `${type}.view`),
        viewChanges: list(f['viewChanges'], `${type}.viewChanges`, limits.maxViewChanges, (x, p) =>
          viewChange(x, p, limits),
        ),
        proposal: vote(f['proposal'], `${type}.proposal`, proposalKind),
        block: block(f['block'], `${type}.block`, limits, 0),
      };
    }
    case 'decided': {
      const f = fields(v, type, ['type', 'committed']);
      return { type, committed: committedBlock(f['committed'], `${type}.committed`, limits) };
    }
    case 'block-request': {
      const f = fields(v, type, ['type', 'fromHeight', 'toHeight']);
      const fromHeight = height(f['fromHeight'], `${type}.fromHeight`);
      const toHeight = height(f['toHeight'], `${type}.toHeight`);
      if (fromHeight > toHeight)
        fail(type, `fromHeight ${fromHeight} is above toHeight ${toHeight}`);
      return { type, fromHeight, toHeight };
    }
    case 'block-response': {
      const f = fields(v, type, ['type', 'blocks']);
      return {
        type,
        blocks: list(f['blocks'], `${type}.blocks`, limits.maxBlocksPerResponse, (x, p) =>
          committedBlock(x, p, limits),
        ),
      };
    }
    case 'attestation': {
      const f = fields(v, type, ['type', 'attestation']);
      return { type, attestation: attestation(f['attestation'], `${type}.attestation`) };
    }
    case 'evidence': {
      const f = fields(v, type, ['type', 'evidence']);
      return { type, evidence: evidence(f['evidence'], `${type}.evidence`, limits, 0) };
    }
    case 'tx': {
      const f = fields(v, type, ['type', 'tx']);
      return { type, tx: tx(f['tx'], `${type}.tx`) };
    }
    default:
      return fail('message.type', `unknown message type ${describeValue(type)}`);
  }
}

// ── decoding ────────────────────────────────────────────────────────────────────────────────

function resolveLimits(limits: Partial<CodecLimits> | undefined): CodecLimits {
  if (limits === undefined) return defaultCodecLimits;
  const d = defaultCodecLimits;
  return {
    maxFrameBytes: limits.maxFrameBytes ?? d.maxFrameBytes,
    maxTxsPerBlock: limits.maxTxsPerBlock ?? d.maxTxsPerBlock,
    maxCertificateSignatures: limits.maxCertificateSignatures ?? d.maxCertificateSignatures,
    maxAttestationsPerBlock: limits.maxAttestationsPerBlock ?? d.maxAttestationsPerBlock,
    maxEvidencePerBlock: limits.maxEvidencePerBlock ?? d.maxEvidencePerBlock,
    maxViewChanges: limits.maxViewChanges ?? d.maxViewChanges,
    maxBlocksPerResponse: limits.maxBlocksPerResponse ?? d.maxBlocksPerResponse,
    maxInvalidProposalDepth: limits.maxInvalidProposalDepth ?? d.maxInvalidProposalDepth,
  };
}

/** Decodes a commit certificate from the network (see `encodeCertificate`). Never throws. */
export function decodeCertificate(
  bytes: Uint8Array,
  limits?: Partial<CodecLimits>,
): { ok: true; certificate: CommitCertificate } | { ok: false; reason: string } {
  try {
    const l = resolveLimits(limits);
    if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'frame is not a byte array' };
    if (bytes.length > l.maxFrameBytes) return { ok: false, reason: 'certificate too large' };
    const decoded = decodeCanonical(bytes);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    return { ok: true, certificate: commitCertificate(decoded.value, 'certificate', l) };
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, reason: error.message };
    return { ok: false, reason: 'unreadable certificate' };
  }
}

/**
 * Decodes a frame that came from the network. Never throws: size limit, then strict canonical
 * CBOR, then the schema check of every field. On success the message is a fresh object graph
 * (nothing in it refers to `bytes` or to the decoder's intermediate values), and
 * `encodeMessage(message)` gives back exactly `bytes` (canonical CBOR has one form per value).
 */
export function decodeMessage(
  bytes: Uint8Array,
  limits?: Partial<CodecLimits>,
): DecodeMessageResult {
  try {
    const l = resolveLimits(limits);
    if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'frame is not a byte array' };
    if (bytes.length > l.maxFrameBytes) {
      return {
        ok: false,
        reason: `frame too large: ${bytes.length} bytes, at most ${l.maxFrameBytes}`,
      };
    }
    const decoded = decodeCanonical(bytes);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    return { ok: true, message: message(decoded.value, l) };
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, reason: error.message };
    return { ok: false, reason: 'unreadable message' };
  }
}
