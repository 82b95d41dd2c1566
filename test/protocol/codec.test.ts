// The wire codec: every message type round-trips byte for byte, and every malformed frame (random
// bytes, truncations, oversized frames, wrong fields, non-canonical CBOR, deep nesting) is rejected
// with a reason instead of an exception.

import { encode as cborEncode } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Canonical,
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  generateKeyPair,
  hashOf,
  type KeyPair,
  sha256Bytes,
  toHex,
  utf8Bytes,
  verifySync,
} from '../../src/crypto/index.ts';
import { decodeTx, signTx } from '../../src/ledger/ledger.ts';
import type { SignedTx, TxBody } from '../../src/ledger/types.ts';
import {
  type CodecLimits,
  decodeMessage,
  defaultCodecLimits,
  encodeMessage,
  messageToCanonical,
} from '../../src/protocol/codec.ts';
import {
  blockHash,
  signAttestation,
  signedItemsOf,
  signViewChange,
  signVote,
  txToCanonical,
} from '../../src/protocol/signing.ts';
import type {
  Attestation,
  Block,
  CertSignature,
  CommitCertificate,
  Evidence,
  Message,
  PreparedCertificate,
  ValidatorId,
  ViewChange,
  Vote,
  VoteKind,
} from '../../src/protocol/types.ts';

// ── fixtures: a small network with real keys and real signatures ─────────────────────────────

const chainId = 'codec-test-chain';

interface Who {
  readonly id: ValidatorId;
  readonly keys: KeyPair;
}

function who(label: string): Who {
  const keys = generateKeyPair(sha256Bytes(utf8Bytes(`codec-test/${label}`)));
  return { id: toHex(keys.publicKey), keys };
}

const v0 = who('v0');
const v1 = who('v1');
const v2 = who('v2');
const v3 = who('v3');
const candidate = who('candidate');
const issuer = who('issuer');
const alice = who('alice');
const power = who('power');

const digestOf = (label: string): string => hashOf(['codec-test', label]);

function vote(w: Who, kind: VoteKind, height: number, view: number, digest: string): Vote {
  return signVote(chainId, w.keys.secretKey, w.id, kind, height, view, digest);
}

function certSig(
  w: Who,
  kind: VoteKind,
  height: number,
  view: number,
  digest: string,
): CertSignature {
  return { signer: w.id, kind, sig: vote(w, kind, height, view, digest).sig };
}

function commitCertificate(block: Block, view: number): CommitCertificate {
  const digest = blockHash(block);
  return {
    height: block.height,
    view,
    digest,
    signatures: [v0, v1, v2].map((w) => certSig(w, 'commit', block.height, view, digest)),
  };
}

const bodies: TxBody[] = [
  { type: 'register', nonce: 0, kind: 'household', name: 'Alice', category: null },
  { type: 'register', nonce: 0, kind: 'provider', name: 'City Power', category: 'electricity' },
  { type: 'mint', nonce: 0, to: alice.id, asset: 'CNY', amount: 100_000 },
  {
    type: 'issue-bill',
    nonce: 1,
    payer: alice.id,
    asset: 'CNY',
    amount: 4_500,
    period: '2026-11',
    dueHeight: 120,
  },
  { type: 'pay-bill', nonce: 1, billId: digestOf('bill') },
  { type: 'transfer', nonce: 2, to: power.id, asset: 'eCNY', amount: 12 },
  { type: 'validator-join', nonce: 0, name: 'node-7' },
  { type: 'validator-leave', nonce: 4 },
];
const signerOf: Record<TxBody['type'], Who> = {
  register: alice,
  mint: issuer,
  'issue-bill': power,
  'pay-bill': alice,
  transfer: alice,
  'validator-join': candidate,
  'validator-leave': v3,
};
const txs: SignedTx[] = bodies.map((body) =>
  signTx(chainId, signerOf[body.type].keys.secretKey, signerOf[body.type].id, body),
);
const tx0 = txs[0]!;

const block1: Block = {
  height: 1,
  prevHash: digestOf('genesis'),
  proposer: v0.id,
  txs: txs.slice(0, 3),
  lastCommit: null,
  attestations: [],
  evidence: [],
};
const cert1 = commitCertificate(block1, 0);

const attestation: Attestation = signAttestation(
  chainId,
  candidate.keys.secretKey,
  candidate.id,
  1,
  blockHash(block1),
  digestOf('results-1'),
);

const equivocation: Evidence = {
  type: 'equivocation',
  first: vote(v3, 'prepare', 2, 0, digestOf('x')),
  second: vote(v3, 'prepare', 2, 0, digestOf('y')),
};

const badBlock: Block = {
  height: 2,
  prevHash: blockHash(block1),
  proposer: v1.id,
  txs: [txs[4]!],
  lastCommit: cert1,
  attestations: [],
  evidence: [],
};
const invalidProposal: Evidence = {
  type: 'invalid-proposal',
  proposal: vote(v1, 'pre-prepare', 2, 0, blockHash(badBlock)),
  block: badBlock,
};

const block2: Block = {
  height: 2,
  prevHash: blockHash(block1),
  proposer: v2.id,
  txs,
  lastCommit: cert1,
  attestations: [attestation],
  evidence: [equivocation, invalidProposal],
};
const cert2 = commitCertificate(block2, 1);

const block3: Block = {
  height: 3,
  prevHash: blockHash(block2),
  proposer: v0.id,
  txs: [txs[5]!],
  lastCommit: cert2,
  attestations: [],
  evidence: [],
};
const digest3 = blockHash(block3);
const prepared: PreparedCertificate = {
  height: 3,
  view: 0,
  digest: digest3,
  block: block3,
  signatures: [
    certSig(v0, 'pre-prepare', 3, 0, digest3),
    certSig(v1, 'prepare', 3, 0, digest3),
    certSig(v2, 'prepare', 3, 0, digest3),
  ],
};
const accepted = vote(v0, 'pre-prepare', 3, 0, digest3);
const vcPrepared: ViewChange = signViewChange(
  chainId,
  v1.keys.secretKey,
  v1.id,
  3,
  1,
  prepared,
  accepted,
);
const vcEmpty: ViewChange = signViewChange(chainId, v2.keys.secretKey, v2.id, 3, 1, null, null);
const vcAccepted: ViewChange = signViewChange(
  chainId,
  v3.keys.secretKey,
  v3.id,
  3,
  1,
  null,
  accepted,
);

const samples: Record<string, Message> = {
  'pre-prepare': {
    type: 'pre-prepare',
    vote: vote(v2, 'pre-prepare', 2, 1, blockHash(block2)),
    block: block2,
  },
  prepare: { type: 'prepare', vote: vote(v1, 'prepare', 2, 1, blockHash(block2)) },
  commit: { type: 'commit', vote: vote(v3, 'commit', 2, 1, blockHash(block2)) },
  'view-change (prepared)': { type: 'view-change', viewChange: vcPrepared },
  'view-change (empty)': { type: 'view-change', viewChange: vcEmpty },
  'new-view': {
    type: 'new-view',
    height: 3,
    view: 1,
    viewChanges: [vcPrepared, vcEmpty, vcAccepted],
    proposal: vote(v1, 'pre-prepare', 3, 1, digest3),
    block: block3,
  },
  decided: { type: 'decided', committed: { block: block2, certificate: cert2 } },
  'block-request': { type: 'block-request', fromHeight: 1, toHeight: 32 },
  'block-response': {
    type: 'block-response',
    blocks: [
      { block: block1, certificate: cert1 },
      { block: block2, certificate: cert2 },
    ],
  },
  attestation: { type: 'attestation', attestation },
  'evidence (equivocation)': { type: 'evidence', evidence: equivocation },
  'evidence (invalid-proposal)': { type: 'evidence', evidence: invalidProposal },
};
for (const t of txs)
  samples[`tx (${t.body.type}${t.body.type === 'register' ? `/${t.body.kind}` : ''})`] = {
    type: 'tx',
    tx: t,
  };

const sampleEntries = Object.entries(samples);
const sampleBytes = sampleEntries.map(([name, m]) => [name, encodeMessage(m)] as const);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

function decodeOk(bytes: Uint8Array, limits?: Partial<CodecLimits>): Message {
  const r = decodeMessage(bytes, limits);
  if (!r.ok) throw new Error(`expected a message, got: ${r.reason}`);
  return r.message;
}

/** Decodes, expecting a rejection (and no exception); returns the reason. */
function reject(bytes: Uint8Array, limits?: Partial<CodecLimits>): string {
  let r: ReturnType<typeof decodeMessage> | undefined;
  expect(() => {
    r = decodeMessage(bytes, limits);
  }).not.toThrow();
  if (r === undefined || r.ok) throw new Error('expected a rejection, got a message');
  expect(r.reason.length).toBeGreaterThan(0);
  return r.reason;
}

// Canonical trees are edited freely in tests; `any` keeps the edits short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tree = any;

/** Canonical CBOR of `message` after `edit` has changed (a deep copy of) its canonical form. */
function tampered(message: Message, edit: (tree: Tree) => void): Uint8Array {
  const tree: Tree = structuredClone(messageToCanonical(message));
  edit(tree);
  return encodeCanonical(tree as Canonical);
}

const prepareMsg = samples['prepare']!;
const prePrepareMsg = samples['pre-prepare']!;

// Hand-written CBOR pieces (definite lengths, minimal heads) for frames the encoder would never make.
function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 0xff];
  throw new RangeError('test helper: length too large');
}
const cText = (s: string): number[] => [...head(3, utf8Bytes(s).length), ...utf8Bytes(s)];
const cUint = (n: number): number[] => head(0, n);
const cMap = (pairs: [string, number[]][]): number[] => [
  ...head(5, pairs.length),
  ...pairs.flatMap(([k, v]) => [...cText(k), ...v]),
];

// ── round trips ─────────────────────────────────────────────────────────────────────────────

describe('encodeMessage / decodeMessage round trip', () => {
  it('covers every message type', () => {
    const types = new Set(sampleEntries.map(([, m]) => m.type));
    expect([...types].sort()).toEqual(
      [
        'attestation',
        'block-request',
        'block-response',
        'commit',
        'decided',
        'evidence',
        'new-view',
        'pre-prepare',
        'prepare',
        'tx',
        'view-change',
      ].sort(),
    );
  });

  it.each(sampleEntries)(
    '%s: decodes to an equal message that re-encodes byte for byte',
    (_name, m) => {
      const bytes = encodeMessage(m);
      const decoded = decodeOk(bytes);
      expect(decoded).toEqual(m);
      expect(toHex(encodeMessage(decoded))).toBe(toHex(bytes));
    },
  );

  it.each(sampleEntries)('%s: every signature still verifies after decoding', (_name, m) => {
    const decoded = decodeOk(encodeMessage(m));
    const before = signedItemsOf(chainId, m);
    const after = signedItemsOf(chainId, decoded);
    expect(after.length).toBe(before.length);
    if (m.type !== 'block-request') expect(after.length).toBeGreaterThan(0);
    for (const item of after)
      expect(verifySync(item.publicKey, item.message, item.signature)).toBe(true);
  });

  it('encodes blocks exactly as they are hashed, so digests survive the wire', () => {
    const decoded = decodeOk(encodeMessage(prePrepareMsg));
    if (decoded.type !== 'pre-prepare' || prePrepareMsg.type !== 'pre-prepare')
      throw new Error('wrong type');
    expect(blockHash(decoded.block)).toBe(blockHash(prePrepareMsg.block));
    expect(decoded.vote.digest).toBe(blockHash(decoded.block));
    const nested = decoded.block.evidence[1];
    if (nested?.type !== 'invalid-proposal') throw new Error('expected invalid-proposal evidence');
    expect(blockHash(nested.block)).toBe(nested.proposal.digest);
  });

  it('puts the type next to the fields in a plain map', () => {
    const tree = decodeCanonical(encodeMessage(samples['block-request']!));
    expect(tree).toEqual({
      ok: true,
      value: { type: 'block-request', fromHeight: 1, toHeight: 32 },
    });
  });

  it('the ledger decoder accepts what txToCanonical produces', () => {
    for (const t of txs) {
      const wire = decodeCanonical(encodeCanonical(txToCanonical(t)));
      if (!wire.ok) throw new Error(wire.reason);
      expect(decodeTx(wire.value)).toEqual({ ok: true, tx: t });
    }
  });

  it('returns a fresh object graph that shares nothing with the frame', () => {
    const m = samples['decided']!;
    const bytes = encodeMessage(m);
    const original = bytes.slice();
    const decoded = decodeOk(bytes);
    const again = decodeOk(bytes);
    if (decoded.type !== 'decided' || again.type !== 'decided') throw new Error('wrong type');
    expect(decoded.committed).not.toBe(again.committed);
    expect(decoded.committed.block.txs[0]).not.toBe(again.committed.block.txs[0]);
    expect(decoded.committed.certificate.signatures[0]!.sig).not.toBe(
      again.committed.certificate.signatures[0]!.sig,
    );
    // Every byte array owns its memory: wiping the frame (or another decoding) changes nothing.
    const sigs = [
      ...decoded.committed.certificate.signatures.map((s) => s.sig),
      ...decoded.committed.block.txs.map((t) => t.sig),
      ...decoded.committed.block.attestations.map((a) => a.sig),
    ];
    for (const s of sigs) expect(s.buffer).not.toBe(bytes.buffer);
    bytes.fill(0);
    again.committed.certificate.signatures[0]!.sig.fill(7);
    expect(toHex(encodeMessage(decoded))).toBe(toHex(original));
  });
});

// ── limits ──────────────────────────────────────────────────────────────────────────────────

describe('limits', () => {
  it('has the documented defaults', () => {
    expect(defaultCodecLimits).toEqual({
      maxFrameBytes: 1024 * 1024,
      maxTxsPerBlock: 2048,
      maxCertificateSignatures: 256,
      maxAttestationsPerBlock: 256,
      maxEvidencePerBlock: 64,
      maxViewChanges: 256,
      maxBlocksPerResponse: 64,
      maxInvalidProposalDepth: 2,
    });
  });

  it('checks the frame size before parsing', () => {
    // Not CBOR at all: only the size check can produce this reason.
    expect(reject(new Uint8Array(1024 * 1024 + 1).fill(0xff))).toMatch(
      /^frame too large: 1048577 bytes/,
    );
    const bytes = encodeMessage(prePrepareMsg);
    expect(reject(bytes, { maxFrameBytes: bytes.length - 1 })).toMatch(/^frame too large/);
    expect(decodeOk(bytes, { maxFrameBytes: bytes.length })).toEqual(prePrepareMsg);
  });

  it('rejects a real message that is within every cap but over the frame size', () => {
    const big: Block = { ...block1, txs: Array.from({ length: 2048 }, () => tx0) };
    const one: Message = { type: 'decided', committed: { block: big, certificate: cert1 } };
    expect(decodeOk(encodeMessage(one))).toEqual(one);
    const three: Message = {
      type: 'block-response',
      blocks: [one.committed, one.committed, one.committed],
    };
    const bytes = encodeMessage(three);
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    expect(reject(bytes)).toMatch(/^frame too large/);
  });

  const withTxs = (n: number): Message => ({
    type: 'pre-prepare',
    vote: accepted,
    block: { ...block1, txs: Array.from({ length: n }, () => tx0) },
  });
  const withAttestations = (n: number): Message => ({
    type: 'pre-prepare',
    vote: accepted,
    block: { ...block1, attestations: Array.from({ length: n }, () => attestation) },
  });
  const withEvidence = (n: number): Message => ({
    type: 'pre-prepare',
    vote: accepted,
    block: { ...block1, evidence: Array.from({ length: n }, () => equivocation) },
  });
  const withCertSigs = (n: number): Message => ({
    type: 'decided',
    committed: {
      block: block1,
      certificate: { ...cert1, signatures: Array.from({ length: n }, () => cert1.signatures[0]!) },
    },
  });
  const withPreparedSigs = (n: number): Message => ({
    type: 'view-change',
    viewChange: {
      ...vcPrepared,
      prepared: {
        ...prepared,
        signatures: Array.from({ length: n }, () => prepared.signatures[1]!),
      },
    },
  });
  const withViewChanges = (n: number): Message => ({
    ...(samples['new-view'] as Extract<Message, { type: 'new-view' }>),
    viewChanges: Array.from({ length: n }, () => vcEmpty),
  });
  const withBlocks = (n: number): Message => ({
    type: 'block-response',
    blocks: Array.from({ length: n }, () => ({ block: block1, certificate: cert1 })),
  });

  it.each([
    ['txs', 2048, withTxs, 'pre-prepare.block.txs: 2049 items, at most 2048 allowed'],
    [
      'attestations',
      256,
      withAttestations,
      'pre-prepare.block.attestations: 257 items, at most 256 allowed',
    ],
    ['evidence', 64, withEvidence, 'pre-prepare.block.evidence: 65 items, at most 64 allowed'],
    [
      'commit certificate signatures',
      256,
      withCertSigs,
      'decided.committed.certificate.signatures: 257 items, at most 256 allowed',
    ],
    [
      'prepared certificate signatures',
      256,
      withPreparedSigs,
      'view-change.viewChange.prepared.signatures: 257 items, at most 256 allowed',
    ],
    [
      'view-changes in a new-view',
      256,
      withViewChanges,
      'new-view.viewChanges: 257 items, at most 256 allowed',
    ],
    [
      'blocks in a block-response',
      64,
      withBlocks,
      'block-response.blocks: 65 items, at most 64 allowed',
    ],
  ] as const)('caps %s at %i: one more is rejected', (_name, cap, build, reason) => {
    const atCap = build(cap);
    expect(decodeOk(encodeMessage(atCap))).toEqual(atCap);
    expect(reject(encodeMessage(build(cap + 1)))).toBe(reason);
  });

  it('takes partial limits and keeps the defaults for the rest', () => {
    const bytes = encodeMessage(prePrepareMsg); // 8 txs, 1 attestation, 2 evidence
    expect(reject(bytes, { maxTxsPerBlock: 7 })).toBe(
      'pre-prepare.block.txs: 8 items, at most 7 allowed',
    );
    expect(reject(bytes, { maxAttestationsPerBlock: 0 })).toMatch(
      /^pre-prepare\.block\.attestations: /,
    );
    expect(reject(bytes, { maxInvalidProposalDepth: 0 })).toBe(
      'pre-prepare.block.evidence[1]: invalid-proposal evidence nested more than 0 deep',
    );
    expect(decodeOk(bytes, { maxTxsPerBlock: 8 })).toEqual(prePrepareMsg);
    expect(reject(encodeMessage(withTxs(2049)), { maxViewChanges: 1 })).toMatch(
      /at most 2048 allowed$/,
    );
  });
});

// ── malformed frames ────────────────────────────────────────────────────────────────────────

describe('malformed frames are rejected with a reason, never thrown', () => {
  it('random bytes never throw, and anything accepted is canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = decodeMessage(bytes);
        if (r.ok) expect(toHex(encodeMessage(r.message))).toBe(toHex(bytes));
        else expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('random edits of valid frames never throw, and anything accepted re-encodes to the same bytes', () => {
    const frames = sampleBytes.map(([, b]) => b);
    const edit = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frames.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const bytes = [...frames[which]!];
          for (const e of edits) {
            const at = e.at % (bytes.length + 1);
            if (e.op === 'set') bytes[at % bytes.length] = e.value;
            else if (e.op === 'insert') bytes.splice(at, 0, e.value);
            else bytes.splice(at % bytes.length, 1);
          }
          const frame = Uint8Array.from(bytes);
          const r = decodeMessage(frame);
          if (r.ok) {
            accepted++;
            expect(toHex(encodeMessage(r.message))).toBe(toHex(frame));
          }
        },
      ),
      { numRuns: 3000 },
    );
    // Some edits (a different digit in a hex id, a different signature byte) stay well-formed.
    expect(accepted).toBeGreaterThan(0);
  });

  it.each(sampleBytes)('%s: every truncation is rejected', (_name, bytes) => {
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeMessage(bytes.subarray(0, n));
      if (r.ok) throw new Error(`prefix of ${n} bytes was accepted`);
    }
  });

  it('rejects trailing bytes after a valid message', () => {
    const bytes = encodeMessage(prepareMsg);
    expect(reject(Uint8Array.from([...bytes, 0]))).toMatch(/CBOR/);
  });

  it('rejects a frame that is not a byte array', () => {
    for (const junk of [null, undefined, 'a1', [0xa0], new ArrayBuffer(4), { length: 1, 0: 1 }]) {
      expect(reject(junk as unknown as Uint8Array)).toBe('frame is not a byte array');
    }
  });

  it('rejects a non-map frame and an unknown or missing type', () => {
    expect(reject(encodeCanonical([1, 2]))).toBe('message: expected a map');
    expect(reject(encodeCanonical(7))).toBe('message: expected a map');
    expect(reject(encodeCanonical({ type: 'gossip', vote: null }))).toBe(
      'message.type: unknown message type "gossip"',
    );
    expect(reject(encodeCanonical({ vote: null }))).toBe(
      'message.type: unknown message type undefined',
    );
    expect(reject(encodeCanonical({ type: 7 }))).toBe('message.type: unknown message type number');
    expect(reject(tampered(prepareMsg, (t) => (t.type = 'Prepare')))).toBe(
      'message.type: unknown message type "Prepare"',
    );
  });

  it('rejects extra fields, at the top and deep inside', () => {
    expect(reject(tampered(prepareMsg, (t) => (t.extra = 1)))).toBe(
      'prepare: unexpected field "extra"',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.extra = null)))).toBe(
      'pre-prepare.block: unexpected field "extra"',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.lastCommit.extra = 0)))).toBe(
      'pre-prepare.block.lastCommit: unexpected field "extra"',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.evidence[0].extra = 0)))).toBe(
      'pre-prepare.block.evidence[0]: unexpected field "extra"',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.txs[2].extra = 0)))).toBe(
      'pre-prepare.block.txs[2]: transaction: unexpected field extra',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.txs[2].body.memo = 'hi')))).toMatch(
      /^pre-prepare\.block\.txs\[2\]: mint: unexpected field memo/,
    );
    expect(
      reject(
        tampered(
          samples['view-change (prepared)']!,
          (t) => (t.viewChange.prepared.block.extra = 0),
        ),
      ),
    ).toBe('view-change.viewChange.prepared.block: unexpected field "extra"');
    // A vote is a fixed tuple: a seventh item is as wrong as an extra key.
    expect(reject(tampered(prepareMsg, (t) => t.vote.push(0)))).toBe(
      'prepare.vote: expected 6 items [kind, height, view, digest, signer, sig], got 7',
    );
  });

  it('rejects a __proto__ key without touching any prototype', () => {
    const bytes = tampered(prepareMsg, (t) =>
      Object.defineProperty(t, '__proto__', { value: { polluted: true }, enumerable: true }),
    );
    expect(reject(bytes)).toBe('prepare: unexpected field "__proto__"');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects missing fields', () => {
    expect(reject(tampered(prepareMsg, (t) => delete t.vote))).toBe('prepare: missing field vote');
    expect(reject(tampered(prePrepareMsg, (t) => delete t.block.evidence))).toBe(
      'pre-prepare.block: missing field evidence',
    );
    expect(
      reject(tampered(samples['view-change (empty)']!, (t) => delete t.viewChange.accepted)),
    ).toBe('view-change.viewChange: missing field accepted');
    expect(reject(tampered(samples['decided']!, (t) => delete t.committed.certificate))).toBe(
      'decided.committed: missing field certificate',
    );
    expect(reject(tampered(samples['block-request']!, (t) => delete t.toHeight))).toBe(
      'block-request: missing field toHeight',
    );
    expect(reject(tampered(prepareMsg, (t) => t.vote.pop()))).toMatch(
      /^prepare\.vote: expected 6 items .*got 5$/,
    );
    expect(reject(tampered(samples['attestation']!, (t) => t.attestation.pop()))).toMatch(
      /^attestation\.attestation: expected 5 items/,
    );
    expect(
      reject(tampered(samples['decided']!, (t) => t.committed.certificate.signatures[0].pop())),
    ).toMatch(/^decided\.committed\.certificate\.signatures\[0\]: expected 3 items/);
    // Absent and null are different things: lastCommit must be present even when null.
    expect(
      reject(tampered(samples['block-response']!, (t) => delete t.blocks[0].block.lastCommit)),
    ).toBe('block-response.blocks[0].block: missing field lastCommit');
  });

  it('rejects wrong types', () => {
    // vote = [kind, height, view, digest, signer, sig]
    expect(reject(tampered(prepareMsg, (t) => (t.vote[1] = '2')))).toBe(
      'prepare.vote.height: expected an integer ≥ 1',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[2] = null)))).toBe(
      'prepare.vote.view: expected an integer ≥ 0',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[5] = toHex(t.vote[5]))))).toBe(
      'prepare.vote.sig: expected 64 bytes',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[4] = utf8Bytes(t.vote[4]))))).toBe(
      'prepare.vote.signer: expected 64 lowercase hex chars (32 bytes)',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote = { ...t.vote })))).toMatch(
      /^prepare\.vote: expected an array/,
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block = [t.block])))).toBe(
      'pre-prepare.block: expected a map',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.txs = {})))).toBe(
      'pre-prepare.block.txs: expected an array',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.lastCommit = [])))).toBe(
      'pre-prepare.block.lastCommit: expected a map',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.evidence[0].type = 'double-sign')))).toBe(
      'pre-prepare.block.evidence[0].type: unknown evidence type "double-sign"',
    );
    expect(reject(tampered(samples['tx (mint)']!, (t) => (t.tx.body.amount = '100000')))).toBe(
      'tx.tx: amount must be a number',
    );
    expect(reject(tampered(samples['block-request']!, (t) => (t.fromHeight = true)))).toBe(
      'block-request.fromHeight: expected an integer ≥ 1',
    );
  });

  it('rejects floats, whether fractional or integer-valued', () => {
    // A fractional height: well-formed CBOR, but never canonical.
    const withFloat = cborEncode({
      type: 'prepare',
      vote: ['prepare', 1.5, 0, digestOf('a'), v0.id, new Uint8Array(64)],
    });
    expect(reject(withFloat)).toMatch(/^not canonical: .*non-integer number 1\.5/);
    // toHeight = 2.0 as a half-precision float (f9 4000): decodes to the number 2, yet is rejected.
    const bytes = Uint8Array.from(
      cMap([
        ['type', cText('block-request')],
        ['toHeight', [0xf9, 0x40, 0x00]],
        ['fromHeight', cUint(1)],
      ]),
    );
    const same = Uint8Array.from(
      cMap([
        ['type', cText('block-request')],
        ['toHeight', cUint(2)],
        ['fromHeight', cUint(1)],
      ]),
    );
    expect(decodeOk(same)).toEqual({ type: 'block-request', fromHeight: 1, toHeight: 2 });
    expect(reject(bytes)).toBe('not canonical CBOR');
  });

  it('rejects heights below 1, views below 0 and unsafe integers', () => {
    expect(reject(tampered(prepareMsg, (t) => (t.vote[1] = 0)))).toBe(
      'prepare.vote.height: expected an integer ≥ 1, got 0',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[1] = -1)))).toBe(
      'prepare.vote.height: expected an integer ≥ 1, got -1',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[2] = -1)))).toBe(
      'prepare.vote.view: expected an integer ≥ 0, got -1',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.height = 0)))).toBe(
      'pre-prepare.block.height: expected an integer ≥ 1, got 0',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.attestations[0][0] = -5)))).toBe(
      'pre-prepare.block.attestations[0].height: expected an integer ≥ 1, got -5',
    );
    expect(reject(tampered(samples['decided']!, (t) => (t.committed.certificate.view = -2)))).toBe(
      'decided.committed.certificate.view: expected an integer ≥ 0, got -2',
    );
    // Views may be 0; the largest safe integer is fine.
    const maxSafe = tampered(prepareMsg, (t) => (t.vote[1] = Number.MAX_SAFE_INTEGER));
    expect(decodeOk(maxSafe)).toMatchObject({ vote: { height: Number.MAX_SAFE_INTEGER, view: 1 } });
    // 2^53 as a 64-bit CBOR integer (1b 0020000000000000) is not a safe integer.
    const big = Uint8Array.from(
      cMap([
        ['type', cText('block-request')],
        ['toHeight', [0x1b, 0, 0x20, 0, 0, 0, 0, 0, 0]],
        ['fromHeight', cUint(1)],
      ]),
    );
    reject(big);
  });

  it('rejects signatures that are not exactly 64 bytes', () => {
    expect(reject(tampered(prepareMsg, (t) => (t.vote[5] = t.vote[5].subarray(0, 63))))).toBe(
      'prepare.vote.sig: expected 64 bytes',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[5] = new Uint8Array(65))))).toBe(
      'prepare.vote.sig: expected 64 bytes',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[5] = new Uint8Array(0))))).toBe(
      'prepare.vote.sig: expected 64 bytes',
    );
    expect(
      reject(
        tampered(
          samples['view-change (empty)']!,
          (t) => (t.viewChange.sig = t.viewChange.sig.subarray(1)),
        ),
      ),
    ).toBe('view-change.viewChange.sig: expected 64 bytes');
    expect(
      reject(tampered(samples['attestation']!, (t) => (t.attestation[4] = new Uint8Array(32)))),
    ).toBe('attestation.attestation.sig: expected 64 bytes');
    expect(
      reject(
        tampered(
          samples['decided']!,
          (t) => (t.committed.certificate.signatures[1][2] = new Uint8Array(63)),
        ),
      ),
    ).toBe('decided.committed.certificate.signatures[1].sig: expected 64 bytes');
    expect(
      reject(tampered(samples['tx (transfer)']!, (t) => (t.tx.sig = new Uint8Array(63)))),
    ).toBe('tx.tx: sig must be 64 bytes');
  });

  it('rejects ids and digests that are not 64 lowercase hex chars', () => {
    const bad = 'expected 64 lowercase hex chars (32 bytes)';
    expect(reject(tampered(prepareMsg, (t) => (t.vote[4] = t.vote[4].toUpperCase())))).toBe(
      `prepare.vote.signer: ${bad}`,
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[4] = t.vote[4].slice(2))))).toBe(
      `prepare.vote.signer: ${bad}`,
    ); // 31 bytes
    expect(reject(tampered(prepareMsg, (t) => (t.vote[4] = `${t.vote[4]}00`)))).toBe(
      `prepare.vote.signer: ${bad}`,
    ); // 33 bytes
    expect(reject(tampered(prepareMsg, (t) => (t.vote[3] = `0x${t.vote[3].slice(2)}`)))).toBe(
      `prepare.vote.digest: ${bad}`,
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[3] = `${t.vote[3].slice(1)}g`)))).toBe(
      `prepare.vote.digest: ${bad}`,
    );
    expect(
      reject(tampered(prePrepareMsg, (t) => (t.block.prevHash = t.block.prevHash.toUpperCase()))),
    ).toBe(`pre-prepare.block.prevHash: ${bad}`);
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.proposer = '')))).toBe(
      `pre-prepare.block.proposer: ${bad}`,
    );
    expect(
      reject(
        tampered(
          samples['attestation']!,
          (t) => (t.attestation[2] = t.attestation[2].slice(0, 62)),
        ),
      ),
    ).toBe(`attestation.attestation.resultsHash: ${bad}`);
    expect(
      reject(tampered(samples['tx (pay-bill)']!, (t) => (t.tx.signer = t.tx.signer.toUpperCase()))),
    ).toBe('tx.tx: signer must be 64 lowercase hex chars');
  });

  it('admits only the vote kinds each position allows', () => {
    expect(reject(tampered(prepareMsg, (t) => (t.vote[0] = 'precommit')))).toBe(
      'prepare.vote.kind: expected "prepare"',
    );
    expect(reject(tampered(prepareMsg, (t) => (t.vote[0] = 'commit')))).toBe(
      'prepare.vote.kind: expected "prepare"',
    );
    expect(reject(tampered(samples['commit']!, (t) => (t.vote[0] = 'prepare')))).toBe(
      'commit.vote.kind: expected "commit"',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.vote[0] = 'prepare')))).toBe(
      'pre-prepare.vote.kind: expected "pre-prepare"',
    );
    expect(reject(tampered(samples['new-view']!, (t) => (t.proposal[0] = 'commit')))).toBe(
      'new-view.proposal.kind: expected "pre-prepare"',
    );
    expect(
      reject(
        tampered(samples['view-change (prepared)']!, (t) => (t.viewChange.accepted[0] = 'prepare')),
      ),
    ).toBe('view-change.viewChange.accepted.kind: expected "pre-prepare"');
    expect(
      reject(
        tampered(
          samples['decided']!,
          (t) => (t.committed.certificate.signatures[0][1] = 'prepare'),
        ),
      ),
    ).toBe('decided.committed.certificate.signatures[0].kind: expected "commit"');
    expect(
      reject(
        tampered(
          samples['view-change (prepared)']!,
          (t) => (t.viewChange.prepared.signatures[0][1] = 'commit'),
        ),
      ),
    ).toBe(
      'view-change.viewChange.prepared.signatures[0].kind: expected "pre-prepare" or "prepare"',
    );
    expect(
      reject(
        tampered(
          samples['evidence (invalid-proposal)']!,
          (t) => (t.evidence.proposal[0] = 'prepare'),
        ),
      ),
    ).toBe('evidence.evidence.proposal.kind: expected "pre-prepare"');
    expect(
      reject(tampered(samples['evidence (equivocation)']!, (t) => (t.evidence.first[0] = 7))),
    ).toBe('evidence.evidence.first.kind: expected "pre-prepare" or "prepare" or "commit"');
    // Equivocation evidence may be of any kind.
    const commits: Message = {
      type: 'evidence',
      evidence: {
        type: 'equivocation',
        first: vote(v3, 'commit', 2, 0, digestOf('x')),
        second: vote(v3, 'commit', 2, 0, digestOf('y')),
      },
    };
    expect(decodeOk(encodeMessage(commits))).toEqual(commits);
  });

  it('rejects a block-request whose range is empty or starts below height 1', () => {
    const req = (fromHeight: number, toHeight: number): Uint8Array =>
      encodeCanonical({ type: 'block-request', fromHeight, toHeight });
    expect(reject(req(5, 4))).toBe('block-request: fromHeight 5 is above toHeight 4');
    expect(reject(req(0, 4))).toBe('block-request.fromHeight: expected an integer ≥ 1, got 0');
    expect(decodeOk(req(4, 4))).toEqual({ type: 'block-request', fromHeight: 4, toHeight: 4 });
  });

  it('rejects non-canonical CBOR built by hand', () => {
    const fields: [string, number[]][] = [
      ['type', cText('block-request')],
      ['toHeight', cUint(2)],
      ['fromHeight', cUint(1)],
    ];
    expect(decodeOk(Uint8Array.from(cMap(fields)))).toEqual({
      type: 'block-request',
      fromHeight: 1,
      toHeight: 2,
    }); // the helper itself is right
    // Keys out of canonical (length-first) order.
    expect(reject(Uint8Array.from(cMap([fields[0]!, fields[2]!, fields[1]!])))).toBe(
      'not canonical CBOR',
    );
    expect(reject(Uint8Array.from(cMap([fields[2]!, fields[1]!, fields[0]!])))).toBe(
      'not canonical CBOR',
    );
    // A non-minimal integer (18 01 for 1).
    expect(
      reject(Uint8Array.from(cMap([fields[0]!, fields[1]!, ['fromHeight', [0x18, 0x01]]]))),
    ).toMatch(/CBOR/);
    // A duplicate key.
    expect(reject(Uint8Array.from(cMap([fields[0]!, fields[1]!, fields[1]!, fields[2]!])))).toMatch(
      /CBOR/,
    );
    // An indefinite-length map.
    expect(
      reject(Uint8Array.from([0xbf, ...fields.flatMap(([k, v]) => [...cText(k), ...v]), 0xff])),
    ).toMatch(/CBOR/);
    // A non-minimal length head on a text string (type as 78 04 "type").
    expect(
      reject(
        Uint8Array.from([
          0xa3,
          0x78,
          4,
          ...utf8Bytes('type'),
          ...cText('block-request'),
          ...cText('toHeight'),
          2,
          ...cText('fromHeight'),
          1,
        ]),
      ),
    ).toMatch(/CBOR/);
  });

  it('bounds the nesting of invalid-proposal evidence', () => {
    /** A block carrying `levels` invalid-proposal evidence nested inside each other. */
    const nested = (levels: number): Block => {
      let b: Block = { ...block1, evidence: [] };
      for (let i = 0; i < levels; i++) {
        const e: Evidence = {
          type: 'invalid-proposal',
          proposal: vote(v1, 'pre-prepare', 1, i, blockHash(b)),
          block: b,
        };
        b = { ...block1, evidence: [equivocation, e] };
      }
      return b;
    };
    const asEvidence = (levels: number): Message => ({
      type: 'evidence',
      evidence: nested(levels).evidence[1]!,
    });
    const asProposal = (levels: number): Message => ({
      type: 'pre-prepare',
      vote: accepted,
      block: nested(levels),
    });

    // An evidence's block may itself carry invalid-proposal evidence one level deep, no deeper.
    expect(decodeOk(encodeMessage(asEvidence(2)))).toEqual(asEvidence(2));
    expect(reject(encodeMessage(asEvidence(3)))).toBe(
      'evidence.evidence.block.evidence[1].block.evidence[1]: invalid-proposal evidence nested more than 2 deep',
    );
    // The same bound inside a block: a block may carry the evidence message's evidence unchanged.
    expect(decodeOk(encodeMessage(asProposal(2)))).toEqual(asProposal(2));
    expect(reject(encodeMessage(asProposal(3)))).toMatch(
      /^pre-prepare\.block\.evidence\[1\]\.block\.evidence\[1\]\.block\.evidence\[1\]: invalid-proposal evidence nested/,
    );
    expect(reject(encodeMessage(asProposal(8)))).toMatch(/nested more than 2 deep$/);
    // Blocks in certificates and catch-up responses count from 0 as well.
    const vc: Message = {
      type: 'view-change',
      viewChange: { ...vcPrepared, prepared: { ...prepared, block: nested(3) } },
    };
    expect(reject(encodeMessage(vc))).toMatch(
      /^view-change\.viewChange\.prepared\.block\.evidence\[1\]\.block\.evidence\[1\]\.block\.evidence\[1\]: /,
    );
    expect(decodeOk(encodeMessage(asProposal(3)), { maxInvalidProposalDepth: 3 })).toEqual(
      asProposal(3),
    );
  });

  it('survives deeply nested CBOR anywhere in the frame', () => {
    // 100 000 nested one-item arrays: deeper than any stack.
    const deepArrays = new Uint8Array(100_001).fill(0x81);
    deepArrays[100_000] = 0x00;
    expect(reject(deepArrays)).toMatch(/CBOR/);
    // 20 000 nested one-entry maps {"a": {"a": ...}}.
    const deepMaps = new Uint8Array(60_001);
    for (let i = 0; i < 20_000; i++) deepMaps.set([0xa1, 0x61, 0x61], i * 3);
    reject(deepMaps);
    // Moderately deep values in the right place: a tx body's name and a vote's digest.
    let deep: Tree = 'x';
    for (let i = 0; i < 500; i++) deep = [deep];
    expect(
      reject(tampered(samples['tx (validator-join)']!, (t) => (t.tx.body.name = deep))),
    ).toMatch(/^tx\.tx: name must be/);
    expect(reject(tampered(prepareMsg, (t) => (t.vote[3] = deep)))).toBe(
      'prepare.vote.digest: expected 64 lowercase hex chars (32 bytes)',
    );
    expect(reject(tampered(prePrepareMsg, (t) => (t.block.evidence = [deep])))).toBe(
      'pre-prepare.block.evidence[0]: expected a map',
    );
  });
});
