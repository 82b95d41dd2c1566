// Where the time goes: a sampled CPU profile of the main thread (V8's profiler through
// node:inspector, 1 ms interval, negligible overhead) with every sample put in one bucket by the
// functions on its stack. The buckets answer the question the issue asks ("report where the rest
// of the time goes") without hand-placed timers in the code under test.

import { Session, type Profiler } from 'node:inspector/promises';

/** A bucket: its label, and which stack frames make a sample belong to it. */
interface Bucket {
  readonly label: string;
  readonly matches: (frame: Profiler.ProfileNode['callFrame']) => boolean;
}

const inFile = (path: string) => (f: Profiler.ProfileNode['callFrame']) => f.url.includes(path);
const fn =
  (path: string, ...names: string[]) =>
  (f: Profiler.ProfileNode['callFrame']) =>
    f.url.includes(path) && names.includes(f.functionName);

/** The in-process client's share: work a real client does on its own device. */
export const clientLabel = 'client: making and signing transactions (city workload)';

/**
 * The buckets, in precedence order: a sample goes to the first bucket that matches any frame of
 * its stack. So time spent verifying inside a ledger check counts as verification, and the
 * client's signing counts as client work, not as signing by validators.
 */
const buckets: readonly Bucket[] = [
  {
    label: 'setup: the city, and the genesis hash and ledger of every replica',
    matches: fn('/src/sim/simulator.ts', 'Simulation'),
  },
  { label: clientLabel, matches: fn('/src/ledger/city.ts', 'nextBatch') },
  {
    label: 'signing own votes, proposals, attestations (@noble/curves)',
    matches: fn('/src/crypto/keys.ts', 'sign'),
  },
  {
    label: 'verification cache lookups (SHA-256 of key, signature and message per check)',
    matches: fn('/src/crypto/verify.ts', 'cacheKey'),
  },
  {
    label:
      'verification on the main thread: WebCrypto call overhead, policy, copies, pure-JS fallback',
    // WebCrypto's own module too: promise callbacks of a verification run without our frames.
    matches: (f) =>
      f.url.includes('/src/crypto/verify.ts') || f.url === 'node:internal/crypto/util',
  },
  {
    label: 'listing signed items of each message (CBOR re-encoding)',
    matches: fn('/src/protocol/signing.ts', 'signedItemsOf'),
  },
  {
    label: 'simulator trace hash and monitor',
    matches: fn('/src/sim/simulator.ts', 'record', 'observe', 'checkLedgers', 'minHonestHeight'),
  },
  {
    label: 'validators outside the committee (and laggards): checking and executing decided blocks',
    matches: fn('/src/protocol/replica.ts', 'onCommittedBlocks'),
  },
  { label: 'ledger: checking and applying transactions', matches: inFile('/src/ledger/') },
  {
    label: 'protocol: replica and chain logic, hashing, encoding',
    matches: inFile('/src/protocol/'),
  },
  { label: 'simulator: queue and network model', matches: inFile('/src/sim/') },
];

const idleLabel = 'idle: main thread waiting (for native verifications on the thread pool)';
const gcLabel = 'garbage collection';
const otherLabel = 'other (runtime, module loading, bench harness)';

export interface Breakdown {
  /** Milliseconds of main-thread time covered by the profile. */
  readonly totalMs: number;
  /** Label → milliseconds, largest first. */
  readonly buckets: readonly { readonly label: string; readonly ms: number }[];
}

/** Starts the sampling profiler; `stop()` ends it and returns the breakdown. */
export async function startProfile(): Promise<{ stop(): Promise<Breakdown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1_000 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await session.post('Profiler.disable');
      session.disconnect();
      return breakdownOf(profile);
    },
  };
}

function breakdownOf(profile: Profiler.Profile): Breakdown {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

  // Each profile node's bucket, computed once per node rather than per sample.
  const bucketOfNode = new Map<number, string>();
  const bucketOf = (id: number): string => {
    const known = bucketOfNode.get(id);
    if (known !== undefined) return known;
    const leaf = nodes.get(id)!.callFrame.functionName;
    let label: string;
    if (leaf === '(idle)') label = idleLabel;
    else if (leaf === '(garbage collector)') label = gcLabel;
    else {
      const stack: Profiler.ProfileNode['callFrame'][] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
        stack.push(nodes.get(at)!.callFrame);
      label = buckets.find((b) => stack.some(b.matches))?.label ?? otherLabel;
    }
    bucketOfNode.set(id, label);
    return label;
  };

  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample: it belongs to the sample before it.
    const us = deltas[i + 1] ?? 0;
    const label = bucketOf(samples[i]!);
    totals.set(label, (totals.get(label) ?? 0) + us);
    totalUs += us;
  }
  return {
    totalMs: totalUs / 1000,
    buckets: [...totals]
      .map(([label, us]) => ({ label, ms: us / 1000 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

/** "label 12.3 %" lines for notes, the biggest buckets first (at most `limit`). */
export function breakdownNotes(b: Breakdown, limit = 12): string[] {
  if (b.totalMs <= 0) return [];
  return b.buckets
    .slice(0, limit)
    .filter((x) => x.ms > 0)
    .map((x) => `${((100 * x.ms) / b.totalMs).toFixed(1).padStart(5)} %  ${x.label}`);
}
