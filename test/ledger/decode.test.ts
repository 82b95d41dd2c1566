// decodeTx: the defensive schema check of untrusted decoded values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Canonical,
  decodeCanonical,
  encodeCanonical,
  fromHex,
  verifySync,
} from '../../src/crypto/index.ts';
import {
  checkTx,
  decodeTx,
  maxAmount,
  maxNameLength,
  maxPeriodLength,
  txIdOf,
  txSigningBytes,
} from '../../src/ledger/ledger.ts';
import type { SignedTx, TxBody } from '../../src/ledger/types.ts';
import { alice, bob, chainId, freshLedger, power, tx } from './fixtures.ts';

const bodies: TxBody[] = [
  { type: 'register', nonce: 0, kind: 'household', name: 'Carol', category: null },
  { type: 'register', nonce: 0, kind: 'provider', name: 'Gas Co', category: 'gas' },
  { type: 'mint', nonce: 3, to: bob.id, asset: 'eCNY', amount: 12 },
  {
    type: 'issue-bill',
    nonce: 9,
    payer: bob.id,
    asset: 'CNY',
    amount: 4_500,
    period: '2026-11',
    dueHeight: 120,
  },
  { type: 'pay-bill', nonce: 1, billId: 'ab'.repeat(32) },
  { type: 'transfer', nonce: 2, to: bob.id, asset: 'CNY', amount: maxAmount },
  { type: 'validator-join', nonce: 0, name: 'node-7' },
  { type: 'validator-leave', nonce: 4 },
];

/** Plain (JSON-like) copy of a signed tx with `edit` applied, as an attacker could send it. */
function mutated(
  edit: (raw: Record<string, unknown> & { body: Record<string, unknown> }) => void,
  body: TxBody = bodies[5]!,
): unknown {
  const t = tx(alice, body);
  const raw = {
    chainId: t.chainId,
    signer: t.signer,
    body: { ...t.body } as Record<string, unknown>,
    sig: t.sig as unknown,
  };
  edit(raw);
  return raw;
}

function rejects(value: unknown, pattern: RegExp): void {
  let r: ReturnType<typeof decodeTx> | undefined;
  expect(() => {
    r = decodeTx(value);
  }).not.toThrow();
  expect(r?.ok).toBe(false);
  if (r !== undefined && !r.ok) expect(r.reason).toMatch(pattern);
}

describe('decodeTx accepts what signTx produces, after a canonical CBOR round trip', () => {
  it.each(bodies.map((b) => [b.type, b] as const))('%s', (_type, body) => {
    const t = tx(alice, body);
    const wire = encodeCanonical(t as unknown as Canonical);
    const decoded = decodeCanonical(wire);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const r = decodeTx(decoded.value);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.tx).toEqual(t);
    expect(r.tx).not.toBe(decoded.value); // a fresh object
    expect(txIdOf(r.tx)).toBe(txIdOf(t));
    expect(
      verifySync(
        fromHex(r.tx.signer),
        txSigningBytes(r.tx.chainId, r.tx.signer, r.tx.body),
        r.tx.sig,
      ),
    ).toBe(true);
  });

  it('values whose validity depends on the ledger (negative amount, unknown asset) pass the schema', () => {
    expect(decodeTx(mutated((raw) => (raw.body['amount'] = -5))).ok).toBe(true);
    expect(decodeTx(mutated((raw) => (raw.body['asset'] = 'USD'))).ok).toBe(true);
  });

  it('names count code points: 48 astral characters are fine, 49 are not', () => {
    const body = bodies[6]!;
    expect(
      decodeTx(mutated((raw) => (raw.body['name'] = '😀'.repeat(maxNameLength)), body)).ok,
    ).toBe(true);
    rejects(
      mutated((raw) => (raw.body['name'] = '😀'.repeat(maxNameLength + 1)), body),
      /name/,
    );
  });
});

describe('decodeTx rejects malformed values without throwing', () => {
  const cases: [string, unknown, RegExp][] = [
    ['null', null, /map/],
    ['a number', 42, /map/],
    ['an array', [chainId, alice.id, {}, new Uint8Array(64)], /map/],
    ['a Map instance', new Map([['chainId', chainId]]), /map/],
    [
      'a missing field',
      mutated((raw) => delete (raw as Record<string, unknown>)['sig']),
      /missing field sig/,
    ],
    [
      'an extra top-level field',
      mutated((raw) => ((raw as Record<string, unknown>)['fee'] = 1)),
      /unexpected field fee/,
    ],
    ['an extra body field', mutated((raw) => (raw.body['memo'] = 'x')), /unexpected field memo/],
    ['a missing body field', mutated((raw) => delete raw.body['to']), /missing field to/],
    [
      'an own __proto__ key',
      JSON.parse(`{"chainId":"c","signer":"${alice.id}","body":{},"sig":0,"__proto__":1}`),
      /unexpected field __proto__/,
    ],
    ['an unknown type', mutated((raw) => (raw.body['type'] = 'steal')), /unknown transaction type/],
    ['a float amount', mutated((raw) => (raw.body['amount'] = 1.5)), /amount must be an integer/],
    ['a string amount', mutated((raw) => (raw.body['amount'] = '100')), /amount must be a number/],
    [
      'an amount above 10^15',
      mutated((raw) => (raw.body['amount'] = maxAmount + 1)),
      /amount out of range/,
    ],
    [
      'an amount below -10^15',
      mutated((raw) => (raw.body['amount'] = -maxAmount - 1)),
      /amount out of range/,
    ],
    ['NaN', mutated((raw) => (raw.body['amount'] = Number.NaN)), /amount must be an integer/],
    ['a negative nonce', mutated((raw) => (raw.body['nonce'] = -1)), /nonce out of range/],
    ['an unsafe nonce', mutated((raw) => (raw.body['nonce'] = 2 ** 53)), /nonce out of range/],
    ['a bigint nonce', mutated((raw) => (raw.body['nonce'] = 1n)), /nonce must be a number/],
    [
      'an uppercase hex signer',
      mutated((raw) => (raw.signer = alice.id.toUpperCase())),
      /signer must be 64 lowercase hex/,
    ],
    ['a 31-byte signer', mutated((raw) => (raw.signer = alice.id.slice(2))), /signer/],
    [
      'a non-hex recipient',
      mutated((raw) => (raw.body['to'] = 'z'.repeat(64))),
      /to must be 64 lowercase hex/,
    ],
    [
      'a bill id of wrong length',
      mutated((raw) => (raw.body['billId'] = 'ab'.repeat(31)), bodies[4]),
      /billId/,
    ],
    [
      'a 63-byte signature',
      mutated((raw) => (raw.sig = new Uint8Array(63))),
      /sig must be 64 bytes/,
    ],
    [
      'a signature as an array',
      mutated((raw) => (raw.sig = Array.from({ length: 64 }, () => 0))),
      /sig must be a byte string/,
    ],
    [
      'a signature as hex',
      mutated((raw) => (raw.sig = 'ab'.repeat(64))),
      /sig must be a byte string/,
    ],
    ['an empty chain id', mutated((raw) => (raw.chainId = '')), /chainId/],
    [
      'a long name',
      mutated((raw) => (raw.body['name'] = 'x'.repeat(maxNameLength + 1)), bodies[6]),
      /name/,
    ],
    ['an empty name', mutated((raw) => (raw.body['name'] = ''), bodies[0]), /name/],
    [
      'a name with a control character',
      mutated((raw) => (raw.body['name'] = 'evil\u0007'), bodies[6]),
      /name/,
    ],
    [
      'a name with a lone surrogate',
      mutated((raw) => (raw.body['name'] = 'a\ud800b'), bodies[6]),
      /name/,
    ],
    [
      'a long period',
      mutated((raw) => (raw.body['period'] = 'p'.repeat(maxPeriodLength + 1)), bodies[3]),
      /period/,
    ],
    [
      'a negative due height',
      mutated((raw) => (raw.body['dueHeight'] = -1), bodies[3]),
      /dueHeight/,
    ],
    [
      'a provider without category',
      mutated((raw) => (raw.body['category'] = null), bodies[1]),
      /category/,
    ],
    [
      'a household with a category',
      mutated((raw) => (raw.body['category'] = 'water'), bodies[0]),
      /category/,
    ],
    [
      'an unknown category',
      mutated((raw) => (raw.body['category'] = 'casino'), bodies[1]),
      /category/,
    ],
    ['an unknown account kind', mutated((raw) => (raw.body['kind'] = 'issuer'), bodies[0]), /kind/],
    ['an asset that is not a symbol', mutated((raw) => (raw.body['asset'] = 'C N Y')), /asset/],
    ['a long asset', mutated((raw) => (raw.body['asset'] = 'A'.repeat(17))), /asset/],
    ['an asset of the wrong type', mutated((raw) => (raw.body['asset'] = 1)), /asset/],
    [
      'a body that is an array',
      mutated((raw) => ((raw as Record<string, unknown>)['body'] = [1, 2])),
      /body must be a map/,
    ],
  ];

  it.each(cases)('%s', (_name, value, pattern) => {
    rejects(value, pattern);
  });

  it('a value whose every access throws (a hostile Proxy) is rejected, not thrown', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('gotcha');
        },
        ownKeys() {
          throw new Error('gotcha');
        },
        getPrototypeOf() {
          throw new Error('gotcha');
        },
      },
    );
    rejects(hostile, /unreadable|map/);
  });

  it('never throws on arbitrary values (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withTypedArray: true,
          withBigInt: true,
          withNullPrototype: true,
          withMap: true,
        }),
        (v) => {
          const r = decodeTx(v);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on mutations of a valid transaction, and what it accepts checkTx can evaluate', () => {
    const base = tx(power, bodies[3]!);
    const fields = [
      'chainId',
      'signer',
      'sig',
      'body.type',
      'body.nonce',
      'body.payer',
      'body.asset',
      'body.amount',
      'body.period',
      'body.dueHeight',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...fields),
        fc.anything({ withTypedArray: true }),
        (field, value) => {
          const raw: Record<string, unknown> = { ...base, body: { ...base.body } };
          if (field.startsWith('body.'))
            (raw['body'] as Record<string, unknown>)[field.slice(5)] = value;
          else raw[field] = value;
          const r = decodeTx(raw);
          if (r.ok) {
            const res = checkTx(freshLedger(), r.tx, { height: 1, check: verifySync });
            expect(typeof res.ok).toBe('boolean');
          }
          // The same mutated value given straight to checkTx is rejected as malformed, not thrown.
          if (!r.ok) {
            const res = checkTx(freshLedger(), raw as unknown as SignedTx, {
              height: 1,
              check: verifySync,
            });
            expect(res.ok ? 'ok' : res.reason).toBe('malformed');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
