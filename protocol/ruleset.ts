/**
 * Signed rule sets: the L1 rules the relay distributes (built-in ones and those the learning loop promoted).
 *
 * A rule set travels in a signed envelope (`envelope.ts`, context `ruleset`). Versions only ever increase; the
 * appliance refuses a set whose version is not above the one it runs (`stale_version`), so a replayed old set
 * cannot roll rules back. `ruleset_hash` (recorded in every evidence bundle) is the SHA-256 of the payload
 * bytes. Matching lives in `rules.ts`.
 */
import { z } from "zod";
import type { Signer } from "./crypto.ts";
import { openEnvelope, signEnvelope, type Envelope, type TrustedKey } from "./envelope.ts";
import { jsonObjectSchema, jsonValueSchema, MAX_TEXT_LENGTH } from "./evidence.ts";
import { IntegrityError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { isoTimeSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";

export const RULESET_SCHEMA = "osiris.ruleset/v1";
/** Most rules in one set: the catalogue has a few hundred checks; a few rules each is plenty. */
export const MAX_RULES = 5000;
/** Most conditions in one rule. */
export const MAX_CONDITIONS = 32;
/** Most values in an `in` / `not_in` list. */
export const MAX_LIST_VALUES = 256;
/** Longest regex pattern: short patterns keep matching cheap and reviewable. */
export const MAX_REGEX_LENGTH = 256;
/** Priorities are bounded so they stay readable and comparable. */
export const MAX_PRIORITY = 1_000_000;

export const CONDITION_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists", "regex"] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export const RULE_SOURCES = ["builtin", "promoted"] as const;
export type RuleSource = (typeof RULE_SOURCES)[number];

/** A dotted path into a check's facts, e.g. `bitlocker.volumes.0.status`. */
export const FACT_PATH_PATTERN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** A rule id, e.g. `L1-BITLOCKER-001` or `rule_k3v9q2m1x8`. */
export const RULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** A platform name; `any` matches every platform. */
export const PLATFORM_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export const ANY_PLATFORM = "any";

const fact = z.string().max(MAX_TEXT_LENGTH).regex(FACT_PATH_PATTERN, "expected a dotted fact path like disk.encryption.status");

/** Conditions, by op: what `value` must be for each. */
export const ruleConditionSchema = z.discriminatedUnion("op", [
  z.strictObject({ fact, op: z.enum(["eq", "ne", "contains"]), value: jsonValueSchema }),
  z.strictObject({ fact, op: z.enum(["gt", "gte", "lt", "lte"]), value: z.union([z.number(), z.string().max(MAX_TEXT_LENGTH)]) }),
  z.strictObject({ fact, op: z.enum(["in", "not_in"]), value: z.array(jsonValueSchema).max(MAX_LIST_VALUES) }),
  z.strictObject({ fact, op: z.literal("exists"), value: z.boolean() }),
  z.strictObject({ fact, op: z.literal("regex"), value: z.string().max(MAX_REGEX_LENGTH) }),
]);
export type RuleCondition = z.output<typeof ruleConditionSchema>;

export const ruleSchema = z.strictObject({
  id: z.string().regex(RULE_ID_PATTERN, "expected a rule id (letters, digits, _ . : -; at most 128)"),
  check: z.string().min(1).max(MAX_TEXT_LENGTH),
  platform: z.string().regex(PLATFORM_PATTERN, "expected a platform name like windows, linux, macos or any"),
  conditions: z.array(ruleConditionSchema).max(MAX_CONDITIONS),
  runbook: z.string().min(1).max(MAX_TEXT_LENGTH),
  params: jsonObjectSchema,
  priority: z.number().int().min(-MAX_PRIORITY).max(MAX_PRIORITY),
  source: z.enum(RULE_SOURCES),
});
export type Rule = z.output<typeof ruleSchema>;

export const rulesetPayloadSchema = z
  .strictObject({
    schema: z.literal(RULESET_SCHEMA),
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    issued_at: isoTimeSchema,
    rules: z.array(ruleSchema).max(MAX_RULES),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: "custom", path: ["rules", i, "id"], message: `duplicates rule id ${JSON.stringify(r.id)}` });
      seen.add(r.id);
    });
  });
export type RulesetPayload = z.output<typeof rulesetPayloadSchema>;

/** Signs a rule set (context `ruleset`) after validating it. */
export async function signRuleset(payload: RulesetPayload, signer: Signer): Promise<Envelope> {
  return signEnvelope("ruleset", parseSchema(rulesetPayloadSchema, payload, "rule set"), signer);
}

export interface VerifyRulesetOptions {
  /** The pinned relay keys. */
  relayKeys: readonly TrustedKey[];
  /** Version in force; a set at or below it is refused as `stale_version`. */
  currentVersion?: number | null;
}

/** A verified rule set and its `ruleset_hash` (hex SHA-256 of the signed payload bytes). */
export interface VerifiedRuleset {
  payload: RulesetPayload;
  hash: string;
}

/**
 * Verifies a signed rule set. Throws IntegrityError `unknown_key`, `bad_signature`, `stale_version`, or
 * ValidationError when the envelope or payload is malformed.
 */
export async function verifyRuleset(envelope: unknown, opts: VerifyRulesetOptions): Promise<VerifiedRuleset> {
  const { bytes, value } = await openEnvelope("ruleset", envelope, opts.relayKeys);
  const payload = parseSchema(rulesetPayloadSchema, value, "rule set");
  const current = opts.currentVersion;
  if (current !== undefined && current !== null && payload.version <= current) {
    throw new IntegrityError("stale_version", `version: rule set version ${payload.version} is not newer than version ${current} in force`, {
      version: payload.version,
      current,
    });
  }
  return { payload, hash: sha256Hex(bytes) };
}
