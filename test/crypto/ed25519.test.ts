// Ed25519 verification: RFC 8032 vectors, the strict policy, and above all that the native
// (WebCrypto) and pure-JS paths give the same answer on every input, including the inputs on which
// common implementations disagree (non-canonical encodings, small-order and mixed-order points).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, utf8Bytes } from '../../src/crypto/encoding.ts';
import { generateKeyPair, sign } from '../../src/crypto/keys.ts';
import {
  nativeEd25519Available,
  passesPolicy,
  SignatureVerifier,
  verify,
  verifyNative,
  verifySync,
} from '../../src/crypto/index.ts';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;

// ------------------------------------------------------------------------------------------------
// Helpers

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const index = bit >> 3;
  copy[index] = (copy[index] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

/** Looks like a Uint8Array to instanceof, throws on any property read. */
function hostileBytes(): Uint8Array {
  return new Proxy(new Uint8Array(32), {
    get() {
      throw new Error('hostile');
    },
  });
}

const le32 = (n: bigint): Uint8Array => numberToBytesLE(n, 32);

/** k = SHA-512(R || A || M) mod L, over the exact bytes. */
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return Point.Fn.create(bytesToNumberLE(sha512(concat(r, a, m))));
}

/** A key with its secret scalar, for building signatures by hand. */
function keyFromSeed(seedByte: number): { a: bigint; point: EdwardsPoint; publicKey: Uint8Array } {
  const seed = new Uint8Array(32).fill(seedByte);
  const { scalar, point, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  return { a: scalar, point, publicKey: pointBytes };
}

function scalarFrom(label: string): bigint {
  return Point.Fn.create(bytesToNumberLE(sha512(utf8Bytes(label))));
}

/** Noble's default verify: cofactored equation, lenient (ZIP-215) decoding. */
function permissiveAccepts(pk: Uint8Array, m: Uint8Array, sig: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, m, pk, { zip215: true });
  } catch {
    return false;
  }
}

/** Noble's strict verify: RFC 8032 encodings but still the cofactored equation. */
function cofactoredStrictAccepts(pk: Uint8Array, m: Uint8Array, sig: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, m, pk, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Runs verifySync, verifyNative and verify, asserts that all three agree (and that native really
 * ran), and returns the common answer.
 */
async function allPaths(pk: Uint8Array, m: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const pure = verifySync(pk, m, sig);
  const native = await verifyNative(pk, m, sig);
  const preferred = await verify(pk, m, sig);
  expect(native, 'native Ed25519 must be available on Node 20').not.toBeNull();
  expect({ pure, native, preferred }).toEqual({ pure, native: pure, preferred: pure });
  return pure;
}

// The libsodium blocklist, typed in independently of the table verify.ts computes: the y values of
// the small-order points (canonical ones; y = p and y = p + 1 are non-canonical aliases).
const smallOrderY = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1, identity
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1, order 2
];
/** Each y with the sign bit clear and set: 8 canonical point encodings + 2 x = 0 ones with the sign set. */
const smallOrderEncodings = smallOrderY.flatMap((h) => {
  const clear = fromHex(h);
  const set = Uint8Array.from(clear);
  set[31] = (set[31] ?? 0) | 0x80;
  return [clear, set];
});

/** A point of order 8, from the blocklist. */
const T8 = Point.fromHex(smallOrderY[3] ?? '', false);

/** Every encoding with y >= p (y in [p, 2^255 - 1], sign bit clear or set): 38 of them. */
const nonCanonicalEncodings: Uint8Array[] = [];
for (let y = P; y < 2n ** 255n; y++) {
  const bytes = le32(y);
  nonCanonicalEncodings.push(bytes);
  const signed = Uint8Array.from(bytes);
  signed[31] = (signed[31] ?? 0) | 0x80;
  nonCanonicalEncodings.push(signed);
}

// ------------------------------------------------------------------------------------------------
// RFC 8032 section 7.1

interface Vector {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}

const rfc8032: readonly Vector[] = [
  {
    name: 'TEST 1',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024',
    secretKey: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: [
      '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1',
      'e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d',
      '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a',
      '7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e',
      '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10',
      '3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1',
      '85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d',
      '502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270',
      '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b',
      'eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba',
      'b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b',
      'e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7',
      '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d',
      'cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df',
      'f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7',
      '984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4',
      '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09',
      '43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f',
      'b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161',
      '0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d',
      'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca',
      'c60c905c15fc910840b94c00a0b9d0',
    ].join(''),
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'TEST SHA(abc)',
    secretKey: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

describe('native Ed25519', () => {
  it('is available on Node 20 and passes the self-test', async () => {
    expect(await nativeEd25519Available()).toBe(true);
  });
});

describe('RFC 8032 section 7.1 vectors', () => {
  it('the 1024 vector message is 1023 bytes and SHA(abc) is SHA-512("abc")', () => {
    expect(fromHex(rfc8032[3]?.message ?? '').length).toBe(1023);
    expect(rfc8032[4]?.message).toBe(toHex(sha512(utf8Bytes('abc'))));
  });

  for (const v of rfc8032) {
    describe(v.name, () => {
      const secretKey = fromHex(v.secretKey);
      const publicKey = fromHex(v.publicKey);
      const message = fromHex(v.message);
      const signature = fromHex(v.signature);

      it('keys and signature are reproduced', () => {
        expect(toHex(generateKeyPair(secretKey).publicKey)).toBe(v.publicKey);
        expect(toHex(sign(secretKey, message))).toBe(v.signature);
      });

      it('is accepted by every path', async () => {
        expect(passesPolicy(publicKey, message, signature)).toBe(true);
        expect(await allPaths(publicKey, message, signature)).toBe(true);
      });

      it('a flipped bit in the message, signature or key is rejected by every path', async () => {
        const otherMessages =
          message.length === 0
            ? [Uint8Array.of(0)]
            : [flipBit(message, 0), flipBit(message, message.length * 8 - 1)];
        for (const m of otherMessages) expect(await allPaths(publicKey, m, signature)).toBe(false);
        for (const bit of [0, 100, 255, 256, 300, 500, 511]) {
          expect(await allPaths(publicKey, message, flipBit(signature, bit))).toBe(false);
        }
        for (const bit of [0, 77, 254, 255]) {
          expect(await allPaths(flipBit(publicKey, bit), message, signature)).toBe(false);
        }
      });
    });
  }
});

// ------------------------------------------------------------------------------------------------
// Edge cases: each goes through both paths, which must agree on the expected answer.

describe('edge cases', () => {
  const key = keyFromSeed(0x42);
  const message = utf8Bytes('pay bill 1234: 56.78 to the water utility');
  const honest = sign(new Uint8Array(32).fill(0x42), message);

  it('the honest signature used below is accepted', async () => {
    expect(await allPaths(key.publicKey, message, honest)).toBe(true);
  });

  it('rejects a non-canonical S (S + L) and S >= L', async () => {
    const s = bytesToNumberLE(honest.subarray(32));
    // S + L satisfies the equation exactly as S does (scalars act mod L): only the range check stops it.
    const malleated = concat(honest.subarray(0, 32), le32(s + L));
    expect(passesPolicy(key.publicKey, message, malleated)).toBe(false);
    expect(await allPaths(key.publicKey, message, malleated)).toBe(false);
    for (const big of [L, L + 1n, 2n ** 253n, 2n ** 256n - 1n]) {
      expect(
        await allPaths(key.publicKey, message, concat(honest.subarray(0, 32), le32(big))),
      ).toBe(false);
    }
    // L - 1 is in range: it passes the policy (and fails the equation).
    const edge = concat(honest.subarray(0, 32), le32(L - 1n));
    expect(passesPolicy(key.publicKey, message, edge)).toBe(true);
    expect(await allPaths(key.publicKey, message, edge)).toBe(false);
  });

  it('the blocklist typed in here lists exactly small-order points', () => {
    expect(smallOrderEncodings).toHaveLength(10);
    for (const encoding of smallOrderEncodings) {
      expect(Point.fromBytes(encoding, true).isSmallOrder()).toBe(true);
    }
    expect(T8.double().double().is0()).toBe(false);
    expect(T8.double().double().double().is0()).toBe(true);
  });

  it('rejects every small-order R, even where the cofactored or cofactorless equation holds', async () => {
    for (const r of smallOrderEncodings) {
      // S = k*a makes [S]B - [k]A the identity: a cofactored verifier accepts any small-order R,
      // and for R = identity even the bare cofactorless equation holds.
      const s = Point.Fn.create(challenge(r, key.publicKey, message) * key.a);
      const sig = concat(r, le32(s));
      expect(permissiveAccepts(key.publicKey, message, sig)).toBe(true);
      expect(passesPolicy(key.publicKey, message, sig)).toBe(false);
      expect(await allPaths(key.publicKey, message, sig)).toBe(false);
    }
  });

  it('rejects every small-order A, even where the cofactored or cofactorless equation holds', async () => {
    const r = scalarFrom('small-order A nonce');
    const rBytes = Point.BASE.multiply(r).toBytes();
    for (const a of smallOrderEncodings) {
      // S = r: [S]B - [k]A = R - [k]A, and [k]A vanishes under the cofactor (always) or outright
      // (A = identity). A signature that "verifies" for anyone's message, without a secret.
      const sig = concat(rBytes, le32(r));
      expect(permissiveAccepts(a, message, sig)).toBe(true);
      expect(passesPolicy(a, message, sig)).toBe(false);
      expect(await allPaths(a, message, sig)).toBe(false);
    }
  });

  it('rejects non-canonical A (y >= p), including an alias of the identity a lenient verifier accepts', async () => {
    const r = scalarFrom('non-canonical A nonce');
    const sig = concat(Point.BASE.multiply(r).toBytes(), le32(r));
    expect(nonCanonicalEncodings).toHaveLength(38);
    let leniencyShown = 0;
    for (const a of nonCanonicalEncodings) {
      if (permissiveAccepts(a, message, sig)) leniencyShown++; // y = p + 1 decodes (leniently) to the identity
      expect(passesPolicy(a, message, sig)).toBe(false);
      expect(await allPaths(a, message, sig)).toBe(false);
    }
    expect(leniencyShown).toBeGreaterThan(0);
  });

  it('rejects non-canonical R (y >= p), including an alias of the identity a lenient verifier accepts', async () => {
    let leniencyShown = 0;
    for (const r of nonCanonicalEncodings) {
      const s = Point.Fn.create(challenge(r, key.publicKey, message) * key.a);
      const sig = concat(r, le32(s));
      if (permissiveAccepts(key.publicKey, message, sig)) leniencyShown++;
      expect(passesPolicy(key.publicKey, message, sig)).toBe(false);
      expect(await allPaths(key.publicKey, message, sig)).toBe(false);
    }
    expect(leniencyShown).toBeGreaterThan(0);
  });

  it('rejects the x = 0 encodings with the sign bit set, as A and as R', async () => {
    for (const h of [
      '0100000000000000000000000000000000000000000000000000000000000080',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ]) {
      const bad = fromHex(h);
      expect(() => Point.fromBytes(bad, false)).toThrow(); // RFC 8032 decoding fails
      expect(await allPaths(bad, message, honest)).toBe(false);
      expect(await allPaths(key.publicKey, message, concat(bad, honest.subarray(32)))).toBe(false);
    }
  });

  it('rejects a public key that is not a curve point', async () => {
    const notOnCurve = le32(2n); // y = 2 has no x
    expect(() => Point.fromBytes(notOnCurve, false)).toThrow();
    expect(passesPolicy(notOnCurve, message, honest)).toBe(true); // the policy does not decode
    expect(await allPaths(notOnCurve, message, honest)).toBe(false);
  });

  it('rejects wrong lengths and non-byte inputs without throwing', async () => {
    const pk = key.publicKey;
    const cases: [Uint8Array, Uint8Array][] = [
      [pk.subarray(0, 31), honest],
      [concat(pk, Uint8Array.of(0)), honest],
      [new Uint8Array(0), honest],
      [pk, honest.subarray(0, 63)],
      [pk, concat(honest, Uint8Array.of(0))],
      [pk, new Uint8Array(0)],
      [new Uint8Array(0), new Uint8Array(0)],
    ];
    for (const [k, sig] of cases) {
      expect(passesPolicy(k, message, sig)).toBe(false);
      expect(await allPaths(k, message, sig)).toBe(false);
    }
    const junk = [
      undefined,
      null,
      'abc',
      42,
      [1, 2, 3],
      {},
      new Uint16Array(16),
      hostileBytes(),
    ] as unknown as Uint8Array[];
    for (const j of junk) {
      expect(verifySync(j, message, honest)).toBe(false);
      expect(verifySync(pk, j, honest)).toBe(false);
      expect(verifySync(pk, message, j)).toBe(false);
      expect(await verify(j, message, honest)).toBe(false);
      expect(await verify(pk, j, honest)).toBe(false);
      expect(await verifyNative(pk, message, j)).toBe(false);
    }
  });

  it('rejects a mixed-order R that the cofactored equation accepts', async () => {
    // An honest signing process, except R = [r]B + T for T of order 8. Then [S]B - [k]A = [r]B,
    // which differs from R by T: the cofactored check ([8] kills T) passes, the cofactorless fails.
    for (let i = 0; i < 8; i++) {
      const r = scalarFrom(`mixed R nonce ${i}`);
      const rBytes = Point.BASE.multiply(r).add(T8).toBytes();
      const s = Point.Fn.create(r + challenge(rBytes, key.publicKey, message) * key.a);
      const sig = concat(rBytes, le32(s));
      expect(cofactoredStrictAccepts(key.publicKey, message, sig)).toBe(true);
      expect(passesPolicy(key.publicKey, message, sig)).toBe(true); // R itself is not small-order
      expect(await allPaths(key.publicKey, message, sig)).toBe(false);
    }
  });

  it('treats a mixed-order A the same on both paths: accept exactly when [k]T is the identity', async () => {
    // A' = A + T. With S = r + k*a: [S]B - [k]A' = R - [k]T, which encodes to R iff 8 divides k.
    const mixedA = key.point.add(T8).toBytes();
    const r = scalarFrom('mixed A nonce');
    const rBytes = Point.BASE.multiply(r).toBytes();
    const outcomes = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 64; i++) {
      const m = utf8Bytes(`mixed-order key message ${i}`);
      const k = challenge(rBytes, mixedA, m);
      const sig = concat(rBytes, le32(Point.Fn.create(r + k * key.a)));
      const expected = T8.multiplyUnsafe(k).is0();
      expect(expected).toBe(k % 8n === 0n);
      expect(cofactoredStrictAccepts(mixedA, m, sig)).toBe(true);
      expect(await allPaths(mixedA, m, sig)).toBe(expected);
      outcomes[expected ? 'accepted' : 'rejected']++;
    }
    // The 64 fixed messages must exercise both outcomes, or this test would prove only one.
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it('does not throw on S = 0 or an all-zero signature', async () => {
    expect(
      await allPaths(key.publicKey, message, concat(honest.subarray(0, 32), new Uint8Array(32))),
    ).toBe(false);
    expect(await allPaths(key.publicKey, message, new Uint8Array(64))).toBe(false); // R = y 0: small order
  });
});

// ------------------------------------------------------------------------------------------------
// Properties

describe('properties', () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('honest signatures are accepted by both paths', async () => {
    await fc.assert(
      fc.asyncProperty(seed, bytes(300), async (s, m) => {
        const { publicKey, secretKey } = generateKeyPair(s);
        expect(await allPaths(publicKey, m, sign(secretKey, m))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('random 64-byte signatures are rejected by both paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        seed,
        bytes(100),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        async (s, m, sig) => {
          const { publicKey } = generateKeyPair(s);
          expect(await allPaths(publicKey, m, sig)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random R with an in-range S reaches the equation and is rejected by both paths', async () => {
    await fc.assert(
      fc.asyncProperty(seed, bytes(100), bytes32, bytes32, async (s, m, r, sBytes) => {
        const { publicKey } = generateKeyPair(s);
        const inRange = Uint8Array.from(sBytes);
        inRange[31] = (inRange[31] ?? 0) & 0x0f; // < 2^252 < L
        expect(await allPaths(publicKey, m, concat(r, inRange))).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('random public keys (about half are curve points) give the same answer on both paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes32,
        bytes(64),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        async (pk, m, sig) => {
          const s = Uint8Array.from(sig);
          s[63] = (s[63] ?? 0) & 0x0f;
          expect(await allPaths(pk, m, s)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('one flipped bit anywhere in key, message or signature is rejected by both paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        seed,
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.constantFrom('pk', 'msg', 'sig'),
        async (s, m, bit, where) => {
          const { publicKey, secretKey } = generateKeyPair(s);
          const sig = sign(secretKey, m);
          if (where === 'pk')
            expect(await allPaths(flipBit(publicKey, bit % 256), m, sig)).toBe(false);
          if (where === 'msg')
            expect(await allPaths(publicKey, flipBit(m, bit % (m.length * 8)), sig)).toBe(false);
          if (where === 'sig')
            expect(await allPaths(publicKey, m, flipBit(sig, bit % 512))).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// SignatureVerifier

describe('SignatureVerifier', () => {
  const keys = [1, 2, 3].map((b) => generateKeyPair(new Uint8Array(32).fill(b)));
  const items = keys.flatMap((kp, i) =>
    [0, 1, 2].map((j) => {
      const message = utf8Bytes(`block ${i}.${j}`);
      return { publicKey: kp.publicKey, message, signature: sign(kp.secretKey, message) };
    }),
  );
  const first = items[0];
  if (first === undefined) throw new Error('no items');
  const forged = { ...first, message: utf8Bytes('forged') };

  it('answers from the cache after preverify, counting native verifications', async () => {
    const verifier = new SignatureVerifier();
    await verifier.preverify([...items, forged, ...items]); // duplicates are verified once
    expect(verifier.stats).toEqual({ hits: 0, misses: 0, native: items.length + 1, pureJs: 0 });
    for (const it of items)
      expect(verifier.check(it.publicKey, it.message, it.signature)).toBe(true);
    expect(verifier.check(forged.publicKey, forged.message, forged.signature)).toBe(false);
    expect(verifier.stats).toEqual({
      hits: items.length + 1,
      misses: 0,
      native: items.length + 1,
      pureJs: 0,
    });
    await verifier.preverify(items); // all cached: nothing new to verify
    expect(verifier.stats.native).toBe(items.length + 1);
  });

  it('falls back to verifySync on a miss and caches the answer', () => {
    const verifier = new SignatureVerifier();
    expect(verifier.check(first.publicKey, first.message, first.signature)).toBe(true);
    expect(verifier.check(forged.publicKey, forged.message, forged.signature)).toBe(false);
    expect(verifier.stats).toEqual({ hits: 0, misses: 2, native: 0, pureJs: 2 });
    expect(verifier.check(first.publicKey, first.message, first.signature)).toBe(true);
    expect(verifier.check(forged.publicKey, forged.message, forged.signature)).toBe(false);
    expect(verifier.stats).toEqual({ hits: 2, misses: 2, native: 0, pureJs: 2 });
  });

  it('is bounded, forgets the oldest first, and stays correct after eviction', async () => {
    const verifier = new SignatureVerifier({ maxEntries: 2 });
    // One call each: within one preverify the results land in completion order, which is not fixed.
    for (const item of items.slice(0, 3)) await verifier.preverify([item]);
    expect(verifier.size).toBe(2);
    const [oldest, , newest] = items;
    if (oldest === undefined || newest === undefined) throw new Error('no items');
    expect(verifier.check(newest.publicKey, newest.message, newest.signature)).toBe(true);
    expect(verifier.stats.hits).toBe(1);
    expect(verifier.check(oldest.publicKey, oldest.message, oldest.signature)).toBe(true);
    expect(verifier.stats.misses).toBe(1);
    expect(verifier.size).toBe(2);
    expect(() => new SignatureVerifier({ maxEntries: 0 })).toThrow(RangeError);
  });

  it('cannot be poisoned through the ambiguity of pk || sig with wrong lengths', async () => {
    const verifier = new SignatureVerifier();
    // Same bytes as pk || sig, split 31/65 instead of 32/64: must not plant `false` for the real triple.
    const shiftedKey = first.publicKey.subarray(0, 31);
    const shiftedSig = concat(first.publicKey.subarray(31), first.signature);
    await verifier.preverify([
      { publicKey: shiftedKey, message: first.message, signature: shiftedSig },
    ]);
    expect(verifier.check(shiftedKey, first.message, shiftedSig)).toBe(false);
    expect(verifier.check(first.publicKey, first.message, first.signature)).toBe(true);
  });

  it('binds each result to the bytes it was given, even if the caller reuses its buffers', async () => {
    const verifier = new SignatureVerifier();
    const buffer = Uint8Array.from(first.message);
    const pending = verifier.preverify([{ ...first, message: buffer }]);
    buffer[0] = (buffer[0] ?? 0) ^ 1; // before the native verification has read it
    await pending;
    expect(verifier.check(first.publicKey, first.message, first.signature)).toBe(true);
    expect(verifier.check(first.publicKey, buffer, first.signature)).toBe(false);
    expect(verifier.stats.hits).toBe(1);
  });

  it('preverify never rejects on garbage', async () => {
    const verifier = new SignatureVerifier();
    const junk = { publicKey: null, message: 'x', signature: 7 } as unknown as {
      publicKey: Uint8Array;
      message: Uint8Array;
      signature: Uint8Array;
    };
    const hostile = { ...first, publicKey: hostileBytes() };
    await expect(
      verifier.preverify([junk, hostile, { ...first, signature: new Uint8Array(64) }]),
    ).resolves.toBeUndefined();
    expect(verifier.check(hostile.publicKey, hostile.message, hostile.signature)).toBe(false);
    expect(verifier.check(junk.publicKey, junk.message, junk.signature)).toBe(false);
  });
});
