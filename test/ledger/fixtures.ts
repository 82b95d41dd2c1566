// Shared fixtures for the ledger tests: a tiny hand-made network with deterministic keys.
import {
  type KeyPair,
  generateKeyPair,
  sha256Bytes,
  toHex,
  utf8Bytes,
  verifySync,
} from '../../src/crypto/index.ts';
import { type LedgerState, type TxContext, createLedger, signTx } from '../../src/ledger/ledger.ts';
import type { LedgerGenesis, SignedTx, TxBody } from '../../src/ledger/types.ts';

export const chainId = 'ledger-test-chain';

export interface Who {
  readonly id: string;
  readonly keys: KeyPair;
}

export function who(label: string): Who {
  const keys = generateKeyPair(sha256Bytes(utf8Bytes(`ledger-test/${label}`)));
  return { id: toHex(keys.publicKey), keys };
}

export const issuer = who('issuer');
export const alice = who('alice'); // household, funded
export const bob = who('bob'); // household, funded
export const power = who('power'); // provider (electricity)
export const water = who('water'); // provider (water)
export const val = who('validator'); // genesis validator
export const carol = who('carol'); // not in genesis
export const dave = who('dave'); // not in genesis

export const aliceFunds = { CNY: 100_000, eCNY: 50_000 } as const;
export const bobFunds = { CNY: 20_000, eCNY: 0 } as const;

export function genesis(): LedgerGenesis {
  return {
    chainId,
    issuer: issuer.id,
    accounts: [
      {
        id: issuer.id,
        kind: 'issuer',
        name: 'Issuer',
        category: null,
        balances: { CNY: 1_000_000, eCNY: 1_000_000 },
      },
      {
        id: alice.id,
        kind: 'household',
        name: 'Alice',
        category: null,
        balances: { ...aliceFunds },
      },
      { id: bob.id, kind: 'household', name: 'Bob', category: null, balances: { ...bobFunds } },
      { id: power.id, kind: 'provider', name: 'City Power', category: 'electricity' },
      { id: water.id, kind: 'provider', name: 'Water Works', category: 'water' },
    ],
    validators: [{ id: val.id, name: 'validator-0' }],
  };
}

export function freshLedger(): LedgerState {
  return createLedger(genesis());
}

export const ctx: TxContext = { height: 7, check: verifySync };
export const ctxAt = (height: number): TxContext => ({ height, check: verifySync });

export function tx(signer: Who, body: TxBody, chain: string = chainId): SignedTx {
  return signTx(chain, signer.keys.secretKey, signer.id, body);
}

/** Hex of 32 bytes that is not anyone's key. */
export function fakeId(label: string): string {
  return toHex(sha256Bytes(utf8Bytes(`ledger-test/fake/${label}`)));
}
