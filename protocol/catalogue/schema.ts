/**
 * Schemas (zod) and types of every catalogue entry: facts, checks, runbooks, built-in rules, order types and
 * controls. These check the shape of one entry at a time; `load.ts` checks how entries refer to each other.
 *
 * The evaluation format (conditions over facts) is the contract between the catalogue and every evaluator;
 * `evaluate.ts` implements it and its header spells out the semantics.
 */
import { z } from "zod";
import { ruleSchema as wireRuleSchema } from "../ruleset.ts";
import { CATEGORIES } from "./categories.ts";
import { paramsSchemaSchema } from "./params.ts";

export const PLATFORMS = ["appliance", "linux", "windows", "macos", "network"] as const;
/** Where a check runs: the appliance itself, a site host of an OS family, or the site network as a whole. */
export type Platform = (typeof PLATFORMS)[number];

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const FRAMEWORKS = ["hipaa", "soc2", "glba"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** Operators a rule condition may use (docs/protocol.md "Rule set payload"). */
export const RULE_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists", "regex"] as const;
/** Operators a check's evaluation may use: the rule operators plus `subset_of`. */
export const CHECK_OPS = [...RULE_OPS, "subset_of"] as const;
export type RuleOp = (typeof RULE_OPS)[number];
export type CheckOp = (typeof CHECK_OPS)[number];

/** Types a fact can have. Any fact may also be `null` when declared `nullable`. */
export const FACT_TYPES = ["boolean", "integer", "number", "string", "string_list"] as const;
export type FactType = (typeof FACT_TYPES)[number];

/**
 * Citation formats, checked on every control id:
 * - HIPAA: CFR form `164.312(a)(2)(iv)` (never `164.312.a.2.iv`), sections 164.308/310/312/314/316;
 * - SOC 2: 2017 Trust Services Criteria ids, `CC6.1`, `A1.2`, `C1.1`, `PI1.3`, `P4.2`;
 * - GLBA: FTC Safeguards Rule paragraphs of 16 CFR 314.4, `314.4(c)(3)`, `314.4(c)(1)(i)`.
 */
export const CITATION_PATTERNS: Readonly<Record<Framework, RegExp>> = Object.freeze({
  hipaa: /^164\.3(?:08|10|12|14|16)\([a-z]\)(?:\(\d{1,2}\)(?:\((?:i|ii|iii|iv|v|vi|vii|viii|ix|x)\)(?:\([A-Z]\))?)?)?$/,
  soc2: /^(?:CC[1-9]\.\d{1,2}|A1\.[1-3]|C1\.[12]|PI1\.[1-5]|P[1-8]\.[1-9])$/,
  glba: /^314\.4\([a-j]\)(?:\(\d{1,2}\)(?:\((?:i|ii|iii|iv|v|vi)\))?)?$/,
});

const CITATION_EXAMPLES: Readonly<Record<Framework, string>> = { hipaa: "164.312(b)", soc2: "CC6.1", glba: "314.4(c)(3)" };

export function citationSchema(framework: Framework) {
  return z.string().regex(CITATION_PATTERNS[framework], `expected a ${framework.toUpperCase()} citation like ${CITATION_EXAMPLES[framework]}`);
}

const PLATFORM_PREFIX = `(?:${PLATFORMS.join("|")})`;
/** Check and runbook ids: `<platform>.<name>`, e.g. `linux.sshd_root_login`. */
export const ENTRY_ID_PATTERN = new RegExp(`^${PLATFORM_PREFIX}\\.[a-z][a-z0-9_]{1,62}$`);
/** Fact names: dotted lower_snake_case paths into the facts object, e.g. `sshd.permit_root_login`. */
export const FACT_NAME_PATTERN = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;
const PARAM_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

const entryId = z.string().regex(ENTRY_ID_PATTERN, "expected <platform>.<lower_snake_case name>");
const factName = z.string().regex(FACT_NAME_PATTERN, "expected a dotted lower_snake_case fact name like sshd.permit_root_login");
const text = (min: number, max: number) => z.string().trim().min(min).max(max);

/** A JSON value (what facts, literal condition values and parameters hold). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export const jsonSchema: z.ZodType<Json> = z.json();

// ---- facts ---------------------------------------------------------------------------------------------

/** A fact a collector gathers from a target, documented once per platform and read by checks by name. */
export const factSchema = z.strictObject({
  platform: z.enum(PLATFORMS),
  name: factName,
  type: z.enum(FACT_TYPES),
  nullable: z.boolean(),
  description: text(10, 400),
  /** How a collector obtains it (command, API, file), precise enough to implement. */
  source: text(10, 600),
});
export type Fact = z.infer<typeof factSchema>;

// ---- conditions ----------------------------------------------------------------------------------------

/**
 * One comparison. Exactly one of `value` (a literal), `value_param` (a check parameter) or `value_fact`
 * (another fact) gives the right-hand side; `exists` takes a boolean literal.
 */
export const leafConditionSchema = z
  .strictObject({
    fact: factName,
    op: z.enum(CHECK_OPS),
    value: jsonSchema.optional(),
    value_param: z.string().regex(PARAM_NAME_PATTERN).optional(),
    value_fact: factName.optional(),
  })
  .superRefine((c, ctx) => {
    const given = [c.value !== undefined, c.value_param !== undefined, c.value_fact !== undefined].filter(Boolean).length;
    if (given !== 1) ctx.addIssue({ code: "custom", message: "give exactly one of value, value_param, value_fact" });
    if (c.op === "exists" && typeof c.value !== "boolean") ctx.addIssue({ code: "custom", message: "exists takes a boolean value", path: ["value"] });
    if ((c.op === "in" || c.op === "not_in" || c.op === "subset_of") && c.value !== undefined && !Array.isArray(c.value)) {
      ctx.addIssue({ code: "custom", message: `${c.op} takes a list value`, path: ["value"] });
    }
    if (c.op === "regex") {
      if (typeof c.value !== "string") ctx.addIssue({ code: "custom", message: "regex takes a string literal value", path: ["value"] });
      else {
        try {
          new RegExp(c.value, "u");
        } catch {
          ctx.addIssue({ code: "custom", message: "not a valid regular expression", path: ["value"] });
        }
      }
    }
    if ((c.op === "gt" || c.op === "gte" || c.op === "lt" || c.op === "lte") && c.value !== undefined && typeof c.value !== "number") {
      ctx.addIssue({ code: "custom", message: `${c.op} takes a number value`, path: ["value"] });
    }
  });
export type LeafCondition = z.infer<typeof leafConditionSchema>;

/** A group that holds when any of its comparisons holds (one level; the list it sits in is AND). */
export const anyConditionSchema = z.strictObject({ any: z.array(leafConditionSchema).min(2).max(8) });
export type AnyCondition = z.infer<typeof anyConditionSchema>;

export const conditionSchema = z.union([leafConditionSchema, anyConditionSchema]);
export type Condition = z.infer<typeof conditionSchema>;

export const evaluationSchema = z.strictObject({
  /** All must hold for the check to pass. */
  pass_when: z.array(conditionSchema).min(1).max(24),
  /** If any holds, the result is `not_applicable` (evaluated first). */
  not_applicable_when: z.array(conditionSchema).max(8).default([]),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

// ---- checks --------------------------------------------------------------------------------------------

export const controlsRefSchema = z.strictObject({
  hipaa: z.array(citationSchema("hipaa")).min(1, "every check maps to at least one HIPAA citation").max(12),
  soc2: z.array(citationSchema("soc2")).max(12),
  glba: z.array(citationSchema("glba")).max(12),
});
export type ControlsRef = z.infer<typeof controlsRefSchema>;

const emptyParams = { type: "object" as const, properties: {}, required: [], additionalProperties: false as const };

export const checkSchema = z
  .strictObject({
    id: entryId,
    title: text(3, 90),
    /** For clinic staff: what it means and why it matters, no jargon. */
    staff_text: text(40, 600),
    /** For the technician: how to fix it by hand (shown on escalations and when there is no runbook). */
    fix_hint: text(20, 600),
    category: z.enum(CATEGORIES),
    platform: z.enum(PLATFORMS),
    severity: z.enum(SEVERITIES),
    interval_s: z.number().int().min(60).max(86_400),
    freshness_limit_hours: z.number().int().min(1).max(2160),
    facts: z.array(factName).min(1).max(32),
    /** Thresholds a site may override; every property has a default. */
    params_schema: paramsSchemaSchema.default(emptyParams),
    evaluation: evaluationSchema,
    remediation: entryId.nullable(),
    controls: controlsRefSchema,
  })
  .superRefine((c, ctx) => {
    if (!c.id.startsWith(`${c.platform}.`)) ctx.addIssue({ code: "custom", message: `id must start with "${c.platform}."`, path: ["id"] });
    for (const [name, prop] of Object.entries(c.params_schema.properties)) {
      if (!("default" in prop) || prop.default === undefined) ctx.addIssue({ code: "custom", message: "check parameters need a default", path: ["params_schema", "properties", name] });
    }
  });
export type Check = z.infer<typeof checkSchema>;

// ---- runbooks ------------------------------------------------------------------------------------------

/** A reference to one of the runbook's own parameters inside a step's params. */
export const paramRefSchema = z.strictObject({ $param: z.string().regex(PARAM_NAME_PATTERN) });
export type ParamRef = z.infer<typeof paramRefSchema>;

export const stepSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/),
  /** A named action from the fixed list of its platform (`actions.ts`). */
  action: z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/),
  params: z.record(z.string(), z.union([paramRefSchema, jsonSchema])),
});
export type Step = z.infer<typeof stepSchema>;

export const runbookSchema = z
  .strictObject({
    id: entryId,
    title: text(3, 90),
    /** Plain-language account of what it does, shown when someone is asked to approve it. */
    summary: text(20, 600),
    platform: z.enum(PLATFORMS),
    /** The check this runbook fixes; success is that check passing again. */
    check: entryId,
    steps: z.array(stepSchema).min(1).max(20),
    rollback: z.array(stepSchema).max(20),
    params_schema: paramsSchemaSchema,
    /** Interrupts work (restarts, network changes): runs only inside a maintenance window. */
    disruptive: z.boolean(),
    /** Needs a signed approval (order `approve_runbook`) for the host before it runs. */
    needs_approval: z.boolean(),
    verify: z.literal("recheck"),
    timeout_s: z.number().int().min(10).max(7200),
  })
  .superRefine((r, ctx) => {
    if (!r.id.startsWith(`${r.platform}.`)) ctx.addIssue({ code: "custom", message: `id must start with "${r.platform}."`, path: ["id"] });
    const ids = [...r.steps, ...r.rollback].map((s) => s.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: "custom", message: "step ids repeat (steps and rollback share one namespace)", path: ["steps"] });
  });
export type Runbook = z.infer<typeof runbookSchema>;

// ---- rules ---------------------------------------------------------------------------------------------

/**
 * A built-in rule: the wire rule of protocol/ruleset.ts (one owner of the rule format and its conditions),
 * narrowed to catalogue ids and platforms.
 */
export const ruleSchema = wireRuleSchema.extend({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,100}$/),
  check: entryId,
  platform: z.enum(PLATFORMS),
  runbook: entryId,
  priority: z.number().int().min(0).max(1000),
});
export type Rule = z.infer<typeof ruleSchema>;
export type { RuleCondition } from "../ruleset.ts";

// ---- order types ---------------------------------------------------------------------------------------

export const orderTypeSchema = z.strictObject({
  type: z.string().regex(/^[a-z][a-z_]{2,40}$/),
  title: text(3, 90),
  description: text(20, 600),
  params_schema: paramsSchemaSchema,
  /** Only MSP administrators may issue it (partners and clients never can). */
  privileged: z.boolean(),
  default_ttl_s: z.number().int().min(60).max(7 * 86_400),
});
export type OrderType = z.infer<typeof orderTypeSchema>;

// ---- controls ------------------------------------------------------------------------------------------

const controlBase = { title: text(3, 120), text: text(30, 600) };

export const hipaaControlSchema = z.strictObject({
  framework: z.literal("hipaa"),
  id: citationSchema("hipaa"),
  ...controlBase,
  /** §164.308 administrative, §164.310 physical, §164.312 technical. */
  safeguard: z.enum(["administrative", "physical", "technical"]),
  /** A standard, or an implementation specification that is required or addressable. */
  specification: z.enum(["standard", "required", "addressable"]),
});
export const soc2ControlSchema = z.strictObject({ framework: z.literal("soc2"), id: citationSchema("soc2"), ...controlBase, group: text(3, 120) });
export const glbaControlSchema = z.strictObject({ framework: z.literal("glba"), id: citationSchema("glba"), ...controlBase, group: text(3, 120) });
export const controlSchema = z.discriminatedUnion("framework", [hipaaControlSchema, soc2ControlSchema, glbaControlSchema]);
export type Control = z.infer<typeof controlSchema>;
export type HipaaControl = z.infer<typeof hipaaControlSchema>;
