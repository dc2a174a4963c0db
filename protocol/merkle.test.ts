import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import reference from "../fixtures/vectors/rfc6962-reference-tree.json" with { type: "json" };
import published from "../fixtures/vectors/merkle-transparency-dev.json" with { type: "json" };
import { fromBase64, fromHex, toHex, utf8 } from "./encoding.ts";
import {
  emptyRoot,
  leafHash,
  MAX_PROOF_HASHES,
  MerkleAccumulator,
  MerkleTree,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.ts";

/** Fixed seed so a property failure reproduces; raise numRuns locally when hunting. */
const FC = { seed: 0x05125, numRuns: 100 } as const;
/** Exhaustive checks cover every tree shape up to this many leaves (all split patterns of 6 levels). */
const EXHAUSTIVE_SIZE = 64;

const hex = (h: Uint8Array) => toHex(h);
const referenceLeaves = reference.leavesHex.map((h) => leafHash(fromHex(h)));
const distinctLeaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(utf8(`line ${i}`)));
const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = bytes.slice();
  out[Math.floor(bit / 8) % out.length]! ^= 1 << bit % 8;
  return out;
};

test("leafHash and nodeHash match the RFC 6962 hasher vectors", () => {
  assert.is(hex(emptyRoot()), reference.hasher.emptyRoot);
  assert.is(hex(leafHash(new Uint8Array(0))), reference.hasher.emptyLeaf);
  assert.is(hex(leafHash(utf8("L123456"))), reference.hasher.leafL123456);
  assert.is(hex(nodeHash(utf8("N123"), utf8("N456"))), reference.hasher.nodeN123N456);
});

test("leafHash() of a string is the leaf hash of its UTF-8 bytes", () => {
  for (const line of ["", "L123456", '{"note":"Zürich – 東京 – 🚑"}', "\u0000", "x".repeat(100_000)]) {
    assert.equal(leafHash(line), leafHash(utf8(line)), JSON.stringify(line.slice(0, 20)));
  }
  assert.is(hex(leafHash("L123456")), reference.hasher.leafL123456);
});

test("a leaf hash never equals the node hash of the same bytes (domain separation)", () => {
  const [a, b] = [leafHash(utf8("Hello")), leafHash(utf8("World"))];
  assert.is.not(hex(nodeHash(a, b)), hex(leafHash(new Uint8Array([...a, ...b]))));
  assert.is.not(hex(nodeHash(a, b)), hex(nodeHash(b, a)));
});

test("MerkleTree.root matches the reference tree's root for every size 0..8", () => {
  const tree = new MerkleTree(referenceLeaves);
  reference.rootsBySize.forEach((want, size) => assert.is(hex(tree.root(size)), want, `size ${size}`));
});

test("rootOf and MerkleAccumulator give the reference roots for every size 0..8", () => {
  const acc = new MerkleAccumulator();
  reference.rootsBySize.forEach((want, size) => {
    if (size > 0) acc.append(referenceLeaves[size - 1]!);
    assert.is(acc.size, size);
    assert.is(hex(acc.root()), want, `accumulator at size ${size}`);
    assert.is(hex(rootOf(referenceLeaves, size)), want, `rootOf at size ${size}`);
  });
});

test("every perfect subtree hashes to the reference node hash at its level", () => {
  reference.nodeHashesByLevel.forEach((row, level) =>
    row.forEach((want, j) => {
      const width = 2 ** level;
      assert.is(hex(rootOf(referenceLeaves.slice(j * width, (j + 1) * width))), want, `level ${level} node ${j}`);
    })
  );
});

test("the accumulator's peaks are the reference compact ranges", () => {
  const acc = new MerkleAccumulator();
  reference.compactRanges.bySize.forEach((peaks, size) => {
    if (size > 0) acc.append(referenceLeaves[size - 1]!);
    const want = peaks.map(([level, j]) => reference.nodeHashesByLevel[level!]![j!]!);
    assert.equal(acc.state.peaks.map(hex), want, `size ${size}`);
  });
});

test("inclusionProof and consistencyProof reproduce the reference proof tables", () => {
  const tree = new MerkleTree(referenceLeaves);
  for (const v of reference.inclusionProofs) {
    assert.equal(tree.inclusionProof(v.index, v.size).map(hex), v.proof, `inclusion ${v.index} in ${v.size}`);
  }
  for (const v of reference.consistencyProofs) {
    assert.equal(tree.consistencyProof(v.size1, v.size2).map(hex), v.proof, `consistency ${v.size1} → ${v.size2}`);
  }
});

test(`verifyInclusion agrees with all ${published.inclusion.length} transparency-dev inclusion vectors`, () => {
  assert.is(published.inclusion.length, 98);
  for (const v of published.inclusion) {
    const ok = verifyInclusion(fromBase64(v.leafHash), v.leafIdx, v.treeSize, v.proof.map(fromBase64), fromBase64(v.root));
    assert.is(ok, !v.wantErr, `${v.path}: ${v.desc}`);
  }
});

test(`verifyConsistency agrees with all ${published.consistency.length} transparency-dev consistency vectors`, () => {
  assert.is(published.consistency.length, 98);
  for (const v of published.consistency) {
    const ok = verifyConsistency(v.size1, v.size2, v.proof.map(fromBase64), fromBase64(v.root1), fromBase64(v.root2));
    assert.is(ok, !v.wantErr, `${v.path}: ${v.desc}`);
  }
});

test(`every inclusion proof in every tree up to ${EXHAUSTIVE_SIZE} leaves verifies, and only for its own leaf and index`, () => {
  const leaves = distinctLeaves(EXHAUSTIVE_SIZE);
  const tree = new MerkleTree(leaves);
  let checked = 0;
  for (let size = 1; size <= EXHAUSTIVE_SIZE; size++) {
    const root = tree.root(size);
    for (let index = 0; index < size; index++) {
      const proof = tree.inclusionProof(index, size);
      assert.ok(proof.length <= Math.ceil(Math.log2(size)), `proof length for ${index} in ${size}`);
      assert.ok(verifyInclusion(leaves[index]!, index, size, proof, root), `${index} in ${size}`);
      if (size > 1) {
        assert.not.ok(verifyInclusion(leaves[(index + 1) % size]!, index, size, proof, root), `other leaf at ${index} in ${size}`);
        assert.not.ok(verifyInclusion(leaves[index]!, (index + 1) % size, size, proof, root), `wrong index for ${index} in ${size}`);
      }
      // Only the path's shape depends on the size (sizes with the same shape accept the same proof; the signed
      // checkpoint is what binds the size), so check a size that always changes the shape.
      assert.not.ok(verifyInclusion(leaves[index]!, index, size * 2, proof, root), `doubled size for ${index} in ${size}`);
      checked++;
    }
  }
  assert.is(checked, (EXHAUSTIVE_SIZE * (EXHAUSTIVE_SIZE + 1)) / 2);
});

test(`every consistency proof between sizes 1 ≤ m ≤ n ≤ ${EXHAUSTIVE_SIZE} verifies, and not against other roots`, () => {
  const tree = new MerkleTree(distinctLeaves(EXHAUSTIVE_SIZE));
  const roots = Array.from({ length: EXHAUSTIVE_SIZE + 1 }, (_, s) => tree.root(s));
  let checked = 0;
  for (let n = 1; n <= EXHAUSTIVE_SIZE; n++) {
    for (let m = 1; m <= n; m++) {
      const proof = tree.consistencyProof(m, n);
      assert.is(proof.length === 0, m === n, `empty proof exactly when sizes are equal (${m} → ${n})`);
      assert.ok(verifyConsistency(m, n, proof, roots[m]!, roots[n]!), `${m} → ${n}`);
      if (m > 1) assert.not.ok(verifyConsistency(m, n, proof, roots[m - 1]!, roots[n]!), `wrong old root ${m} → ${n}`);
      if (m < n) {
        assert.not.ok(verifyConsistency(m, n, proof, roots[m]!, roots[n - 1]!), `wrong new root ${m} → ${n}`);
        assert.not.ok(verifyConsistency(m, n * 2, proof, roots[m]!, roots[n]!), `doubled new size ${m} → ${n}`);
      }
      checked++;
    }
  }
  assert.is(checked, (EXHAUSTIVE_SIZE * (EXHAUSTIVE_SIZE + 1)) / 2);
});

test("verifiers use exact arithmetic for sizes beyond 2^32", () => {
  // With identical leaves every perfect subtree of height l has the same hash h[l], so the root of any
  // size can be written down without building the tree.
  const h = [leafHash(utf8("same"))];
  for (let l = 1; l <= 41; l++) h.push(nodeHash(h[l - 1]!, h[l - 1]!));
  const big = 2 ** 40;
  const root = nodeHash(h[40]!, h[0]!); // tree of 2^40 + 1 leaves
  assert.ok(verifyInclusion(h[0]!, big, big + 1, [h[40]!], root));
  assert.ok(verifyInclusion(h[0]!, 0, big + 1, [...h.slice(0, 40), h[0]!], root));
  assert.not.ok(verifyInclusion(h[0]!, big - 1, big + 1, [h[40]!], root));
  assert.ok(verifyInclusion(h[0]!, 2 ** 33 + 7, 2 ** 34, h.slice(0, 34), h[34]!));
  assert.ok(verifyConsistency(big, big + 1, [h[0]!], h[40]!, root));
  assert.not.ok(verifyConsistency(big - 1, big + 1, [h[0]!], h[40]!, root));
});

test("builders throw RangeError naming the bad index or size", () => {
  const tree = new MerkleTree(distinctLeaves(5));
  assert.throws(() => tree.inclusionProof(5, 5), (e: unknown) => e instanceof RangeError && /\[0, 5\).*got 5/.test(e.message));
  assert.throws(() => tree.inclusionProof(-1), (e: unknown) => e instanceof RangeError);
  assert.throws(() => tree.inclusionProof(1.5), (e: unknown) => e instanceof RangeError);
  assert.throws(() => tree.inclusionProof(0, 6), (e: unknown) => e instanceof RangeError && /got 6/.test(e.message));
  assert.throws(() => tree.consistencyProof(0, 3), (e: unknown) => e instanceof RangeError && /size1.*got 0/.test(e.message));
  assert.throws(() => tree.consistencyProof(4, 3), (e: unknown) => e instanceof RangeError);
  assert.throws(() => tree.root(6), (e: unknown) => e instanceof RangeError);
  assert.throws(() => tree.leaf(5), (e: unknown) => e instanceof RangeError);
  assert.throws(() => rootOf(distinctLeaves(2), 3), (e: unknown) => e instanceof RangeError);
  assert.throws(() => tree.append(new Uint8Array(31)), (e: unknown) => e instanceof TypeError && /32-byte hash, got 31 bytes/.test(e.message));
});

test("verifiers return false, never throw, on malformed input", () => {
  const tree = new MerkleTree(distinctLeaves(8));
  const leaf = tree.leaf(3), root = tree.root(), proof = tree.inclusionProof(3);
  const junk: unknown[] = [NaN, -1, 1.5, Infinity, 2 ** 53, "3", null];
  for (const x of junk) {
    assert.not.ok(verifyInclusion(leaf, x as number, 8, proof, root));
    assert.not.ok(verifyInclusion(leaf, 3, x as number, proof, root));
    assert.not.ok(verifyConsistency(x as number, 8, tree.consistencyProof(3), tree.root(3), root));
  }
  assert.not.ok(verifyInclusion(leaf, 3, 8, null as unknown as Uint8Array[], root));
  assert.not.ok(verifyInclusion(leaf, 3, 8, [...proof, new Uint8Array(5)], root));
  assert.not.ok(verifyInclusion(leaf, 3, 8, Array.from({ length: MAX_PROOF_HASHES + 1 }, () => leaf), root));
  assert.not.ok(verifyConsistency(3, 8, [new Uint8Array(32)], tree.root(3), root));
  assert.not.ok(verifyConsistency(3, 8, "proof" as unknown as Uint8Array[], tree.root(3), root));
});

test("MerkleTree and MerkleAccumulator copy hashes, so callers cannot corrupt them", () => {
  const leaves = distinctLeaves(4);
  const tree = new MerkleTree(leaves);
  const acc = new MerkleAccumulator();
  leaves.forEach((l) => acc.append(l));
  const before = hex(tree.root());
  leaves[0]!.fill(0);
  tree.root().fill(0);
  tree.inclusionProof(1)[0]!.fill(0);
  acc.root().fill(0);
  acc.state.peaks[0]!.fill(0);
  assert.is(hex(tree.root()), before);
  assert.is(hex(acc.root()), before);
});

test("MerkleAccumulator.fromState restores a saved accumulator and rejects an inconsistent state", () => {
  const acc = new MerkleAccumulator();
  distinctLeaves(11).forEach((l) => acc.append(l));
  const restored = MerkleAccumulator.fromState(acc.state);
  const extra = leafHash(utf8("next"));
  acc.append(extra);
  restored.append(extra);
  assert.is(hex(restored.root()), hex(acc.root()));
  assert.is(restored.size, 12);
  assert.throws(() => MerkleAccumulator.fromState({ size: 11, peaks: acc.state.peaks }), (e: unknown) => e instanceof RangeError && /3 peaks, got 2/.test(e.message));
});

// ---- properties ---------------------------------------------------------------------------------------

const leafSets = (max: number) => fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: max }).map((lines) => lines.map((l, i) => leafHash(new Uint8Array([...l, i & 0xff, i >> 8]))));

test("property: inclusion proofs verify, and flipping any bit of the proof, leaf or root breaks them", () => {
  fc.assert(
    fc.property(leafSets(300), fc.nat(), fc.nat(), (leaves, pick, bit) => {
      const tree = new MerkleTree(leaves);
      const size = 1 + (pick % tree.size), index = pick % size;
      const proof = tree.inclusionProof(index, size), root = tree.root(size), leaf = leaves[index]!;
      if (!verifyInclusion(leaf, index, size, proof, root)) return false;
      if (verifyInclusion(flipBit(leaf, bit), index, size, proof, root)) return false;
      if (verifyInclusion(leaf, index, size, proof, flipBit(root, bit))) return false;
      return proof.every((_, i) => !verifyInclusion(leaf, index, size, proof.map((p, j) => (j === i ? flipBit(p, bit) : p)), root));
    }),
    FC,
  );
});

test("property: consistency proofs verify, and flipping any bit of the proof or either root breaks them", () => {
  fc.assert(
    fc.property(leafSets(300), fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, bit) => {
      const tree = new MerkleTree(leaves);
      const size2 = 1 + (a % tree.size), size1 = 1 + (b % size2);
      const proof = tree.consistencyProof(size1, size2), root1 = tree.root(size1), root2 = tree.root(size2);
      if (!verifyConsistency(size1, size2, proof, root1, root2)) return false;
      if (verifyConsistency(size1, size2, proof, flipBit(root1, bit), root2)) return false;
      if (verifyConsistency(size1, size2, proof, root1, flipBit(root2, bit))) return false;
      return proof.every((_, i) => !verifyConsistency(size1, size2, proof.map((p, j) => (j === i ? flipBit(p, bit) : p)), root1, root2));
    }),
    FC,
  );
});

test("property: the accumulator's root equals the full tree's root at every size", () => {
  fc.assert(
    fc.property(leafSets(200), (leaves) => {
      const tree = new MerkleTree();
      const acc = new MerkleAccumulator();
      return leaves.every((l) => {
        tree.append(l);
        acc.append(l);
        return hex(acc.root()) === hex(tree.root()) && acc.state.peaks.length <= Math.log2(acc.size) + 1;
      });
    }),
    FC,
  );
});

test("property: a proof for an older size still verifies against that size's root after more appends", () => {
  fc.assert(
    fc.property(leafSets(100), leafSets(100), fc.nat(), (first, more, pick) => {
      const tree = new MerkleTree(first);
      const oldSize = tree.size, oldRoot = tree.root(), index = pick % oldSize;
      more.forEach((l) => tree.append(l));
      return verifyInclusion(first[index]!, index, oldSize, tree.inclusionProof(index, oldSize), oldRoot) &&
        verifyConsistency(oldSize, tree.size, tree.consistencyProof(oldSize), oldRoot, tree.root());
    }),
    FC,
  );
});

test.run();
