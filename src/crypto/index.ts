// Public face of src/crypto: keys, signing, verification, hashing and canonical encoding.
export { generateKeyPair, publicKeyOf, sign, type KeyPair } from './keys.ts';
export {
  nativeEd25519Available,
  passesPolicy,
  SignatureVerifier,
  verify,
  verifyNative,
  verifySync,
  type SignatureVerifierOptions,
  type SignatureVerifierStats,
  type SignedItem,
} from './verify.ts';
export * from './encoding.ts';
