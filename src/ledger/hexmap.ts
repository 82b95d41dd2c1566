// A persistent (immutable, structurally shared) map keyed by 64-char lowercase hex strings: account
// ids (Ed25519 public keys) and bill ids (SHA-256 hashes).
//
// Structure: a 16-way trie over the hex digits of the key, with path compression at the leaves (a
// leaf sits at the shallowest depth where its key prefix is unique). `set` copies only the nodes on
// one root-to-leaf path (at most 16 slots each), so deriving a new ledger state from an old one
// costs O(touched entries × depth) and the old state stays valid and untouched. Keys are hashes or
// public keys, so the trie is balanced in practice: depth ≈ log16(size) (4 for 65 000 entries);
// grinding keys that share a long prefix costs 16^depth key generations, and depth is capped at 64.
//
// The trie has no deletion (the ledger never removes accounts or bills), so its shape is a function
// of its key set only (history independent). That makes `digest()` — a Merkle root over the trie,
// memoised per node — equal on every replica that holds the same entries, whatever the order in
// which they were inserted, and cheap to recompute after a block (only the copied nodes are new).
//
// Iteration is in ascending key order.

import { type Canonical, encodeCanonical, sha256Bytes, toHex } from '../crypto/index.ts';

/** How a value is turned into canonical CBOR for the Merkle digest. */
export type ValueEncoder<V> = (value: V) => Canonical;

const keyPattern = /^[0-9a-f]{64}$/;
export const hexKeyLength = 64;

class Leaf<V> {
  /** Memoised Merkle hash; nodes are never mutated otherwise. */
  hash: Uint8Array | undefined = undefined;
  constructor(
    readonly key: string,
    readonly value: V,
  ) {}
}

class Branch<V> {
  hash: Uint8Array | undefined = undefined;
  constructor(readonly children: readonly (Node<V> | undefined)[]) {}
}

type Node<V> = Leaf<V> | Branch<V>;

function digitAt(key: string, depth: number): number {
  const c = key.charCodeAt(depth);
  // '0'..'9' → 0..9, 'a'..'f' → 10..15. Other characters give an index outside 0..15 or a wrong
  // slot; lookups always compare the full key at the leaf, so a bad key simply is not found.
  return c <= 57 ? c - 48 : c - 87;
}

const emptyChildren: readonly (Node<never> | undefined)[] = Object.freeze(
  new Array(16).fill(undefined),
);

function split<V>(a: Leaf<V>, b: Leaf<V>, depth: number): Branch<V> {
  const children: (Node<V> | undefined)[] = new Array(16).fill(undefined);
  const ia = digitAt(a.key, depth);
  const ib = digitAt(b.key, depth);
  if (ia === ib) children[ia] = split(a, b, depth + 1);
  else {
    children[ia] = a;
    children[ib] = b;
  }
  return new Branch(children);
}

function insert<V>(
  node: Branch<V>,
  key: string,
  value: V,
  depth: number,
): { node: Branch<V>; added: boolean } {
  const i = digitAt(key, depth);
  const child = node.children[i];
  let replacement: Node<V>;
  let added: boolean;
  if (child === undefined) {
    replacement = new Leaf(key, value);
    added = true;
  } else if (child instanceof Leaf) {
    if (child.key === key) {
      if (Object.is(child.value, value)) return { node, added: false };
      replacement = new Leaf(key, value);
      added = false;
    } else {
      replacement = split(child, new Leaf(key, value), depth + 1);
      added = true;
    }
  } else {
    const inner = insert(child, key, value, depth + 1);
    if (inner.node === child) return { node, added: false };
    replacement = inner.node;
    added = inner.added;
  }
  const children = node.children.slice();
  children[i] = replacement;
  return { node: new Branch(children), added };
}

function* walk<V>(node: Node<V>): Generator<Leaf<V>> {
  if (node instanceof Leaf) {
    yield node;
    return;
  }
  for (const child of node.children) if (child !== undefined) yield* walk(child);
}

function hashNode<V>(node: Node<V>, encode: ValueEncoder<V>): Uint8Array {
  if (node.hash !== undefined) return node.hash;
  let hash: Uint8Array;
  if (node instanceof Leaf) {
    hash = sha256Bytes(encodeCanonical(['leaf', node.key, encode(node.value)]));
  } else {
    const childHashes: (Uint8Array | null)[] = node.children.map((c) =>
      c === undefined ? null : hashNode(c, encode),
    );
    hash = sha256Bytes(encodeCanonical(['branch', childHashes]));
  }
  node.hash = hash;
  return hash;
}

/** Immutable map from 64-char lowercase hex keys to values; every update returns a new map. */
export class HexMap<V> {
  private constructor(
    private readonly root: Branch<V>,
    /** Number of entries. */
    readonly size: number,
    private readonly encode: ValueEncoder<V>,
  ) {}

  /** An empty map whose Merkle digest encodes values with `encode`. */
  static empty<V>(encode: ValueEncoder<V>): HexMap<V> {
    return new HexMap<V>(
      new Branch<V>(emptyChildren as readonly (Node<V> | undefined)[]),
      0,
      encode,
    );
  }

  get(key: string): V | undefined {
    if (typeof key !== 'string' || key.length !== hexKeyLength) return undefined;
    let node: Node<V> | undefined = this.root;
    for (let depth = 0; node !== undefined; depth++) {
      if (node instanceof Leaf) return node.key === key ? node.value : undefined;
      node = node.children[digitAt(key, depth)];
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A new map with `key` set to `value` (the same map when nothing changes). Throws on a bad key. */
  set(key: string, value: V): HexMap<V> {
    if (!keyPattern.test(key))
      throw new RangeError(`HexMap key must be 64 lowercase hex chars, got ${JSON.stringify(key)}`);
    if (value === undefined) throw new TypeError('HexMap values cannot be undefined');
    const { node, added } = insert(this.root, key, value, 0);
    if (node === this.root) return this;
    return new HexMap(node, this.size + (added ? 1 : 0), this.encode);
  }

  /** Entries in ascending key order. */
  *entries(): Generator<[string, V]> {
    for (const leaf of walk(this.root)) yield [leaf.key, leaf.value];
  }

  *keys(): Generator<string> {
    for (const leaf of walk(this.root)) yield leaf.key;
  }

  *values(): Generator<V> {
    for (const leaf of walk(this.root)) yield leaf.value;
  }

  /**
   * Hex Merkle root of the map. Depends only on the entries (not on insertion order); memoised per
   * node, so after an update only the copied path is rehashed.
   */
  digest(): string {
    return toHex(hashNode(this.root, this.encode));
  }
}
