// Ed25519 key pairs and signing. Signing is deterministic (RFC 8032), so the pure protocol may sign
// its own messages without losing replayability. Verification lives in verify.ts.

import { ed25519 } from '@noble/curves/ed25519.js';

export interface KeyPair {
  /** The 32-byte RFC 8032 secret seed. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * A key pair from a 32-byte seed (deterministic: the simulator derives keys from its run seed),
 * or from the platform's CSPRNG when no seed is given (live tabs).
 */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  if (seed !== undefined && seed.length !== 32) throw new RangeError('key seed must be 32 bytes');
  const { secretKey, publicKey } = ed25519.keygen(seed);
  return { secretKey, publicKey };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}
