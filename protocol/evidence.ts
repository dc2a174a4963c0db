/**
 * Evidence bundles: the schema, building, signing, and parsing/verifying one line.
 *
 * A bundle's **line** is `canonicalize(bundle)` (RFC 8785); the line is what is stored, sent, hashed and put in
 * the auditor kit, byte for byte. The signature (context `evidence`) covers the canonical text of the bundle
 * without its `signature` member, and `prev_hash` of the next bundle is the SHA-256 of this line.
 *
 * Verifying must be cheap (the relay and auditors check every bundle), so a line is canonicalised exactly once
 * (by `parseCanonical`, to prove it is canonical) and the signed text is then cut out of the line instead of
 * canonicalising again. Why that is exact: a canonical object is its members sorted by name and joined by
 * commas, so removing one member and the comma before it leaves the canonical text of the object without
 * that member. The only members sorting after `signature` are `site_id` and `timestamps`, whose values the
 * schema pins to ids and wire times (no characters that need escaping), so the end of a valid line is exactly
 * `,"signature":"<hex>","site_id":"<id>","timestamps":{"finished_at":"<t>","started_at":"<t>"}}`, which we
 * rebuild from the parsed values and check with `endsWith` before slicing (see `signedText`).
 */
import { z } from "zod";
import { canonicalBytes, canonicalize, parseCanonical } from "./canonical.ts";
import { keyId, signingInputOfText, type Signer, type Verifier } from "./crypto.ts";
import { ByteSlab, fromHexIn, isLowerHex, toHex, utf8 } from "./encoding.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { ID_PATTERN, idSchema, isoTimeSchema, keyIdSchema, parseIsoTime, sha256HexSchema, signatureHexSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";

export const EVIDENCE_SCHEMA = "osiris.evidence/v1";
/** `prev_hash` of seq 1: there is no previous bundle. */
export const GENESIS_PREV_HASH = "0".repeat(64);

/** Longest line accepted (bytes of UTF-8). A bundle holds facts, not files; anything bigger is a bug or an attack. */
export const MAX_BUNDLE_LINE_BYTES = 256 * 1024;
/** Most check results in one check_cycle bundle (one host's cycle runs a few dozen checks). */
export const MAX_RESULTS_PER_BUNDLE = 500;
/** Most control ids in one list. */
export const MAX_CONTROLS = 256;
/** Longest free-text field (host ids, check ids, runbook ids, versions, revisions). */
export const MAX_TEXT_LENGTH = 256;

export const BUNDLE_KINDS = ["check_cycle", "remediation", "order", "system"] as const;
export type BundleKind = (typeof BUNDLE_KINDS)[number];

/** Results of evaluating a check. */
export const CHECK_STATUSES = ["pass", "fail", "error", "not_applicable"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** Outcomes of a healing attempt or an order. */
export const HEALING_OUTCOMES = ["success", "failed", "reverted", "deferred", "pending_approval", "dry_run", "escalated", "alert", "rejected", "expired"] as const;
export type HealingOutcome = (typeof HEALING_OUTCOMES)[number];

/** Every value a bundle's `outcome` may take. */
export const OUTCOMES = [...CHECK_STATUSES, ...HEALING_OUTCOMES] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const DEPLOYMENT_MODES = ["direct", "reseller"] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

/** Any JSON value (values reach us from JSON.parse, or are checked by canonicalize when signing). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A member that must be present and may hold any JSON value. */
export const jsonValueSchema = z.custom<JsonValue>((v) => v !== undefined, { message: "required, but missing" });
/** A JSON object (not an array, not null). */
export const jsonObjectSchema = z.custom<JsonObject>((v) => v !== null && typeof v === "object" && !Array.isArray(v), { message: "expected a JSON object" });

/** A control id `framework:citation`, e.g. `hipaa:164.312(b)`. */
export const CONTROL_ID_PATTERN = /^[a-z][a-z0-9_-]*:\S+$/;

function isSortedUnique(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (!(list[i - 1]! < list[i]!)) return false;
  return true;
}

const text = z.string().min(1).max(MAX_TEXT_LENGTH);
const controlsSchema = z
  .array(z.string().max(MAX_TEXT_LENGTH).regex(CONTROL_ID_PATTERN, "expected a control id framework:citation, e.g. hipaa:164.312(b)"))
  .max(MAX_CONTROLS)
  .refine(isSortedUnique, { message: "must be sorted and without duplicates" });

export const checkResultSchema = z.strictObject({
  check: text,
  status: z.enum(CHECK_STATUSES),
  expected: jsonValueSchema,
  actual: jsonValueSchema,
  controls: controlsSchema,
});
export type CheckResult = z.output<typeof checkResultSchema>;

export const timestampsSchema = z
  .strictObject({ started_at: isoTimeSchema, finished_at: isoTimeSchema })
  // Same fixed-width format on both sides, so text order is time order.
  .refine((t) => t.started_at <= t.finished_at, { message: "must not be before started_at", path: ["finished_at"] });

const unsignedFields = {
  schema: z.literal(EVIDENCE_SCHEMA),
  appliance_id: idSchema,
  site_id: idSchema,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  prev_hash: sha256HexSchema,
  kind: z.enum(BUNDLE_KINDS),
  host_id: text.nullable(),
  check: text.nullable(),
  results: z.array(checkResultSchema).max(MAX_RESULTS_PER_BUNDLE),
  controls: controlsSchema,
  pre_state: jsonObjectSchema,
  post_state: jsonObjectSchema,
  action_taken: text.nullable(),
  rollback_available: z.boolean(),
  outcome: z.enum(OUTCOMES),
  timestamps: timestampsSchema,
  policy_version: text,
  ruleset_hash: sha256HexSchema.nullable(),
  nixos_revision: text.nullable(),
  derivation_digest: text.nullable(),
  deployment_mode: z.enum(DEPLOYMENT_MODES),
  reseller_id: text.nullable(),
  order_id: text.nullable(),
  ntp_offset_ms: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullable(),
};

interface Consistency {
  seq: number;
  prev_hash: string;
  kind: BundleKind;
  results: readonly unknown[];
}

/** Rules across fields: seq 1 starts from the genesis hash; only check cycles carry results. */
function consistent(b: Consistency, ctx: z.RefinementCtx): void {
  if (b.seq === 1 && b.prev_hash !== GENESIS_PREV_HASH) {
    ctx.addIssue({ code: "custom", path: ["prev_hash"], message: "must be 64 zeros for seq 1" });
  }
  if (b.kind !== "check_cycle" && b.results.length > 0) {
    ctx.addIssue({ code: "custom", path: ["results"], message: `must be empty for kind "${b.kind}"` });
  }
}

export const unsignedBundleSchema = z.strictObject(unsignedFields).superRefine(consistent);
const signedFields = { ...unsignedFields, key_id: keyIdSchema, signature: signatureHexSchema };
export const bundleSchema = z.strictObject(signedFields).superRefine(consistent);

export type Bundle = z.output<typeof bundleSchema>;
/** A bundle before signing: `signBundle` adds `key_id` (from the signer) and `signature`. */
export type UnsignedBundle = z.output<typeof unsignedBundleSchema>;

/** What `buildBundle` needs; everything else has a default. */
export interface BundleInput {
  appliance_id: string;
  site_id: string;
  seq: number;
  prev_hash: string;
  kind: BundleKind;
  outcome: Outcome;
  timestamps: { started_at: string; finished_at: string };
  policy_version: string;
  host_id?: string | null;
  check?: string | null;
  results?: CheckResult[];
  controls?: string[];
  pre_state?: JsonObject;
  post_state?: JsonObject;
  action_taken?: string | null;
  rollback_available?: boolean;
  ruleset_hash?: string | null;
  nixos_revision?: string | null;
  derivation_digest?: string | null;
  deployment_mode?: DeploymentMode;
  reseller_id?: string | null;
  order_id?: string | null;
  ntp_offset_ms?: number | null;
}

function sortedUnique(list: Iterable<string>): string[] {
  return [...new Set(list)].sort();
}

/**
 * Fills defaults (null, [], {}, false, "direct"), sorts and de-duplicates control lists, and makes the
 * bundle's `controls` the union of its own and its results' controls. Throws ValidationError("schema") if the
 * result is not a valid unsigned bundle.
 */
export function buildBundle(input: BundleInput): UnsignedBundle {
  const results = (input.results ?? []).map((r) => ({ ...r, controls: sortedUnique(r.controls) }));
  const bundle = {
    schema: EVIDENCE_SCHEMA,
    appliance_id: input.appliance_id,
    site_id: input.site_id,
    seq: input.seq,
    prev_hash: input.prev_hash,
    kind: input.kind,
    host_id: input.host_id ?? null,
    check: input.check ?? null,
    results,
    controls: sortedUnique([...(input.controls ?? []), ...results.flatMap((r) => r.controls)]),
    pre_state: input.pre_state ?? {},
    post_state: input.post_state ?? {},
    action_taken: input.action_taken ?? null,
    rollback_available: input.rollback_available ?? false,
    outcome: input.outcome,
    timestamps: { started_at: input.timestamps.started_at, finished_at: input.timestamps.finished_at },
    policy_version: input.policy_version,
    ruleset_hash: input.ruleset_hash ?? null,
    nixos_revision: input.nixos_revision ?? null,
    derivation_digest: input.derivation_digest ?? null,
    deployment_mode: input.deployment_mode ?? "direct",
    reseller_id: input.reseller_id ?? null,
    order_id: input.order_id ?? null,
    ntp_offset_ms: input.ntp_offset_ms ?? null,
  };
  return parseSchema(unsignedBundleSchema, bundle, "evidence bundle");
}

/** A signed bundle, its line and the line's hash (the next bundle's `prev_hash`). */
export interface SignedBundle {
  bundle: Bundle;
  line: string;
  hash: string;
}

/** Signs an unsigned bundle with the appliance's evidence key; `key_id` is taken from the signer. */
export async function signBundle(unsigned: UnsignedBundle, signer: Signer): Promise<SignedBundle> {
  const checked = parseSchema(unsignedBundleSchema, unsigned, "evidence bundle");
  const withKey = { ...checked, key_id: keyId(signer.publicKey) };
  const signature = toHex(await signer.sign("evidence", canonicalBytes(withKey)));
  const bundle: Bundle = { ...withKey, signature };
  const line = canonicalize(bundle);
  checkLineSize(line);
  return { bundle, line, hash: sha256Hex(line) };
}

function checkLineSize(line: string): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so short lines need no encoding to be measured.
  if (line.length * 3 <= MAX_BUNDLE_LINE_BYTES) return;
  const bytes = utf8(line).length;
  if (bytes > MAX_BUNDLE_LINE_BYTES) {
    throw new ValidationError("too_large", `Bundle line is ${bytes} bytes: the limit is ${MAX_BUNDLE_LINE_BYTES}`, { bytes, limit: MAX_BUNDLE_LINE_BYTES });
  }
}

// ---- the schema's rules by hand, for the hot path ---------------------------------------------------------

const KINDS: ReadonlySet<unknown> = new Set(BUNDLE_KINDS);
const STATUSES: ReadonlySet<unknown> = new Set(CHECK_STATUSES);
const OUTCOME_SET: ReadonlySet<unknown> = new Set(OUTCOMES);
const MODES: ReadonlySet<unknown> = new Set(DEPLOYMENT_MODES);
/** Members of a signed bundle (the schema's), and of a check result. */
const BUNDLE_MEMBERS = Object.keys(signedFields).length;
const RESULT_MEMBERS = Object.keys(checkResultSchema.shape).length;

const isText = (v: unknown): boolean => typeof v === "string" && v.length >= 1 && v.length <= MAX_TEXT_LENGTH;
const isTextOrNull = (v: unknown): boolean => v === null || isText(v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const matches = (v: unknown, pattern: RegExp): boolean => typeof v === "string" && pattern.test(v);

function memberCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

function isControls(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > MAX_CONTROLS) return false;
  for (let i = 0; i < v.length; i++) {
    const c: unknown = v[i];
    if (typeof c !== "string" || c.length > MAX_TEXT_LENGTH || !CONTROL_ID_PATTERN.test(c) || (i > 0 && !(v[i - 1] < c))) return false;
  }
  return true;
}

function isResult(v: unknown): boolean {
  return (
    isPlainObject(v) &&
    memberCount(v) === RESULT_MEMBERS &&
    isText(v["check"]) &&
    STATUSES.has(v["status"]) &&
    v["expected"] !== undefined &&
    v["actual"] !== undefined &&
    isControls(v["controls"])
  );
}

/**
 * Whether `bundleSchema` accepts `v`, decided without zod, which costs more than everything else in opening a
 * line (the relay and auditors open every bundle). It must agree with the schema (evidence.test.ts holds it to
 * that on mutated bundles); `parseBundleLine` sends a value it refuses through the schema, so a refused bundle
 * gets the schema's message.
 */
export function isBundle(v: unknown): v is Bundle {
  if (!isPlainObject(v) || memberCount(v) !== BUNDLE_MEMBERS) return false;
  const { seq, prev_hash, kind, results, timestamps: t, ntp_offset_ms: ntp } = v;
  if (!(typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 1)) return false;
  if (!isLowerHex(prev_hash, 64) || (seq === 1 && prev_hash !== GENESIS_PREV_HASH)) return false;
  if (!KINDS.has(kind) || !Array.isArray(results) || results.length > MAX_RESULTS_PER_BUNDLE) return false;
  if (kind !== "check_cycle" && results.length > 0) return false;
  for (const r of results) if (!isResult(r)) return false;
  if (!isPlainObject(t) || memberCount(t) !== 2) return false;
  const started = t["started_at"], finished = t["finished_at"];
  if (typeof started !== "string" || typeof finished !== "string" || !(started <= finished)) return false;
  if (Number.isNaN(parseIsoTime(started)) || Number.isNaN(parseIsoTime(finished))) return false;
  return (
    v["schema"] === EVIDENCE_SCHEMA &&
    matches(v["appliance_id"], ID_PATTERN) &&
    matches(v["site_id"], ID_PATTERN) &&
    isTextOrNull(v["host_id"]) &&
    isTextOrNull(v["check"]) &&
    isControls(v["controls"]) &&
    isPlainObject(v["pre_state"]) &&
    isPlainObject(v["post_state"]) &&
    isTextOrNull(v["action_taken"]) &&
    typeof v["rollback_available"] === "boolean" &&
    OUTCOME_SET.has(v["outcome"]) &&
    isText(v["policy_version"]) &&
    (v["ruleset_hash"] === null || isLowerHex(v["ruleset_hash"], 64)) &&
    isTextOrNull(v["nixos_revision"]) &&
    isTextOrNull(v["derivation_digest"]) &&
    MODES.has(v["deployment_mode"]) &&
    isTextOrNull(v["reseller_id"]) &&
    isTextOrNull(v["order_id"]) &&
    (ntp === null || (typeof ntp === "number" && Number.isSafeInteger(ntp))) &&
    isLowerHex(v["key_id"], 16) &&
    isLowerHex(v["signature"], 128)
  );
}

/** Parses a line: it must be canonical JSON (byte for byte) and a valid bundle. Does not check the signature. */
export function parseBundleLine(line: string): Bundle {
  if (typeof line !== "string") throw new TypeError(`A bundle line must be a string: got ${typeof line}`);
  checkLineSize(line);
  const value = parseCanonical(line);
  return isBundle(value) ? value : parseSchema(bundleSchema, value, "evidence bundle");
}

/**
 * The canonical text the signature covers: the line without its `,"signature":"…"` member. See the module
 * comment for why slicing is exact; the `endsWith` check makes it safe even if that reasoning were broken by
 * a future schema change (we would then canonicalise instead of failing open).
 */
export function signedText(line: string, bundle: Bundle): string {
  const tail = `,"site_id":"${bundle.site_id}","timestamps":{"finished_at":"${bundle.timestamps.finished_at}","started_at":"${bundle.timestamps.started_at}"}}`;
  const member = `,"signature":"${bundle.signature}"`;
  if (line.endsWith(member + tail)) return line.slice(0, line.length - member.length - tail.length) + tail;
  const { signature: _signature, ...unsigned } = bundle;
  return canonicalize(unsigned);
}

/** A parsed line with what verification needs: the signed message and the line's hash. */
export interface OpenedBundle {
  bundle: Bundle;
  line: string;
  /** Lower-case hex SHA-256 of the line: the next bundle's `prev_hash`. */
  hash: string;
  /** The bytes the signature covers (before the signing context is prepended). */
  message: Uint8Array;
  /** What Ed25519 checks: `signingInput("evidence", message)`, with `message` a view into it. */
  signingInput: Uint8Array;
}

const EVIDENCE_CONTEXT_BYTES = signingInputOfText("evidence", "").length;

/** Parses a line and prepares it for signature verification (one canonicalisation, one UTF-8 encoding). */
export function openBundleLine(line: string): OpenedBundle {
  const bundle = parseBundleLine(line);
  const signingInput = signingInputOfText("evidence", signedText(line, bundle));
  return { bundle, line, hash: sha256Hex(line), message: signingInput.subarray(EVIDENCE_CONTEXT_BYTES), signingInput };
}

/** Throws IntegrityError `unknown_key` unless the bundle names the registered key. */
export function checkBundleKeyId(bundle: Bundle, expectedKeyId: string): void {
  if (bundle.key_id !== expectedKeyId) {
    throw new IntegrityError("unknown_key", `key_id: bundle names key ${bundle.key_id}, but appliance ${bundle.appliance_id} is registered with key ${expectedKeyId}`, {
      appliance_id: bundle.appliance_id,
      seq: bundle.seq,
    });
  }
}

/** Whether the bundle's signature verifies (context `evidence`); resolves false, never rejects, on bad input. */
export function bundleSignatureValid(opened: OpenedBundle, verifier: Verifier): Promise<boolean> {
  return verifier.verifyRaw(opened.signingInput, fromHexIn(signatureSlab, opened.bundle.signature));
}

/** Where bundle signatures are decoded to (one small ArrayBuffer per bundle was a measurable share of GC). */
const signatureSlab = new ByteSlab();

/** The error for a bundle whose signature does not verify. */
export function badBundleSignature(bundle: Bundle, keyIdUsed: string): IntegrityError {
  return new IntegrityError("bad_signature", `signature: does not verify for bundle seq ${bundle.seq} of appliance ${bundle.appliance_id} with key ${keyIdUsed}`, {
    appliance_id: bundle.appliance_id,
    seq: bundle.seq,
  });
}

/** Checks an opened bundle's key id and signature against the appliance's registered key. */
export async function checkBundleSignature(opened: OpenedBundle, verifier: Verifier, expectedKeyId: string = keyId(verifier.publicKey)): Promise<void> {
  checkBundleKeyId(opened.bundle, expectedKeyId);
  if (!(await bundleSignatureValid(opened, verifier))) throw badBundleSignature(opened.bundle, expectedKeyId);
}

/**
 * Parses and verifies one line with the appliance's registered key (never a key from the data). Returns the
 * typed bundle; throws ValidationError (not canonical, schema) or IntegrityError (`unknown_key`, `bad_signature`).
 */
export async function verifyBundle(line: string, verifier: Verifier): Promise<Bundle> {
  const opened = openBundleLine(line);
  await checkBundleSignature(opened, verifier);
  return opened.bundle;
}
