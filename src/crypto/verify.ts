// Ed25519 signature verification with one acceptance rule on every platform. Validators verify
// with the platform's native Ed25519 (WebCrypto) when it is there and with @noble/curves when it is
// not; both paths must accept exactly the same signatures, or honest validators could split a block.
//
// The rule (strict RFC 8032 encodings, cofactorless equation, no small-order points):
//
// 1. A byte-level policy runs first, the same on both paths, so that the backends never see the
//    inputs on which known implementations differ:
//    - public key exactly 32 bytes, signature exactly 64 bytes, message any Uint8Array;
//    - S (signature bytes 32..63, little-endian) < L: a non-canonical S is a malleated signature;
//    - A (the public key) and R (signature bytes 0..31) are canonical: y (sign bit cleared) < p;
//    - neither A nor R is a small-order point encoding: the 8 canonical encodings of the torsion
//      points plus the two x = 0 encodings with the sign bit set (the non-canonical aliases, y = p
//      and y = p + 1, are already rejected above). This is libsodium's blocklist. The encodings are
//      computed once at load with noble's Point API; at verify time the check is a byte comparison.
// 2. Then the cofactorless equation: decode A (must be a curve point), k = SHA-512(R || A || M) mod L,
//    accept iff encode([S]B - [k]A) equals the R bytes. OpenSSL (Node) and BoringSSL (Chromium)
//    implement exactly this; the pure-JS path does the same with noble's point arithmetic. We do
//    not use noble's own verify: it checks the cofactored equation [8]([S]B - [k]A - R) = 0, which
//    accepts every signature whose R or A carries a torsion component ("mixed-order" points) once
//    the prime-order parts match, where the cofactorless check rejects a mixed-order R always and
//    a mixed-order A + T unless [k]T happens to be the identity. The policy cannot see a torsion
//    component (that needs a scalar multiplication), so both paths must use the same equation.
//
// The native backend is used only after a one-time self-test shows it follows this rule (it accepts
// an honest signature and gives the cofactorless answer on mixed-order R and A). A platform whose
// WebCrypto lacks Ed25519, or that checks the cofactored equation or rejects mixed-order keys, falls
// back to the pure-JS path, so the choice of backend never changes an answer, only its speed.
// Every entry point turns malformed input and backend exceptions into `false`.

import { ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER; // order of the prime subgroup, 2^252 + 27742317777372353535851937790883648493
const P = Point.Fp.ORDER; // field prime, 2^255 - 19

const publicKeyLength = 32;
const signatureLength = 64;

// ---------------------------------------------------------------------------------------------
// Policy

const lBytes = numberToBytesLE(L, 32);
const pBytes = numberToBytesLE(P, 32);

/** True when the 32 little-endian bytes at `bytes[offset..]` (top bit masked if asked) are < bound. */
function lessThanLE(
  bytes: Uint8Array,
  offset: number,
  bound: Uint8Array,
  clearTopBit: boolean,
): boolean {
  for (let i = 31; i >= 0; i--) {
    let b = bytes[offset + i] ?? 0;
    if (i === 31 && clearTopBit) b &= 0x7f;
    const c = bound[i] ?? 0;
    if (b !== c) return b < c;
  }
  return false; // equal
}

function equalAt(a: Uint8Array, aOffset: number, b: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aOffset + i] !== b[i]) return false;
  return true;
}

/**
 * The torsion subgroup has order 8 and is cyclic, so one point T of order 8 generates all eight
 * small-order points. [L]P lies in the torsion subgroup for any curve point P; we try small y
 * values until [L]P has full order 8. (multiplyUnsafe takes scalars < L only, hence [L-1]P + P.)
 */
function findOrder8Point(): EdwardsPoint {
  for (let y = 2; y < 1000; y++) {
    let candidate: EdwardsPoint;
    try {
      candidate = Point.fromBytes(numberToBytesLE(BigInt(y), 32), false);
    } catch {
      continue; // y is not the coordinate of a curve point
    }
    const torsion = candidate.multiplyUnsafe(L - 1n).add(candidate);
    if (!torsion.double().double().is0()) return torsion;
  }
  throw new Error('no point of order 8 found'); // unreachable: half of all curve points qualify
}

/** A generator of the torsion subgroup; also used by the native self-test. */
const order8Point = findOrder8Point();

/** The blocklist: every encoding that decodes (strictly) to a small-order point, plus the x = 0 ones with the sign bit set. */
const smallOrderEncodings: readonly Uint8Array[] = (() => {
  const encodings: Uint8Array[] = [];
  let multiple = Point.ZERO;
  for (let i = 0; i < 8; i++) {
    const bytes = multiple.toBytes();
    encodings.push(bytes);
    // x = 0 for the identity and the point of order 2: the sign bit is meaningless there, and a
    // lenient decoder ignores it, so the encoding with the bit set names the same small-order point.
    if (multiple.x === 0n) {
      const signed = Uint8Array.from(bytes);
      signed[31] = (signed[31] ?? 0) | 0x80;
      encodings.push(signed);
    }
    multiple = multiple.add(order8Point);
  }
  if (!multiple.is0() || new Set(encodings.map(bytesToHex)).size !== 10) {
    throw new Error('small-order point table is inconsistent');
  }
  return encodings;
})();

function isSmallOrderEncoding(bytes: Uint8Array, offset: number): boolean {
  for (const blocked of smallOrderEncodings) if (equalAt(bytes, offset, blocked, 32)) return true;
  return false;
}

/** Uint8Array check that also accepts arrays from another realm (worker, iframe). */
function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && value.constructor.name === 'Uint8Array')
  );
}

/**
 * The byte-level policy shared by both backends (see the top of this file). It decodes nothing, so
 * it cannot tell whether A is on the curve; the backends reject such keys themselves.
 */
export function passesPolicy(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) return false;
    if (publicKey.length !== publicKeyLength || signature.length !== signatureLength) return false;
    if (!lessThanLE(signature, 32, lBytes, false)) return false; // S < L
    if (!lessThanLE(publicKey, 0, pBytes, true)) return false; // A canonical
    if (!lessThanLE(signature, 0, pBytes, true)) return false; // R canonical
    if (isSmallOrderEncoding(publicKey, 0)) return false;
    if (isSmallOrderEncoding(signature, 0)) return false;
    return true;
  } catch {
    return false; // a hostile object (throwing getters) posing as bytes
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded caches

/** A Map that forgets its oldest entry once full, so hostile peers cannot grow it without bound. */
class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure-JS path

// Decoding a point costs a field square root; validators see the same few keys over and over.
const decodedKeys = new BoundedMap<string, EdwardsPoint>(4096);

function decodePublicKey(publicKey: Uint8Array): EdwardsPoint | null {
  const hex = bytesToHex(publicKey);
  const cached = decodedKeys.get(hex);
  if (cached !== undefined) return cached;
  let point: EdwardsPoint;
  try {
    point = Point.fromBytes(publicKey, false); // strict RFC 8032 decoding
  } catch {
    return null; // not a curve point
  }
  decodedKeys.set(hex, point);
  return point;
}

/** k = SHA-512(R || A || M) mod L. */
function challenge(rBytes: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  const digest = sha512.create().update(rBytes).update(publicKey).update(message).digest();
  return Point.Fn.create(bytesToNumberLE(digest));
}

/** The cofactorless equation; the caller has applied the policy (lengths, S < L, canonical R). */
function verifyPureUnchecked(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const a = decodePublicKey(publicKey);
  if (a === null) return false;
  const s = bytesToNumberLE(signature.subarray(32, 64));
  const k = challenge(signature.subarray(0, 32), publicKey, message);
  // multiplyUnsafe (variable time, fine: everything here is public) also accepts S = 0, which
  // noble's constant-time multiply rejects, while OpenSSL simply computes [0]B.
  const expectedR = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
  return equalAt(signature, 0, expectedR.toBytes(), 32);
}

/** Policy, then the pure-JS cofactorless check. Synchronous; never throws. */
export function verifySync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return (
      passesPolicy(publicKey, message, signature) &&
      verifyPureUnchecked(publicKey, message, signature)
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Native path

const ed25519Algorithm = { name: 'Ed25519' } as const;

/**
 * WebCrypto's types want an ArrayBuffer-backed view (not a SharedArrayBuffer one); copy only when
 * the input is not already one.
 */
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : Uint8Array.from(bytes);
}

// Imported keys, cached as promises so that a burst of verifications under one key imports it once.
const importedKeys = new BoundedMap<string, Promise<CryptoKey>>(4096);

function importKey(subtle: SubtleCrypto, publicKey: Uint8Array): Promise<CryptoKey> {
  const hex = bytesToHex(publicKey);
  const cached = importedKeys.get(hex);
  if (cached !== undefined) return cached;
  const imported = subtle.importKey('raw', bufferSource(publicKey), ed25519Algorithm, false, [
    'verify',
  ]);
  importedKeys.set(hex, imported);
  // A failed import is not cached (the caller sees the rejection and answers false).
  imported.catch(() => {
    if (importedKeys.get(hex) === imported) importedKeys.delete(hex);
  });
  return imported;
}

async function verifyNativeUnchecked(
  subtle: SubtleCrypto,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    const key = await importKey(subtle, publicKey);
    return await subtle.verify(
      ed25519Algorithm,
      key,
      bufferSource(signature),
      bufferSource(message),
    );
  } catch {
    return false; // e.g. a key that is not a curve point, on backends that check at import
  }
}

interface Triple {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Known answers that separate the cofactorless rule from the alternatives: an honest signature
 * (accept), the same signature with a flipped message bit (reject), a mixed-order R that a
 * cofactored verifier accepts (reject), and a mixed-order public key A + T once with [k]T = 0
 * (accept) and once with [k]T != 0 (reject). Built from fixed scalars, so deterministic.
 */
function selfTestVectors(): { accept: Triple[]; reject: Triple[] } {
  const scalarFrom = (label: string): bigint =>
    Point.Fn.create(bytesToNumberLE(sha512(new TextEncoder().encode(label))));
  const a = scalarFrom('tierbft self-test secret');
  const r = scalarFrom('tierbft self-test nonce');
  const signWith = (publicKey: Uint8Array, rPoint: EdwardsPoint, message: Uint8Array): Triple => {
    const rBytes = rPoint.toBytes();
    const k = challenge(rBytes, publicKey, message);
    const s = Point.Fn.create(r + k * a);
    return { publicKey, message, signature: concat(rBytes, numberToBytesLE(s, 32)) };
  };
  const honestA = Point.BASE.multiply(a);
  const honestR = Point.BASE.multiply(r);
  const message = new TextEncoder().encode('self-test');

  const honest = signWith(honestA.toBytes(), honestR, message);
  const tampered = { ...honest, message: new TextEncoder().encode('self-tesu') };
  const mixedR = signWith(honestA.toBytes(), honestR.add(order8Point), message);

  const mixedA = honestA.add(order8Point).toBytes();
  let mixedAAccept: Triple | undefined;
  let mixedAReject: Triple | undefined;
  for (let i = 0; mixedAAccept === undefined || mixedAReject === undefined; i++) {
    const m = new TextEncoder().encode(`self-test ${i}`);
    const k = challenge(honestR.toBytes(), mixedA, m);
    if (k % 8n === 0n) mixedAAccept ??= signWith(mixedA, honestR, m);
    else mixedAReject ??= signWith(mixedA, honestR, m);
  }
  return { accept: [honest, mixedAAccept], reject: [tampered, mixedR, mixedAReject] };
}

let nativeProbe: Promise<SubtleCrypto | null> | undefined;

/** The platform's SubtleCrypto if its Ed25519 follows our rule, else null. Probed once. */
function nativeBackend(): Promise<SubtleCrypto | null> {
  nativeProbe ??= probeNative();
  return nativeProbe;
}

async function probeNative(): Promise<SubtleCrypto | null> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) return null;
  try {
    const { accept, reject } = selfTestVectors();
    // Check the vectors against our own rule too: a mistake here must not silently disable native.
    for (const v of accept)
      if (!verifyPureUnchecked(v.publicKey, v.message, v.signature)) return null;
    for (const v of reject)
      if (verifyPureUnchecked(v.publicKey, v.message, v.signature)) return null;
    for (const v of accept) {
      if (!(await verifyNativeUnchecked(subtle, v.publicKey, v.message, v.signature))) return null;
    }
    for (const v of reject) {
      if (await verifyNativeUnchecked(subtle, v.publicKey, v.message, v.signature)) return null;
    }
    return subtle;
  } catch {
    return null; // no Ed25519 in this WebCrypto, or importKey threw synchronously
  }
}

/** True when the platform's WebCrypto has Ed25519 and it passed the self-test. */
export async function nativeEd25519Available(): Promise<boolean> {
  return (await nativeBackend()) !== null;
}

/**
 * Policy, then the native backend only. Null when native Ed25519 is unavailable (whatever the
 * input); meant for tests and benchmarks that compare the two paths.
 */
export async function verifyNative(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean | null> {
  const subtle = await nativeBackend();
  if (subtle === null) return null;
  try {
    if (!passesPolicy(publicKey, message, signature)) return false;
    return await verifyNativeUnchecked(subtle, publicKey, message, signature);
  } catch {
    return false;
  }
}

type Backend = 'native' | 'pureJs' | 'policy';

/** verify() that also reports which backend answered (the policy alone, native or pure JS). */
async function verifyDetailed(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<{ valid: boolean; backend: Backend }> {
  try {
    if (!passesPolicy(publicKey, message, signature)) return { valid: false, backend: 'policy' };
    const subtle = await nativeBackend();
    if (subtle !== null) {
      return {
        valid: await verifyNativeUnchecked(subtle, publicKey, message, signature),
        backend: 'native',
      };
    }
    return { valid: verifyPureUnchecked(publicKey, message, signature), backend: 'pureJs' };
  } catch {
    return { valid: false, backend: 'policy' };
  }
}

/** Policy, then native Ed25519 when available, else the pure-JS path. Never throws. */
export async function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return (await verifyDetailed(publicKey, message, signature)).valid;
}

// ---------------------------------------------------------------------------------------------
// Verification cache for synchronous hosts

export interface SignedItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignatureVerifierStats {
  /** check() calls answered from the cache. */
  hits: number;
  /** check() calls that had to verify (with verifySync). */
  misses: number;
  /** Verifications done by the native backend (in preverify). */
  native: number;
  /** Verifications done by the pure-JS path (check() misses, preverify without native). */
  pureJs: number;
}

export interface SignatureVerifierOptions {
  /** Most results kept; the oldest is forgotten first. Default 200 000. */
  readonly maxEntries?: number;
}

/**
 * Remembers verification results so that a host that must answer synchronously (the pure protocol
 * step) can have them computed beforehand, in parallel and natively, with `preverify`. A result
 * that is missing (never preverified, or evicted) is computed with `verifySync`; since both paths
 * follow the same rule, the cache changes only the speed, never an answer. Messages are not kept:
 * the key is SHA-256(pk || sig || message).
 */
export class SignatureVerifier {
  readonly stats: SignatureVerifierStats = { hits: 0, misses: 0, native: 0, pureJs: 0 };
  private readonly results: BoundedMap<string, boolean>;

  constructor(options: SignatureVerifierOptions = {}) {
    const maxEntries = options.maxEntries ?? 200_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
    this.results = new BoundedMap(maxEntries);
  }

  /** Verifies every item not yet cached, in parallel, and stores the results. Never rejects. */
  async preverify(items: readonly SignedItem[]): Promise<void> {
    const pending = new Map<string, SignedItem>();
    for (const item of items) {
      let key: string | null = null;
      let snapshot: SignedItem | undefined;
      try {
        // Verify copies, hashed now: the caller may reuse its buffers before the native
        // verification reads them, and the result must belong to the bytes the key names.
        snapshot = {
          publicKey: Uint8Array.from(item.publicKey),
          message: Uint8Array.from(item.message),
          signature: Uint8Array.from(item.signature),
        };
        key =
          isBytes(item.publicKey) && isBytes(item.message) && isBytes(item.signature)
            ? cacheKey(snapshot.publicKey, snapshot.message, snapshot.signature)
            : null;
      } catch {
        // a hostile object: check() will answer false for it without the cache
      }
      if (key !== null && snapshot !== undefined && !this.results.has(key)) {
        pending.set(key, snapshot);
      }
    }
    // Promise.all: on Node each native verification runs on the libuv thread pool, so a batch
    // uses several cores; results are stored as they complete.
    await Promise.all(
      [...pending].map(async ([key, item]) => {
        const { valid, backend } = await verifyDetailed(
          item.publicKey,
          item.message,
          item.signature,
        );
        if (backend === 'native') this.stats.native++;
        else if (backend === 'pureJs') this.stats.pureJs++;
        this.results.set(key, valid);
      }),
    );
  }

  /** The cached result, or verifySync's (then cached). Never throws. */
  check(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    let key: string | null;
    try {
      key = cacheKey(publicKey, message, signature);
    } catch {
      return false;
    }
    if (key === null) return false; // wrong types or lengths: the policy rejects, nothing to cache
    const cached = this.results.get(key);
    if (cached !== undefined) {
      this.stats.hits++;
      return cached;
    }
    this.stats.misses++;
    let valid = false;
    if (passesPolicy(publicKey, message, signature)) {
      this.stats.pureJs++;
      try {
        valid = verifyPureUnchecked(publicKey, message, signature);
      } catch {
        valid = false;
      }
    }
    this.results.set(key, valid);
    return valid;
  }

  /** Number of results held. */
  get size(): number {
    return this.results.size;
  }
}

/**
 * The cache key, or null when the lengths are wrong. Only exact 32/64-byte keys and signatures are
 * keyed: otherwise pk || sig would be ambiguous (a 31-byte key with a 65-byte signature hashes like
 * a 32-byte key with a 64-byte one), and a peer could plant a cached `false` for a valid triple.
 */
function cacheKey(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): string | null {
  if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) return null;
  if (publicKey.length !== publicKeyLength || signature.length !== signatureLength) return null;
  return bytesToHex(sha256.create().update(publicKey).update(signature).update(message).digest());
}
