import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalize } from "./canonical.ts";
import { ChainVerifier, type ApplianceKey, verifyChain } from "./chain.ts";
import { createSigner, generateKeyPair, type Signer } from "./crypto.ts";
import { IntegrityError } from "./errors.ts";
import { buildBundle, GENESIS_PREV_HASH, signBundle, type BundleInput } from "./evidence.ts";
import { sha256Hex } from "./hash.ts";
import { isoTime } from "./ids.ts";

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0, 0);
const A = "app_aaaaaaaa";
const B = "app_bbbbbbbb";
const SITE = "site_ssssssss";
const kpA = generateKeyPair(new Uint8Array(32).fill(1));
const kpB = generateKeyPair(new Uint8Array(32).fill(2));
const signerA = createSigner(kpA.secretKey);
const signerB = createSigner(kpB.secretKey);
const keys = new Map<string, ApplianceKey>([
  [A, { publicKey: kpA.publicKey, siteId: SITE }],
  [B, { publicKey: kpB.publicKey }],
]);

interface Link {
  seq: number;
  prev_hash: string;
  atMs: number;
  over?: Partial<BundleInput>;
}

async function line(signer: Signer, appliance: string, link: Link): Promise<{ line: string; hash: string }> {
  const unsigned = buildBundle({
    appliance_id: appliance,
    site_id: SITE,
    seq: link.seq,
    prev_hash: link.prev_hash,
    kind: "system",
    outcome: "pass",
    timestamps: { started_at: isoTime(link.atMs), finished_at: isoTime(link.atMs + 1000) },
    policy_version: "2026.11.1",
    ...link.over,
  });
  return signBundle(unsigned, signer);
}

/** A valid chain of `n` lines, one per minute, starting at seq 1. */
async function chain(signer: Signer, appliance: string, n: number, startMs = T0): Promise<string[]> {
  const out: string[] = [];
  let prev = GENESIS_PREV_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const s = await line(signer, appliance, { seq, prev_hash: prev, atMs: startMs + seq * 60_000 });
    out.push(s.line);
    prev = s.hash;
  }
  return out;
}

const chainA = await chain(signerA, A, 6);
const chainB = await chain(signerB, B, 4);
const hashOf = async (l: string) => sha256Hex(l);

function interleave(a: string[], b: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i]) out.push(a[i]!);
    if (b[i]) out.push(b[i]!);
  }
  return out;
}

async function failureOf(lines: string[], opts = {}) {
  const r = await verifyChain(lines, keys, opts);
  if (r.ok) throw new Error("expected the chain to fail");
  return r.failure;
}

test("verifyChain() accepts interleaved chains of several appliances and summarises each", async () => {
  const r = await verifyChain(interleave(chainA, chainB), keys);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.bundles, 10);
  assert.equal(r.appliances, [
    { appliance_id: A, site_id: SITE, first_seq: 1, last_seq: 6, count: 6, first_time: isoTime(T0 + 60_000), last_time: isoTime(T0 + 6 * 60_000 + 1000), head_hash: await hashOf(chainA[5]!) },
    { appliance_id: B, site_id: SITE, first_seq: 1, last_seq: 4, count: 4, first_time: isoTime(T0 + 60_000), last_time: isoTime(T0 + 4 * 60_000 + 1000), head_hash: await hashOf(chainB[3]!) },
  ]);
});

test("verifyChain() accepts empty input, reads async iterables, and skips empty lines but counts them", async () => {
  async function* gen() {
    yield chainA[0]!;
    yield "";
    yield chainA[1]!;
    yield "not json";
  }
  assert.equal(await verifyChain([], keys), { ok: true, bundles: 0, appliances: [] });
  const r = await verifyChain(gen(), keys);
  assert.not.ok(r.ok);
  if (!r.ok) {
    assert.is(r.failure.line, 4);
    assert.is(r.failure.code, "invalid_json");
    assert.is(r.bundles, 2);
  }
});

test("verifyChain() closes a source it stops reading early (a file reader's file), sync or async, and passes on a source's own error", async () => {
  const closed: string[] = [];
  async function* asyncSource() {
    try {
      yield chainA[0]!;
      yield "not json";
      yield chainA[1]!;
    } finally {
      closed.push("async");
    }
  }
  function* syncSource() {
    try {
      yield chainA[0]!;
      yield chainA[2]!;
      yield chainA[3]!;
    } finally {
      closed.push("sync");
    }
  }
  const a = await verifyChain(asyncSource(), keys);
  const s = await verifyChain(syncSource(), keys);
  assert.equal([a.ok, s.ok], [false, false]);
  if (!a.ok && !s.ok) assert.equal([a.failure.code, s.failure.code], ["invalid_json", "seq_gap"]);
  assert.equal(closed, ["async", "sync"]);
  async function* broken() {
    yield chainA[0]!;
    throw new Error("disk read failed");
  }
  await verifyChain(broken(), keys).then(
    () => assert.unreachable("the source's error must reach the caller"),
    (e: Error) => assert.is(e.message, "disk read failed"),
  );
});

test("a gap in seq is reported as seq_gap at the line after it", async () => {
  const f = await failureOf([chainA[0]!, chainA[1]!, chainA[3]!]);
  assert.equal({ line: f.line, appliance_id: f.appliance_id, seq: f.seq, code: f.code }, { line: 3, appliance_id: A, seq: 4, code: "seq_gap" });
  assert.match(f.reason, /jumps from 2 to 4/);
});

test("a repeated bundle is reported as seq_duplicate", async () => {
  const f = await failureOf([chainA[0]!, chainA[1]!, chainA[1]!]);
  assert.equal([f.line, f.seq, f.code], [3, 2, "seq_duplicate"]);
});

test("swapped lines are reported where the order breaks", async () => {
  const f = await failureOf([chainA[0]!, chainA[2]!, chainA[1]!]);
  assert.equal([f.line, f.seq, f.code], [2, 3, "seq_gap"]);
});

test("a fork (a second, different bundle for a seq) is refused", async () => {
  const fork = await line(signerA, A, { seq: 2, prev_hash: await hashOf(chainA[0]!), atMs: T0 + 99_000 });
  assert.is.not(fork.line, chainA[1]);
  const f = await failureOf([...chainA.slice(0, 3), fork.line]);
  assert.equal([f.line, f.seq, f.code], [4, 2, "seq_duplicate"]);
  // ...and a fork that replaces seq 2 breaks the link at seq 3.
  const g = await failureOf([chainA[0]!, fork.line, chainA[2]!]);
  assert.equal([g.line, g.seq, g.code], [3, 3, "prev_hash_mismatch"]);
});

test("a bundle that links to the wrong previous hash is refused", async () => {
  const bad = await line(signerA, A, { seq: 2, prev_hash: "a".repeat(64), atMs: T0 + 120_000 });
  const f = await failureOf([chainA[0]!, bad.line]);
  assert.is(f.code, "prev_hash_mismatch");
  assert.match(f.reason, /^prev_hash: seq 2 of appliance app_aaaaaaaa links to a{64}/);
});

test("fromGenesis requires each chain to start at seq 1", async () => {
  const r = await verifyChain(chainA.slice(2), keys);
  assert.ok(r.ok);
  const f = await failureOf(chainA.slice(2), { fromGenesis: true });
  assert.equal([f.line, f.seq, f.code], [1, 3, "seq_gap"]);
});

test("an appliance without a registered key is refused, even if the bundle verifies with its own key", async () => {
  const stranger = generateKeyPair(new Uint8Array(32).fill(9));
  const s = await line(createSigner(stranger.secretKey), "app_cccccccc", { seq: 1, prev_hash: GENESIS_PREV_HASH, atMs: T0 });
  const f = await failureOf([s.line]);
  assert.equal([f.line, f.appliance_id, f.code], [1, "app_cccccccc", "unknown_key"]);
});

test("a bundle signed by another appliance's key is refused", async () => {
  const s = await line(signerB, A, { seq: 1, prev_hash: GENESIS_PREV_HASH, atMs: T0 });
  const f = await failureOf([s.line]);
  assert.is(f.code, "unknown_key");
});

test("a tampered line is reported with its line number", async () => {
  const lines = [...chainA];
  lines[3] = lines[3]!.replace('"outcome":"pass"', '"outcome":"fail"');
  const f = await failureOf(lines);
  assert.equal([f.line, f.appliance_id, f.seq, f.code], [4, A, 4, "bad_signature"]);
});

test("a change of site within a chain, or away from the registered site, is refused", async () => {
  const moved = await line(signerB, B, { seq: 2, prev_hash: await hashOf(chainB[0]!), atMs: T0 + 120_000, over: { site_id: "site_zzzzzzzz" } });
  const f = await failureOf([chainB[0]!, moved.line]);
  assert.equal([f.line, f.code], [2, "site_mismatch"]);
  const elsewhere = await line(signerA, A, { seq: 1, prev_hash: GENESIS_PREV_HASH, atMs: T0, over: { site_id: "site_zzzzzzzz" } });
  const g = await failureOf([elsewhere.line]);
  assert.is(g.code, "site_mismatch");
  assert.match(g.reason, /registered at site_ssssssss/);
});

test("finished_at may go back within the tolerance but not beyond it", async () => {
  const h1 = await hashOf(chainA[0]!);
  const slightly = await line(signerA, A, { seq: 2, prev_hash: h1, atMs: T0 + 60_000 - 200_000 });
  assert.ok((await verifyChain([chainA[0]!, slightly.line], keys)).ok);
  const far = await line(signerA, A, { seq: 2, prev_hash: h1, atMs: T0 + 60_000 - 400_000 });
  const f = await failureOf([chainA[0]!, far.line]);
  assert.equal([f.line, f.code], [2, "time_backwards"]);
  assert.ok((await verifyChain([chainA[0]!, far.line], keys, { timeToleranceMs: 500_000 })).ok);
});

test("a slow drift backwards is caught against the latest time seen, not just the previous bundle", async () => {
  const lines = [chainA[0]!];
  let prev = await hashOf(chainA[0]!);
  for (let seq = 2; seq <= 4; seq++) {
    const s = await line(signerA, A, { seq, prev_hash: prev, atMs: T0 + 60_000 - (seq - 1) * 200_000 });
    lines.push(s.line);
    prev = s.hash;
  }
  const f = await failureOf(lines);
  assert.equal([f.line, f.seq, f.code], [3, 3, "time_backwards"]);
});

test("started_at after finished_at is refused as a schema error naming the field", async () => {
  const l = chainA[0]!;
  const swapped = l.replace(/"finished_at":"([^"]+)","started_at":"([^"]+)"/, '"finished_at":"$2","started_at":"$1"');
  const f = await failureOf([swapped]);
  assert.equal([f.line, f.appliance_id, f.seq, f.code], [1, A, 1, "schema"]);
  assert.match(f.reason, /^timestamps\.finished_at: must not be before started_at/);
});

test("onProgress and onBundle see every verified bundle", async () => {
  const seen: number[] = [];
  const progress: number[] = [];
  const r = await verifyChain(chainA, keys, { onBundle: (o, n) => seen.push(n * 100 + o.bundle.seq), onProgress: (n) => progress.push(n) });
  assert.ok(r.ok);
  assert.equal(seen, [101, 202, 303, 404, 505, 606]);
  assert.equal(progress, [6]);
});

test("ChainVerifier resumes from a saved state", async () => {
  const first = new ChainVerifier(keys);
  for (const l of chainA.slice(0, 3)) await first.push(l);
  const saved = JSON.parse(JSON.stringify(first.states()));
  assert.equal(saved, [{ appliance_id: A, site_id: SITE, seq: 3, head_hash: await hashOf(chainA[2]!), last_time: isoTime(T0 + 3 * 60_000 + 1000) }]);

  const resumed = new ChainVerifier(keys, { resume: saved, fromGenesis: true });
  for (const l of chainA.slice(3)) await resumed.push(l);
  assert.equal(resumed.summaries(), [
    { appliance_id: A, site_id: SITE, first_seq: 4, last_seq: 6, count: 3, first_time: isoTime(T0 + 4 * 60_000), last_time: isoTime(T0 + 6 * 60_000 + 1000), head_hash: await hashOf(chainA[5]!) },
  ]);
  assert.is(resumed.state(A)!.seq, 6);
});

test("a resumed ChainVerifier refuses a replay of an already-verified bundle and a gap", async () => {
  const v = new ChainVerifier(keys, { resume: [{ appliance_id: A, site_id: SITE, seq: 3, head_hash: await hashOf(chainA[2]!), last_time: isoTime(T0) }] });
  for (const [l, code] of [[chainA[2]!, "seq_duplicate"], [chainA[4]!, "seq_gap"]] as const) {
    try {
      await v.push(l);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, IntegrityError);
      assert.is((e as IntegrityError).code, code);
    }
  }
});

test("a failed push leaves the state unchanged", async () => {
  const v = new ChainVerifier(keys);
  await v.push(chainA[0]!);
  const before = v.state(A);
  await v.push(chainA[2]!).catch(() => undefined);
  await v.push(chainA[1]!.replace('"kind":"system"', '"kind":"order"')).catch(() => undefined);
  assert.equal(v.state(A), before);
  await v.push(chainA[1]!);
  assert.is(v.state(A)!.seq, 2);
});

test("ChainVerifier serialises concurrent pushes in call order", async () => {
  const v = new ChainVerifier(keys);
  const results = await Promise.all(chainA.map((l) => v.push(l)));
  assert.equal(results.map((o) => o.bundle.seq), [1, 2, 3, 4, 5, 6]);
});

test("ChainVerifier refuses a malformed resume state, naming the field", () => {
  assert.throws(() => new ChainVerifier(keys, { resume: [{ appliance_id: A, site_id: SITE, seq: 0, head_hash: "x", last_time: "now" }] }), /^seq: must be at least 1/);
});

test("a signed but non-canonical copy of a valid bundle is refused", async () => {
  const pretty = JSON.stringify(JSON.parse(chainA[0]!), null, 2).replace(/\n/g, "");
  const f = await failureOf([pretty]);
  assert.equal([f.line, f.appliance_id, f.code], [1, A, "not_canonical"]);
  assert.is(canonicalize(JSON.parse(pretty)), chainA[0]);
});

/** Flips one hex digit of the signature: still a valid bundle, but the signature no longer verifies. */
function badSignature(l: string): string {
  return l.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === "0" ? "1" : "0"}`);
}

test("with many signatures in flight, the earliest failing line is the one reported", async () => {
  const long = await chain(signerA, A, 45);
  const lines = [...long];
  lines[34] = badSignature(lines[34]!);
  const f = await failureOf(lines);
  assert.equal([f.line, f.seq, f.code], [35, 35, "bad_signature"]);
  // A later chain failure (a gap at line 40) does not mask the earlier bad signature...
  const gap = [...lines.slice(0, 39), ...lines.slice(40)];
  assert.equal((await failureOf(gap)).line, 35);
  // ...nor does a later line that does not parse.
  assert.equal((await failureOf([...lines.slice(0, 37), "{}"])).line, 35);
  // A line failing both its signature and a chain check is reported as a bad signature.
  const both = [long[0]!, badSignature(long[2]!)];
  assert.equal((await failureOf(both)).code, "bad_signature");
});

test("verifyLines() leaves the state at the last line before the failure", async () => {
  const long = await chain(signerA, A, 45);
  const lines = [...long];
  lines[39] = badSignature(lines[39]!);
  const v = new ChainVerifier(keys);
  const r = await v.verifyLines(lines);
  assert.is(r.bundles, 39);
  assert.equal([r.failure?.line, r.failure?.code], [40, "bad_signature"]);
  assert.equal(v.state(A), { appliance_id: A, site_id: SITE, seq: 39, head_hash: sha256Hex(long[38]!), last_time: isoTime(T0 + 39 * 60_000 + 1000) });
  // ...and continues from there with the genuine line.
  assert.equal(await v.verifyLines(long.slice(39)), { bundles: 6, failure: null });
});

test.run();
