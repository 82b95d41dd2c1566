// Canonical encoding and hashing for everything that is signed, hashed or sent.
// Deterministic CBOR through cborg (length-first map key order, smallest integer forms), decoded
// strictly: non-minimal integers, duplicate map keys, indefinite lengths, undefined, NaN, Infinity,
// big integers and floats are all rejected, so one value has exactly one byte form.

import { decode, encode } from 'cborg';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** A value that can be encoded canonically: no floats, no undefined, no Maps, no class instances. */
export type Canonical =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly Canonical[]
  | { readonly [key: string]: Canonical };

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Largest frame the decoder will look at; anything bigger is dropped before parsing. */
export const maxEncodedBytes = 4 * 1024 * 1024;

const rejectFloats = {
  number(n: number): null {
    if (!Number.isSafeInteger(n)) throw new TypeError(`cannot encode non-integer number ${n}`);
    return null; // null means "use the default integer encoder"
  },
  undefined(): null {
    throw new TypeError('cannot encode undefined');
  },
};

/** Canonical CBOR bytes of `value`. Throws on programmer errors (floats, undefined). */
export function encodeCanonical(value: Canonical): Uint8Array {
  return encode(value, { typeEncoders: rejectFloats });
}

const strictDecodeOptions = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
} as const;

/**
 * Decodes bytes that came from outside. Never throws: returns a reason instead. Besides cborg's
 * strict mode it re-encodes the value and compares, which also rejects floats and non-canonical
 * map key order (the two things cborg's strict mode cannot check).
 */
export function decodeCanonical(bytes: Uint8Array): DecodeResult<Canonical> {
  if (bytes.length > maxEncodedBytes) return { ok: false, reason: 'frame too large' };
  let value: unknown;
  try {
    value = decode(bytes, strictDecodeOptions);
  } catch (error) {
    return { ok: false, reason: `malformed CBOR: ${(error as Error).message}` };
  }
  let again: Uint8Array;
  try {
    again = encodeCanonical(value as Canonical);
  } catch (error) {
    return { ok: false, reason: `not canonical: ${(error as Error).message}` };
  }
  if (!equalBytes(again, bytes)) return { ok: false, reason: 'not canonical CBOR' };
  return { ok: true, value: value as Canonical };
}

export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

/** Hex SHA-256 of the canonical encoding of `value`. */
export function hashOf(value: Canonical): string {
  return bytesToHex(sha256(encodeCanonical(value)));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Parses lowercase or uppercase hex; throws on odd length or bad digits (programmer error). */
export function fromHex(hex: string): Uint8Array {
  return hexToBytes(hex);
}

const hexPattern = /^[0-9a-f]*$/;
/** True when `s` is lowercase hex of exactly `byteLength` bytes. */
export function isHex(s: unknown, byteLength: number): s is string {
  return typeof s === 'string' && s.length === byteLength * 2 && hexPattern.test(s);
}

const utf8 = new TextEncoder();
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}

const publicKeys = new Map<string, Uint8Array>();
/**
 * The 32 key bytes of a validator or account id (64 lowercase hex characters), or null for
 * anything else. Memoised: ids are few and checked on every signature.
 */
export function publicKeyFromId(id: unknown): Uint8Array | null {
  if (!isHex(id, 32)) return null;
  let key = publicKeys.get(id);
  if (key === undefined) {
    key = hexToBytes(id);
    if (publicKeys.size >= 65_536) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}
