import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalize } from "./canonical.ts";
import { createSigner, createVerifier, generateKeyPair, keyId } from "./crypto.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import {
  buildBundle,
  type BundleInput,
  bundleSchema,
  EVIDENCE_SCHEMA,
  GENESIS_PREV_HASH,
  isBundle,
  MAX_BUNDLE_LINE_BYTES,
  openBundleLine,
  parseBundleLine,
  signBundle,
  signedText,
  verifyBundle,
} from "./evidence.ts";
import { sha256Hex } from "./hash.ts";
import { parseSchema } from "./schema.ts";

const seed = (n: number) => new Uint8Array(32).fill(n);
const keys = generateKeyPair(seed(1));
const signer = createSigner(keys.secretKey);
const verifier = createVerifier(keys.publicKey);
const other = generateKeyPair(seed(2));

const base: BundleInput = {
  appliance_id: "app_aaaaaaaa",
  site_id: "site_bbbbbbbb",
  seq: 1,
  prev_hash: GENESIS_PREV_HASH,
  kind: "check_cycle",
  outcome: "fail",
  timestamps: { started_at: "2026-11-27T22:35:36.123Z", finished_at: "2026-11-27T22:35:38.456Z" },
  policy_version: "2026.11.1",
  host_id: "host-fs01",
  results: [
    { check: "windows.bitlocker", status: "fail", expected: "on", actual: "off", controls: ["hipaa:164.312(a)(2)(iv)", "hipaa:164.312(a)(2)(iv)"] },
    { check: "windows.firewall", status: "pass", expected: true, actual: true, controls: ["soc2:CC6.6", "hipaa:164.312(e)(1)"] },
  ],
  pre_state: { bitlocker: { status: "off", volumes: [{ letter: "C", encrypted: false }] }, note: "Ünïcödé ✓" },
};

function validationFailure(f: () => unknown): ValidationError {
  try {
    f();
  } catch (e) {
    assert.instance(e, ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

test("buildBundle() fills every default and sorts and de-duplicates control lists", () => {
  const b = buildBundle(base);
  assert.is(b.schema, EVIDENCE_SCHEMA);
  assert.equal(b.results[0]!.controls, ["hipaa:164.312(a)(2)(iv)"]);
  assert.equal(b.results[1]!.controls, ["hipaa:164.312(e)(1)", "soc2:CC6.6"]);
  assert.equal(b.controls, ["hipaa:164.312(a)(2)(iv)", "hipaa:164.312(e)(1)", "soc2:CC6.6"]);
  assert.equal(
    [b.check, b.action_taken, b.rollback_available, b.post_state, b.ruleset_hash, b.nixos_revision, b.derivation_digest, b.deployment_mode, b.reseller_id, b.order_id, b.ntp_offset_ms],
    [null, null, false, {}, null, null, null, "direct", null, null, null],
  );
});

test("buildBundle() names the field that is wrong", () => {
  assert.is(validationFailure(() => buildBundle({ ...base, site_id: "Main Street Clinic" })).message, 'site_id: expected an id matching ^[a-z]+_[0-9a-z]{8,40}$, got "Main Street Clinic"');
  assert.match(validationFailure(() => buildBundle({ ...base, seq: 0 })).message, /^seq: must be at least 1, got 0/);
  assert.match(validationFailure(() => buildBundle({ ...base, seq: 2, prev_hash: "abc" })).message, /^prev_hash: expected a SHA-256 hash/);
  assert.match(validationFailure(() => buildBundle({ ...base, controls: ["HIPAA 164.312"] })).message, /^controls\[0\]: expected a control id/);
  assert.match(validationFailure(() => buildBundle({ ...base, timestamps: { started_at: "2026-11-27T22:35:39.000Z", finished_at: "2026-11-27T22:35:38.456Z" } })).message, /^timestamps\.finished_at: must not be before started_at/);
});

test("buildBundle() requires the genesis hash at seq 1 and results only in check cycles", () => {
  assert.match(validationFailure(() => buildBundle({ ...base, prev_hash: "1".repeat(64) })).message, /^prev_hash: must be 64 zeros for seq 1/);
  assert.match(validationFailure(() => buildBundle({ ...base, kind: "remediation" })).message, /^results: must be empty for kind "remediation"/);
});

test("signBundle() produces a canonical line, its hash, and a key id taken from the signer", async () => {
  const { bundle, line, hash } = await signBundle(buildBundle(base), signer);
  assert.is(line, canonicalize(bundle));
  assert.is(hash, sha256Hex(line));
  assert.is(bundle.key_id, keyId(keys.publicKey));
  assert.equal(await verifyBundle(line, verifier), bundle);
});

test("native and portable Ed25519 verify the same bundle", async () => {
  const { line } = await signBundle(buildBundle(base), createSigner(keys.secretKey, "portable"));
  await verifyBundle(line, createVerifier(keys.publicKey, "native"));
  await verifyBundle(line, createVerifier(keys.publicKey, "portable"));
});

test("signedText() cut from the line equals canonicalising the bundle without its signature", async () => {
  const tricky: BundleInput[] = [
    base,
    { ...base, pre_state: { a: 1, signature: "x", z: { signature: "0".repeat(128) } }, post_state: { site_id: "site_cccccccc", timestamps: {} } },
    { ...base, kind: "system", results: [], host_id: null, pre_state: { text: '","signature":"' } },
    { ...base, seq: 7, prev_hash: "f".repeat(64), deployment_mode: "reseller", reseller_id: "rsl_1", ntp_offset_ms: -12, ruleset_hash: "e".repeat(64) },
  ];
  for (const input of tricky) {
    const { bundle, line } = await signBundle(buildBundle(input), signer);
    const { signature: _s, ...unsigned } = bundle;
    assert.is(signedText(line, bundle), canonicalize(unsigned));
  }
});

test("a signature that names the nested copy of the signature cannot be confused with the real one", async () => {
  // An attacker copies the real signature into pre_state; slicing must still remove the top-level member.
  const first = await signBundle(buildBundle(base), signer);
  const { bundle } = await signBundle(buildBundle({ ...base, pre_state: { zz: 1, signature: first.bundle.signature } }), signer);
  const line = canonicalize(bundle);
  const { signature: _s, ...unsigned } = bundle;
  assert.is(signedText(line, bundle), canonicalize(unsigned));
  await verifyBundle(line, verifier);
});

test("parseBundleLine() refuses JSON that is not byte-for-byte canonical", async () => {
  const { bundle } = await signBundle(buildBundle(base), signer);
  const pretty = JSON.stringify(bundle, null, 1);
  assert.is(validationFailure(() => parseBundleLine(pretty)).code, "not_canonical");
  assert.is(validationFailure(() => parseBundleLine(JSON.stringify(bundle))).code, "not_canonical");
  assert.is(validationFailure(() => parseBundleLine("{")).code, "invalid_json");
});

test("parseBundleLine() refuses unknown and missing fields, naming them", async () => {
  const { bundle } = await signBundle(buildBundle(base), signer);
  assert.is(validationFailure(() => parseBundleLine(canonicalize({ ...bundle, extra: 1 }))).message, "extra: unknown field");
  const { ntp_offset_ms: _n, ...missing } = bundle;
  assert.is(validationFailure(() => parseBundleLine(canonicalize(missing))).message, "ntp_offset_ms: required, but missing");
  assert.match(validationFailure(() => parseBundleLine(canonicalize({ ...bundle, outcome: "ok" }))).message, /^outcome: expected "pass" \| "fail"/);
  assert.match(validationFailure(() => parseBundleLine(canonicalize({ ...bundle, controls: ["soc2:CC6.6", "hipaa:164.312(b)"] }))).message, /^controls: must be sorted and without duplicates/);
});

test("parseBundleLine() refuses a line over the size limit before parsing it", () => {
  const e = validationFailure(() => parseBundleLine(" ".repeat(MAX_BUNDLE_LINE_BYTES + 1)));
  assert.is(e.code, "too_large");
});

test("signBundle() refuses a bundle whose line would exceed the size limit", async () => {
  const e = await rejection(signBundle(buildBundle({ ...base, pre_state: { blob: "x".repeat(MAX_BUNDLE_LINE_BYTES) } }), signer));
  assert.instance(e, ValidationError);
  assert.is((e as ValidationError).code, "too_large");
});

test("verifyBundle() refuses a bundle signed by a key other than the registered one", async () => {
  const { line } = await signBundle(buildBundle(base), createSigner(other.secretKey));
  const e = await rejection(verifyBundle(line, verifier));
  assert.instance(e, IntegrityError);
  assert.is((e as IntegrityError).code, "unknown_key");
  assert.match(e.message, /^key_id: bundle names key [0-9a-f]{16}, but appliance app_aaaaaaaa is registered with key/);
});

test("verifyBundle() refuses a forged key_id with bad_signature", async () => {
  const { bundle } = await signBundle(buildBundle(base), createSigner(other.secretKey));
  const forged = canonicalize({ ...bundle, key_id: keyId(keys.publicKey) });
  const e = await rejection(verifyBundle(forged, verifier));
  assert.is((e as IntegrityError).code, "bad_signature");
  assert.match(e.message, /^signature: does not verify for bundle seq 1 of appliance app_aaaaaaaa/);
});

test("a single changed byte anywhere in a line is detected", async () => {
  const { line } = await signBundle(buildBundle(base), signer);
  let detected = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    const replacement = String.fromCharCode(c === 0x30 ? 0x31 : c < 0x80 ? c ^ 1 : 0x41);
    const tampered = line.slice(0, i) + replacement + line.slice(i + 1);
    try {
      await verifyBundle(tampered, verifier);
    } catch (e) {
      if (e instanceof ValidationError || e instanceof IntegrityError) detected++;
      else throw e;
    }
  }
  assert.is(detected, line.length);
});

test("openBundleLine() exposes the hash and the exact signed bytes", async () => {
  const { line, hash } = await signBundle(buildBundle(base), signer);
  const opened = openBundleLine(line);
  assert.is(opened.hash, hash);
  assert.is(new TextDecoder().decode(opened.message), signedText(line, opened.bundle));
});

/** Near misses of every rule in the bundle schema, put anywhere in a bundle by the mutation test below. */
const ODD_VALUES: unknown[] = [
  null, true, false, 0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), "", "x", "x".repeat(256), "x".repeat(257), [], {}, [1], { a: 1 },
  "0".repeat(64), "A".repeat(64), "0".repeat(63), "0".repeat(65), "e".repeat(64), "f".repeat(128), "F".repeat(128), "0".repeat(16), "g".repeat(16),
  "app_12345678", "site_1234567", "APP_12345678", "osiris.evidence/v1", "osiris.evidence/v2",
  "2026-11-27T22:35:36.123Z", "2026-11-27T22:35:38.456Z", "2099-01-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z", "2026-11-27T22:35:36Z",
  "pass", "fail", "error", "not_applicable", "success", "check_cycle", "system", "remediation", "direct", "reseller",
  "hipaa:164.312(b)", "HIPAA 164", ["hipaa:a"], ["hipaa:a", "hipaa:b"], ["hipaa:b", "hipaa:a"], ["hipaa:a", "hipaa:a"], [`hipaa:${"x".repeat(260)}`], ["nope"],
  { check: "c", status: "pass", expected: 1, actual: 2, controls: [] },
  { check: "c", status: "pass", expected: null, actual: null, controls: ["hipaa:a"] },
  { check: "c", status: "ok", expected: 1, actual: 2, controls: [] },
  { started_at: "2026-11-27T22:35:36.123Z", finished_at: "2026-11-27T22:35:36.123Z" },
  { started_at: "2026-11-27T22:35:37.000Z", finished_at: "2026-11-27T22:35:36.123Z" },
];

/** Every path inside `v` (object members and array items), the value itself first. */
function pathsOf(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...at, i])));
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...at, k]));
  return out;
}

/** A copy of `root` with the value at `path` replaced (`undefined`: removed) or, for "extra", a member added there. */
function mutate(root: unknown, path: (string | number)[], op: "set" | "delete" | "extra", value: unknown): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) return op === "set" ? value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === "set") parent[last] = value;
  else if (op === "delete") Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
  else if (parent[last] !== null && typeof parent[last] === "object" && !Array.isArray(parent[last])) (parent[last] as Record<string, unknown>)["extra"] = value;
  return copy;
}

test("the hand-written bundle check agrees with bundleSchema, and refused lines get the schema's message", async () => {
  const bundles = [
    (await signBundle(buildBundle(base), signer)).bundle,
    (await signBundle(buildBundle({ ...base, kind: "system", results: [], host_id: null, outcome: "success" }), signer)).bundle,
    (await signBundle(buildBundle({ ...base, seq: 7, prev_hash: "e".repeat(64), kind: "remediation", results: [], ruleset_hash: "f".repeat(64), ntp_offset_ms: -3 }), signer)).bundle,
  ];
  let refused = 0;
  // Every mutation of every bundle: each odd value at each path, each path removed, an extra member in each object.
  for (const bundle of bundles) {
    for (const path of pathsOf(bundle)) {
      const mutations = [...ODD_VALUES.map((v) => mutate(bundle, path, "set", v)), mutate(bundle, path, "delete", undefined), mutate(bundle, path, "extra", 1)];
      for (const mutated of mutations) {
        const accepted = bundleSchema.safeParse(mutated).success;
        assert.is(isBundle(mutated), accepted, JSON.stringify(mutated));
        if (accepted) continue;
        refused++;
        // The message zod gives for the line's value (members in line order, as the schema alone used to see it).
        const line = canonicalize(mutated);
        let expected = "";
        try {
          parseSchema(bundleSchema, JSON.parse(line), "evidence bundle");
        } catch (e) {
          expected = (e as Error).message;
        }
        assert.is(validationFailure(() => parseBundleLine(line)).message, expected);
      }
    }
  }
  assert.ok(refused > 1000, `only ${refused} mutations were refused`);
  for (const b of bundles) assert.ok(isBundle(b));
});

test.run();
