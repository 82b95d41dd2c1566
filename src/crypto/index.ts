// Public face of src/crypto: keys, signing, verification, hashing and canonical encoding.
export { generateKeyPair, publicKeyOf, sign, type KeyPair } from './keys.ts';
export { verify, verifySync } from './verify.ts';
export * from './encoding.ts';
