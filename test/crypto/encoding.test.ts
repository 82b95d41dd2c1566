// Canonical CBOR: one value, one byte form. Everything signed or hashed goes through this, so a
// second accepted form of the same value would let peers disagree about hashes.

import { describe, expect, it } from 'vitest';
import {
  decodeCanonical,
  encodeCanonical,
  fromHex,
  hashOf,
  maxEncodedBytes,
  toHex,
  type Canonical,
} from '../../src/crypto/encoding.ts';

function rejects(hex: string): string {
  const result = decodeCanonical(fromHex(hex));
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.reason.length).toBeGreaterThan(0);
  return result.reason;
}

describe('encodeCanonical', () => {
  it('gives the same bytes whatever the key insertion order', () => {
    const one = encodeCanonical({ a: 1, b: 2, aa: [3, { y: 1, x: 2 }] });
    const two = encodeCanonical({ aa: [3, { x: 2, y: 1 }], b: 2, a: 1 });
    expect(toHex(one)).toBe(toHex(two));
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    // Length-first key order: "b" (1 byte) sorts before "aa" (2 bytes).
    expect(toHex(encodeCanonical({ aa: 1, b: 2 }))).toBe('a2616202626161' + '01');
  });

  it('uses the smallest integer forms', () => {
    expect(toHex(encodeCanonical(23))).toBe('17');
    expect(toHex(encodeCanonical(24))).toBe('1818');
    expect(toHex(encodeCanonical(-1))).toBe('20');
    expect(toHex(encodeCanonical(65536))).toBe('1a00010000');
  });

  it('throws on floats, NaN, infinities, unsafe integers and undefined', () => {
    for (const bad of [1.5, -0.25, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => encodeCanonical(bad)).toThrow(TypeError);
      expect(() => encodeCanonical({ nested: [bad] })).toThrow(TypeError);
    }
    expect(() => encodeCanonical(undefined as unknown as Canonical)).toThrow(TypeError);
  });
});

describe('decodeCanonical', () => {
  it('round-trips canonical values', () => {
    const value: Canonical = {
      name: 'meter-7',
      amounts: [
        0,
        1,
        23,
        24,
        255,
        256,
        65535,
        65536,
        -1,
        -24,
        -25,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
      ],
      bytes: new Uint8Array([0, 1, 2, 255]),
      flags: [true, false, null],
      nested: { deeper: { list: [] as Canonical[], empty: {} } },
      unicode: 'façade ✓',
    };
    const bytes = encodeCanonical(value);
    const decoded = decodeCanonical(bytes);
    expect(decoded).toEqual({ ok: true, value });
    if (decoded.ok) expect(toHex(encodeCanonical(decoded.value))).toBe(toHex(bytes));
  });

  it('rejects floats, even integral ones', () => {
    rejects('fb3ff8000000000000'); // 1.5 as float64
    rejects('f93c00'); // 1.0 as float16: the integer 1 has another (canonical) form
    rejects('fa3f800000'); // 1.0 as float32
  });

  it('rejects NaN and infinities', () => {
    expect(rejects('f97e00')).toMatch(/NaN/);
    expect(rejects('f97c00')).toMatch(/Infinity/);
    expect(rejects('f9fc00')).toMatch(/Infinity/);
  });

  it('rejects undefined', () => {
    expect(rejects('f7')).toMatch(/undefined/);
  });

  it('rejects indefinite-length items', () => {
    expect(rejects('9f01ff')).toMatch(/indefinite/); // array
    expect(rejects('bf616101ff')).toMatch(/indefinite/); // map
    expect(rejects('7f616161ff')).toMatch(/indefinite/); // text string
    expect(rejects('5f4101ff')).toMatch(/indefinite/); // byte string
  });

  it('rejects non-minimal integers and lengths', () => {
    expect(rejects('1801')).toMatch(/more bytes than necessary/); // 1 in a 1-byte argument
    rejects('190001'); // 1 in two bytes
    rejects('1a00000001');
    rejects('3800'); // -1 in a 1-byte argument
    rejects('780161'); // "a" with a 1-byte length
  });

  it('rejects duplicate map keys', () => {
    expect(rejects('a2616101616102')).toMatch(/repeat map key/);
  });

  it('rejects non-canonical map key order', () => {
    rejects('a2616201616102'); // {"b":1,"a":2}
    rejects('a26261610161620a'); // {"aa":1,"b":10}: "b" must come first
    expect(decodeCanonical(fromHex('a2616101616202')).ok).toBe(true); // {"a":1,"b":2}
  });

  it('rejects truncated and trailing bytes', () => {
    const bytes = encodeCanonical({ list: [1, 2, 3], text: 'hello' });
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(decodeCanonical(bytes.subarray(0, cut)).ok).toBe(false);
    }
    const trailing = new Uint8Array([...bytes, 0]);
    expect(decodeCanonical(trailing).ok).toBe(false);
  });

  it('rejects big integers, tags and non-string map keys', () => {
    rejects('1bffffffffffffffff');
    rejects('c11a514b67b0'); // tag 1 (epoch time)
    rejects('a10102'); // {1: 2}
  });

  it('rejects oversized frames before parsing them', () => {
    const huge = new Uint8Array(maxEncodedBytes + 1);
    expect(decodeCanonical(huge)).toEqual({ ok: false, reason: 'frame too large' });
  });

  it('never throws on random bytes', () => {
    let state = 0x2545f491;
    for (let round = 0; round < 2000; round++) {
      const length = round % 40;
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      const result = decodeCanonical(bytes);
      // Whatever it accepts must re-encode to exactly the same bytes.
      if (result.ok) expect(toHex(encodeCanonical(result.value))).toBe(toHex(bytes));
    }
  });
});
