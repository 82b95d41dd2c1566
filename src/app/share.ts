// Structural sharing for the snapshots the page polls from its validator worker. Each snapshot is
// a fresh structured clone, so every object in it is new even when nothing changed, and Svelte
// (which compares by identity) would redraw every panel, row and cell each time. `share` hands
// back the new snapshot with every part that is deep-equal to the previous one replaced by the
// previous object: unchanged panels keep their props, keyed `{#each}` rows keep their items, and
// only what changed is redrawn. Comparing is far cheaper than redrawing (a snapshot is a few
// thousand plain values).

/** Fields that identify an item of a list (validators, bills, blocks, accounts, peers, …). */
const keyFields = ['id', 'hash', 'peerId'] as const;

function keyOf(item: unknown): unknown {
  if (typeof item !== 'object' || item === null) return undefined;
  for (const field of keyFields) {
    const key = (item as Record<string, unknown>)[field];
    if (key !== undefined && key !== '') return key;
  }
  return undefined;
}

const isPlainObject = (x: object) => {
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * `next`, with every part deep-equal to the matching part of `prev` replaced by that part of
 * `prev`; `prev` itself when the two are deep-equal. Plain objects match field by field; arrays
 * match item by item, by key (`id`, `hash` or `peerId`) where the items have one, so a list that
 * gained an item at the top still reuses the rest. Anything else (Maps, typed arrays, class
 * instances) is compared by identity.
 *
 * `next` must be the caller's own fresh data (a structured clone): its parts are replaced in
 * place, which saves copying it. `prev` is never modified.
 */
export function share<T>(prev: unknown, next: T): T {
  if (Object.is(prev, next)) return prev as T;
  if (typeof prev !== 'object' || typeof next !== 'object' || prev === null || next === null)
    return next;
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    const after = next as unknown[];
    let same = prev.length === after.length;
    let byKey: Map<unknown, unknown> | null = null;
    for (let i = 0; i < after.length; i++) {
      // The item at the same place first (most lists keep their order); else the one with its key.
      let old: unknown = prev[i];
      const key = keyOf(after[i]);
      if (key !== undefined && keyOf(old) !== key) {
        byKey ??= new Map(prev.map((p: unknown) => [keyOf(p), p]));
        old = byKey.get(key);
      }
      after[i] = share(old, after[i]);
      if (after[i] !== prev[i]) same = false;
    }
    return (same ? prev : next) as T;
  }
  if (Array.isArray(prev) || !isPlainObject(next) || !isPlainObject(prev)) return next;
  const before = prev as Record<string, unknown>;
  const after = next as Record<string, unknown>;
  const keys = Object.keys(after);
  let same = keys.length === Object.keys(before).length;
  for (const k of keys) {
    after[k] = share(before[k], after[k]);
    if (after[k] !== before[k] || !(k in before)) same = false;
  }
  return (same ? prev : next) as T;
}
