// PLACEHOLDER until the strict policy + native/noble paths land (being written now).
import { ed25519 } from '@noble/curves/ed25519.js';

export function verifySync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export async function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return verifySync(publicKey, message, signature);
}
