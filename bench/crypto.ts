// Section 1 of the benchmark: the crypto limit. How many Ed25519 verifications per second one core
// can do on the native path and on the @noble/curves path, over the same messages, and how fast
// the project's `verify()` goes at its best batch size.
//
// The messages are real: signed city transactions (the bytes a validator checks most often),
// produced by the city workload, so their length and key spread are those of a run.

import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { nativeEd25519Available, verify, verifyNative, verifySync } from '../src/crypto/index.ts';
import { toHex } from '../src/crypto/encoding.ts';
import { createCity, createWorkload } from '../src/ledger/city.ts';
import { createLedger } from '../src/ledger/ledger.ts';
import { signedItemsOf, type SignedItem } from '../src/protocol/signing.ts';
import { round, type Progress, type Section } from './report.ts';

export interface CryptoOptions {
  readonly quick: boolean;
  readonly progress: Progress;
}

/** Batch sizes tried for `verify()` (signatures in flight at once). */
const batchSizes = [1, 4, 16, 64, 256, 1024] as const;

/** Signed city transactions as (public key, signed bytes, signature) triples. */
export function cityTransactionItems(count: number): SignedItem[] {
  const city = createCity({ seed: 5, households: 64, chainId: 'tierbft/bench' });
  const workload = createWorkload(city, { invalidShare: 0 });
  const batch = workload.nextBatch({ height: 1, ledger: createLedger(city.genesis()) }, count);
  return batch.flatMap((item) => signedItemsOf(city.chainId, { type: 'tx', tx: item.tx }));
}

/**
 * Runs `pass` (one sweep over every item, returning how many verified) until `minMs` have passed,
 * after one warm-up sweep so that key imports, JIT and caches do not count. Returns the best
 * sweep's verifications per second: on a shared machine the slower sweeps measure the neighbours.
 */
async function rate(
  items: readonly SignedItem[],
  minMs: number,
  pass: () => Promise<number> | number,
): Promise<number> {
  const warm = await pass();
  if (warm !== items.length) throw new Error(`a valid signature was rejected (${warm} ok)`);
  let best = 0;
  const start = performance.now();
  do {
    const sweepStart = performance.now();
    const verified = await pass();
    best = Math.max(best, (verified * 1000) / (performance.now() - sweepStart));
  } while (performance.now() - start < minMs);
  return best;
}

/** OpenSSL's Ed25519 through node:crypto: the native code WebCrypto runs, called synchronously. */
function openSslKeys(items: readonly SignedItem[]): Map<SignedItem, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const byItem = new Map<SignedItem, KeyObject>();
  for (const item of items) {
    const hex = toHex(item.publicKey);
    let key = keys.get(hex);
    if (key === undefined) {
      const x = Buffer.from(item.publicKey).toString('base64url');
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
      keys.set(hex, key);
    }
    byItem.set(item, key);
  }
  return byItem;
}

/** How long each path runs, and on how many signed transactions. */
function sizing(quick: boolean): { minMs: number; count: number } {
  return quick ? { minMs: 400, count: 256 } : { minMs: 2_000, count: 1024 };
}

/** OpenSSL verifications per second on one core, synchronously, over `items`. */
function nativeOneCore(items: readonly SignedItem[], minMs: number): Promise<number> {
  const keyObjects = openSslKeys(items);
  return rate(items, minMs, () => {
    let ok = 0;
    for (const item of items)
      if (nodeVerify(null, item.message, keyObjects.get(item)!, item.signature)) ok++;
    return ok;
  });
}

/** The native one-core rate alone, for a run that skips this section but needs its limit. */
export function measureNativeOneCore(quick: boolean): Promise<number> {
  const { minMs, count } = sizing(quick);
  return nativeOneCore(cityTransactionItems(count), minMs);
}

export async function cryptoBench(options: CryptoOptions): Promise<Section> {
  const { progress, quick } = options;
  const { minMs, count } = sizing(quick);
  const items = cityTransactionItems(count);
  const figures: Section['figures'] = {};
  const notes: string[] = [
    `${items.length} signed city transactions (the same set on every path); each figure is the best sweep over them, sweeping for at least ${minMs} ms after one warm-up sweep.`,
  ];

  if (!(await nativeEd25519Available()))
    notes.push('native Ed25519 is NOT available here: verify() falls back to the pure-JS path');

  progress(`crypto: native Ed25519 (OpenSSL, synchronous, one core) …`);
  const native = await nativeOneCore(items, minMs);
  figures.nativeOneCore = {
    value: Math.round(native),
    unit: 'verifications/s',
    note: 'OpenSSL Ed25519 via node:crypto.verify on the main thread: the code WebCrypto runs, without the hop to the thread pool',
  };

  progress(`crypto: @noble/curves path (verifySync, one core) …`);
  const noble = await rate(items, minMs, () => {
    let ok = 0;
    for (const item of items) if (verifySync(item.publicKey, item.message, item.signature)) ok++;
    return ok;
  });
  figures.nobleOneCore = {
    value: Math.round(noble),
    unit: 'verifications/s',
    note: "the project's pure-JS fallback: byte policy + cofactorless equation on @noble/curves points",
  };
  figures.nativeOverNoble = { value: round(native / noble, 2), unit: '×' };

  progress(`crypto: verifyNative (WebCrypto), one at a time …`);
  const oneByOne = await rate(items, minMs, async () => {
    let ok = 0;
    for (const item of items)
      if ((await verifyNative(item.publicKey, item.message, item.signature)) === true) ok++;
    return ok;
  });
  figures.webCryptoOneAtATime = {
    value: Math.round(oneByOne),
    unit: 'verifications/s',
    note: "the project's native path (policy + crypto.subtle), each awaited before the next: one core busy at a time, plus the thread-pool round trip",
  };

  let best = { size: 0, rate: 0 };
  for (const size of batchSizes) {
    progress(`crypto: verify() in batches of ${size} …`);
    const batched = await rate(items, minMs, async () => {
      let ok = 0;
      for (let at = 0; at < items.length; at += size) {
        const chunk = items.slice(at, at + size);
        const results = await Promise.all(
          chunk.map((item) => verify(item.publicKey, item.message, item.signature)),
        );
        ok += results.filter(Boolean).length;
      }
      return ok;
    });
    figures[`verifyBatch${size}`] = { value: Math.round(batched), unit: 'verifications/s' };
    if (batched > best.rate) best = { size, rate: batched };
  }
  figures.verifyBest = {
    value: Math.round(best.rate),
    unit: 'verifications/s',
    note: `verify() with ${best.size} signatures in flight; WebCrypto runs them on the libuv thread pool, so this uses every core`,
  };
  figures.verifyBestBatchSize = { value: best.size, unit: 'signatures in flight' };
  notes.push(
    `verify() spreads a batch over the libuv thread pool (${process.env.UV_THREADPOOL_SIZE ?? 4} threads) on this machine's cores; the one-core figures are the limit section 2 compares against.`,
  );
  return { figures, notes };
}
