/**
 * RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, proofs and proof verification.
 *
 * Per appliance, leaf i of the evidence log is the line of bundle `seq = i + 1` (docs/protocol.md). Hashing:
 * - leaf hash `SHA-256(0x00 ‖ line)`, node hash `SHA-256(0x01 ‖ left ‖ right)`; the distinct prefixes stop a
 *   leaf from ever being passed off as an inner node (second-preimage resistance);
 * - the tree over n leaves splits at k, the largest power of two below n: MTH(D[n]) = H(MTH(D[0:k]),
 *   MTH(D[k:n])); the empty tree's hash is SHA-256("").
 *
 * Two containers:
 * - `MerkleAccumulator` keeps only the roots of the perfect subtrees covering the leaves so far (the "compact
 *   range", one per set bit of the size: O(log n) state), which is all an appender needs for `root()`;
 * - `MerkleTree` keeps every leaf and every perfect subtree hash (2n hashes) so it can also serve inclusion
 *   and consistency proofs for any earlier size in O(log² n).
 *
 * The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 and never throw on untrusted input: any proof that is
 * not exactly right — wrong length, wrong hash sizes, impossible index or sizes — yields `false`. Builders
 * throw RangeError for arguments that cannot describe a proof, since those are programming errors.
 *
 * Sizes and indices are JavaScript numbers, exact up to 2^53 − 1; the arithmetic avoids 32-bit bitwise
 * operators so it stays exact across that range.
 */
import { bytesEqual, concatBytes, fromHex } from "./encoding.ts";
import { sha256, sha256Hex } from "./hash.ts";

/** Bytes in every leaf, node and root hash (SHA-256). */
export const HASH_SIZE = 32;
/** Largest tree size handled: sizes and indices must be exact JavaScript integers. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;
/**
 * Longest proof any verifier looks at. A tree of 2^53 leaves is 53 levels deep; an inclusion proof has at
 * most one hash per level and a consistency proof at most one more, so nothing valid comes near 64.
 */
export const MAX_PROOF_HASHES = 64;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * RFC 6962 leaf hash of one log entry: SHA-256(0x00 ‖ line). A string line stands for its UTF-8 bytes and is
 * hashed without encoding it here: U+0000 encodes as the single byte 0x00, so "\u0000" + line is the same input.
 */
export function leafHash(line: Uint8Array | string): Uint8Array {
  return typeof line === "string" ? fromHex(leafHashHex(line)) : sha256(concatBytes(LEAF_PREFIX, line));
}

/** `leafHash` of a string line as lower-case hex (what the relay stores next to the line). */
export function leafHashHex(line: string): string {
  return sha256Hex("\u0000" + line);
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** Root hash of the empty tree: SHA-256 of the empty string (a fresh copy each call). */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

// ---- integer helpers (exact up to 2^53 − 1, unlike `>>` and `&`) -------------------------------------

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** Largest power of two strictly below n (n ≥ 2): the split point k of RFC 9162 §2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && splitPoint(n + 1) === n;
}

/** log2 of a power of two. */
function levelOf(n: number): number {
  let level = 0;
  for (let m = n; m > 1; m /= 2) level++;
  return level;
}

function popCount(n: number): number {
  let count = 0;
  for (let m = n; m > 0; m = half(m)) if (isOdd(m)) count++;
  return count;
}

function isSize(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

function checkHash(what: string, h: unknown): Uint8Array {
  if (!isHash(h)) {
    const got = h instanceof Uint8Array ? `${h.length} bytes` : typeof h;
    throw new TypeError(`Cannot use ${what}: expected a ${HASH_SIZE}-byte hash, got ${got}`);
  }
  return h;
}

// ---- accumulator (compact range) ----------------------------------------------------------------------

/** The persistent state of a MerkleAccumulator: the size and the roots of its perfect subtrees, left first. */
export interface AccumulatorState {
  size: number;
  peaks: Uint8Array[];
}

/**
 * Append-only Merkle root in O(log n) space. `peaks[i]` is the root of a perfect subtree; their sizes are the
 * set bits of `size`, largest (leftmost) first. Appending a leaf merges equal-sized neighbours like binary
 * carry; the root folds the peaks from the right, which is exactly MTH's split at the largest power of two.
 */
export class MerkleAccumulator {
  #size = 0;
  #peaks: Uint8Array[] = [];

  /** Restores an accumulator saved with `state`; the number of peaks must match the size's set bits. */
  static fromState(state: AccumulatorState): MerkleAccumulator {
    if (!isSize(state.size)) throw new RangeError(`Cannot restore accumulator: size must be a non-negative safe integer, got ${state.size}`);
    const want = popCount(state.size);
    if (state.peaks.length !== want) {
      throw new RangeError(`Cannot restore accumulator: a tree of size ${state.size} has ${want} peaks, got ${state.peaks.length}`);
    }
    const acc = new MerkleAccumulator();
    acc.#size = state.size;
    acc.#peaks = state.peaks.map((p, i) => checkHash(`peak ${i}`, p).slice());
    return acc;
  }

  /** Number of leaves appended. */
  get size(): number {
    return this.#size;
  }

  /** A copy of the state, to persist and later pass to `fromState`. */
  get state(): AccumulatorState {
    return { size: this.#size, peaks: this.#peaks.map((p) => p.slice()) };
  }

  /** Appends one leaf hash (see `leafHash`). */
  append(leaf: Uint8Array): void {
    checkHash("leaf hash", leaf);
    if (this.#size >= MAX_TREE_SIZE) throw new RangeError(`Cannot append: the tree already holds ${MAX_TREE_SIZE} leaves`);
    let node: Uint8Array = leaf.slice();
    // Each trailing 1 bit of the size is a peak of the same height as `node`: merge them.
    for (let s = this.#size; isOdd(s); s = half(s)) node = nodeHash(this.#peaks.pop()!, node);
    this.#peaks.push(node);
    this.#size++;
  }

  /** The RFC 6962 root of all leaves appended so far. */
  root(): Uint8Array {
    const peaks = this.#peaks;
    if (peaks.length === 0) return emptyRoot();
    let r = peaks[peaks.length - 1]!;
    for (let i = peaks.length - 2; i >= 0; i--) r = nodeHash(peaks[i]!, r);
    return r.slice();
  }
}

/** RFC 6962 root of the first `size` leaf hashes (all of them by default), in O(log n) extra space. */
export function rootOf(leafHashes: readonly Uint8Array[], size: number = leafHashes.length): Uint8Array {
  if (!isSize(size) || size > leafHashes.length) {
    throw new RangeError(`Cannot compute root: size must be an integer in [0, ${leafHashes.length}], got ${size}`);
  }
  const acc = new MerkleAccumulator();
  for (let i = 0; i < size; i++) acc.append(leafHashes[i]!);
  return acc.root();
}

// ---- full tree ----------------------------------------------------------------------------------------

/**
 * A Merkle tree holding every leaf, able to prove inclusion and consistency for any size up to its own.
 * `levels[l][j]` is the root of the perfect subtree of 2^l leaves starting at leaf j·2^l; every hash RFC 9162's
 * recursions need is either one of those or a node over O(log n) of them.
 */
export class MerkleTree {
  readonly #levels: Uint8Array[][] = [[]];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.append(h);
  }

  /** Number of leaves. */
  get size(): number {
    return this.#levels[0]!.length;
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Uint8Array {
    this.#checkIndex("read leaf", index, this.size);
    return this.#levels[0]![index]!.slice();
  }

  /** Appends one leaf hash (see `leafHash`). */
  append(leaf: Uint8Array): void {
    checkHash("leaf hash", leaf);
    if (this.size >= MAX_TREE_SIZE) throw new RangeError(`Cannot append: the tree already holds ${MAX_TREE_SIZE} leaves`);
    let row = this.#levels[0]!;
    row.push(leaf.slice());
    // Complete every perfect subtree this leaf closes, bottom up.
    for (let l = 0; row.length % 2 === 0; l++) {
      const parent = nodeHash(row[row.length - 2]!, row[row.length - 1]!);
      const up = (this.#levels[l + 1] ??= []);
      up.push(parent);
      row = up;
    }
  }

  /** Root hash of the tree as it was at `size` leaves (default: now). */
  root(size: number = this.size): Uint8Array {
    this.#checkSize("compute root", size);
    return size === 0 ? emptyRoot() : this.#hash(0, size).slice();
  }

  /**
   * Inclusion proof (RFC 9162 §2.1.3.1 PATH) for leaf `index` in the tree of `size` leaves (default: now):
   * sibling hashes from the leaf up to the root.
   */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.#checkSize("build inclusion proof", size);
    this.#checkIndex("build inclusion proof", index, size);
    const siblings: Uint8Array[] = [];
    let start = 0, end = size;
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (index < start + k) {
        siblings.push(this.#hash(start + k, end));
        end = start + k;
      } else {
        siblings.push(this.#hash(start, start + k));
        start += k;
      }
    }
    return siblings.reverse().map((h) => h.slice());
  }

  /**
   * Consistency proof (RFC 9162 §2.1.4.1 PROOF = SUBPROOF(m, D[n], true)) that the tree of `size1` leaves is a
   * prefix of the tree of `size2` leaves (default: now). Requires 0 < size1 ≤ size2; equal sizes give [].
   */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.#checkSize("build consistency proof", size2);
    if (!isSize(size1) || size1 < 1 || size1 > size2) {
      throw new RangeError(`Cannot build consistency proof: size1 must be an integer in [1, ${size2}] (size2), got ${size1}`);
    }
    const head: Uint8Array[] = [];
    const tail: Uint8Array[] = []; // hashes appended after the recursive part, outermost last
    let m = size1, start = 0, end = size2, complete = true;
    for (;;) {
      const n = end - start;
      if (m === n) {
        if (!complete) head.push(this.#hash(start, end));
        break;
      }
      const k = splitPoint(n);
      if (m <= k) {
        tail.push(this.#hash(start + k, end));
        end = start + k;
      } else {
        tail.push(this.#hash(start, start + k));
        start += k;
        m -= k;
        complete = false;
      }
    }
    return [...head, ...tail.reverse()].map((h) => h.slice());
  }

  /** MTH(D[start:end]) from the cached perfect subtrees (internal arrays: callers copy before returning). */
  #hash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) return this.#levels[levelOf(n)]![start / n]!;
    const k = splitPoint(n);
    return nodeHash(this.#hash(start, start + k), this.#hash(start + k, end));
  }

  #checkSize(action: string, size: number): void {
    if (!isSize(size) || size > this.size) {
      throw new RangeError(`Cannot ${action}: size must be an integer in [0, ${this.size}] (the tree's size), got ${size}`);
    }
  }

  #checkIndex(action: string, index: number, size: number): void {
    if (!isSize(index) || index >= size) {
      throw new RangeError(`Cannot ${action}: index must be an integer in [0, ${size}) for a tree of size ${size}, got ${index}`);
    }
  }
}

// ---- verifiers ----------------------------------------------------------------------------------------

/**
 * Verifies an inclusion proof (RFC 9162 §2.1.3.2): that `leaf` is leaf `index` of the tree of `size` leaves
 * whose root is `root`. Returns false, never throws, for anything that is not an exactly valid proof.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isSize(index) || !isSize(size) || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || proof.length > MAX_PROOF_HASHES) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // A left child on the right edge has no sibling at some levels: climb past them.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `size1` leaves with root `root1` is a
 * prefix of the tree of `size2` leaves with root `root2`. Returns false, never throws, on anything else.
 *
 * Edge policy (as transparency-dev/merkle): size1 must be ≥ 1 — an empty tree is trivially a prefix of every
 * tree, so a "proof" from size 0 proves nothing and is refused; equal sizes need an empty proof and
 * byte-equal roots.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!isSize(size1) || !isSize(size2) || size1 < 1 || size2 < size1) return false;
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_HASHES) return false;
  if (size1 === size2) return proof.length === 0 && root1 instanceof Uint8Array && root2 instanceof Uint8Array && bytesEqual(root1, root2);
  if (proof.length === 0 || !isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;

  // If size1 is a power of two, its root is itself the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1, sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!, sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}
