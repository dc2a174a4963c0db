/**
 * Parameter schemas: the small JSON-Schema-like language the catalogue uses for runbook parameters, check
 * thresholds, order parameters and step-action arguments, and the one validator for it.
 *
 * It is deliberately tiny so that every consumer (the appliance, the relay, the L2 planner gateway, the
 * dashboard's forms) can implement or call it identically:
 *
 *   { "type": "object", "additionalProperties": false, "required": ["mode"],
 *     "properties": { "mode": { "type": "enum", "values": ["observe", "advise", "enforce"], "description": "…" } } }
 *
 * Property types: `string` (max length required, optional min and anchored `pattern`), `integer` (min/max),
 * `boolean`, `enum` (string values), `string_list` (max items, per-item max length and pattern), and `object`
 * (a flat object of scalars and string lists, for a runbook's parameters inside an order; the consumer
 * validates it against that runbook's schema). Unknown fields are always rejected.
 *
 * What integrators see (the MCP catalogue tool, the REST order types) is this schema as JSON Schema, from
 * `toJsonSchema` here, the one place that knows both languages.
 */
import { z } from "zod";
import { ValidationError } from "../errors.ts";

/** Longest string a schema may allow: parameters are settings, not documents. */
export const MAX_STRING_LENGTH = 4096;
/** Most items a string list may allow, and most keys an `object` parameter may hold. */
export const MAX_LIST_ITEMS = 256;
/** Most properties one schema may declare. */
export const MAX_PROPERTIES = 32;

const NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** A compiled pattern must be anchored at both ends, so `pattern` means "the whole value looks like this". */
function anchoredPattern(what: string) {
  return z
    .string()
    .min(2)
    .max(1000)
    .refine((p) => p.startsWith("^") && p.endsWith("$"), `${what} must be anchored with ^ and $`)
    .refine((p) => {
      try {
        new RegExp(p, "u");
        return true;
      } catch {
        return false;
      }
    }, `${what} must be a valid regular expression`);
}

const description = z.string().min(3).max(400);
const count = (max: number) => z.number().int().min(0).max(max);

const stringProp = z.strictObject({
  type: z.literal("string"),
  description,
  min: count(MAX_STRING_LENGTH).optional(),
  max: count(MAX_STRING_LENGTH).min(1),
  pattern: anchoredPattern("pattern").optional(),
  default: z.string().optional(),
});
const integerProp = z.strictObject({
  type: z.literal("integer"),
  description,
  min: z.number().int().optional(),
  max: z.number().int().optional(),
  default: z.number().int().optional(),
});
const booleanProp = z.strictObject({ type: z.literal("boolean"), description, default: z.boolean().optional() });
const enumProp = z.strictObject({
  type: z.literal("enum"),
  description,
  values: z.array(z.string().min(1).max(200)).min(1).max(MAX_LIST_ITEMS),
  default: z.string().optional(),
});
const stringListProp = z.strictObject({
  type: z.literal("string_list"),
  description,
  max: count(MAX_LIST_ITEMS).min(1),
  item_max: count(MAX_STRING_LENGTH).min(1),
  item_pattern: anchoredPattern("item_pattern").optional(),
  default: z.array(z.string()).optional(),
});
const objectProp = z.strictObject({ type: z.literal("object"), description, max: count(MAX_LIST_ITEMS).min(1) });

const propertySchema = z.discriminatedUnion("type", [stringProp, integerProp, booleanProp, enumProp, stringListProp, objectProp]);

/** One property of a parameter schema. */
export type ParamProperty = z.infer<typeof propertySchema>;

/** Schema (zod) of a parameter schema; its refinements check defaults, bounds and `required` names. */
export const paramsSchemaSchema = z
  .strictObject({
    type: z.literal("object"),
    properties: z.record(z.string().regex(NAME, "parameter names are lower_snake_case"), propertySchema),
    required: z.array(z.string()).max(MAX_PROPERTIES),
    additionalProperties: z.literal(false),
  })
  .superRefine((schema, ctx) => {
    const names = Object.keys(schema.properties);
    if (names.length > MAX_PROPERTIES) ctx.addIssue({ code: "custom", message: `at most ${MAX_PROPERTIES} properties`, path: ["properties"] });
    schema.required.forEach((name, i) => {
      if (!Object.hasOwn(schema.properties, name)) ctx.addIssue({ code: "custom", message: `'${name}' is required but not a property`, path: ["required", i] });
    });
    if (new Set(schema.required).size !== schema.required.length) ctx.addIssue({ code: "custom", message: "names repeat", path: ["required"] });
    for (const [name, prop] of Object.entries(schema.properties)) {
      const path = ["properties", name];
      if ((prop.type === "integer" || prop.type === "string") && prop.min !== undefined && prop.max !== undefined && prop.min > prop.max) {
        ctx.addIssue({ code: "custom", message: `min ${prop.min} is greater than max ${prop.max}`, path });
      }
      if (prop.type === "enum" && new Set(prop.values).size !== prop.values.length) ctx.addIssue({ code: "custom", message: "enum values repeat", path });
      if ("default" in prop && prop.default !== undefined) {
        const issue = checkValue(name, prop, prop.default);
        if (issue) ctx.addIssue({ code: "custom", message: `default is invalid: ${issue.message}`, path: [...path, "default"] });
      }
    }
  });

/** A parameter schema. */
export type ParamsSchema = z.infer<typeof paramsSchemaSchema>;

/** A parameter value: what a property of any type can hold. */
export type ParamValue = string | number | boolean | string[] | Record<string, ParamScalar | string[]>;
type ParamScalar = string | number | boolean | null;
/** Validated parameters, defaults applied. */
export type Params = Record<string, ParamValue>;

/** Why a value was refused, as a closed set of codes callers can map without reading messages. */
export type ParamIssueCode = "not_object" | "unknown_field" | "missing" | "type" | "too_small" | "too_large" | "pattern" | "enum";
/** One problem with one field. `field` is the parameter name (`""` for the whole value). */
export interface ParamIssue {
  field: string;
  code: ParamIssueCode;
  message: string;
}
/** Result of `validateParams`: the parameters with defaults applied, or every problem found. */
export type ParamsResult = { ok: true; value: Params } | { ok: false; issues: ParamIssue[] };

/** The schema with no parameters: accepts `{}` only. */
export const NO_PARAMS: ParamsSchema = Object.freeze({ type: "object", properties: {}, required: [], additionalProperties: false });

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function issue(field: string, code: ParamIssueCode, expectation: string, value: unknown): ParamIssue {
  return { field, code, message: `'${field}' ${expectation}: current value is ${show(value)}` };
}

/** Checks one value against one property; returns the problem, or null when it is valid. */
function checkValue(field: string, prop: ParamProperty, value: unknown): ParamIssue | null {
  switch (prop.type) {
    case "string": {
      if (typeof value !== "string") return issue(field, "type", "must be a string", value);
      if (prop.min !== undefined && value.length < prop.min) return issue(field, "too_small", `must be at least ${prop.min} characters`, value);
      if (value.length > prop.max) return issue(field, "too_large", `must be at most ${prop.max} characters`, value);
      if (prop.pattern !== undefined && !new RegExp(prop.pattern, "u").test(value)) return issue(field, "pattern", `must match ${prop.pattern}`, value);
      return null;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return issue(field, "type", "must be an integer", value);
      if (prop.min !== undefined && value < prop.min) return issue(field, "too_small", `must be at least ${prop.min}`, value);
      if (prop.max !== undefined && value > prop.max) return issue(field, "too_large", `must be at most ${prop.max}`, value);
      return null;
    }
    case "boolean":
      return typeof value === "boolean" ? null : issue(field, "type", "must be true or false", value);
    case "enum":
      if (typeof value !== "string") return issue(field, "type", "must be a string", value);
      return prop.values.includes(value) ? null : issue(field, "enum", `must be one of ${prop.values.join(", ")}`, value);
    case "string_list": {
      if (!Array.isArray(value)) return issue(field, "type", "must be a list of strings", value);
      if (value.length > prop.max) return issue(field, "too_large", `must have at most ${prop.max} items`, value);
      for (const [i, item] of value.entries()) {
        const at = `${field}[${i}]`;
        if (typeof item !== "string") return issue(at, "type", "must be a string", item);
        if (item.length > prop.item_max) return issue(at, "too_large", `must be at most ${prop.item_max} characters`, item);
        if (prop.item_pattern !== undefined && !new RegExp(prop.item_pattern, "u").test(item)) return issue(at, "pattern", `must match ${prop.item_pattern}`, item);
      }
      return null;
    }
    case "object": {
      if (!isPlainObject(value)) return issue(field, "type", "must be an object", value);
      const keys = Object.keys(value);
      if (keys.length > prop.max) return issue(field, "too_large", `must have at most ${prop.max} keys`, keys.length);
      for (const key of keys) {
        const at = `${field}.${key}`;
        if (!NAME.test(key)) return issue(at, "pattern", "must be a lower_snake_case name", key);
        const v = value[key];
        const scalar = v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
        const list = Array.isArray(v) && v.every((x) => typeof x === "string");
        if (!scalar && !list) return issue(at, "type", "must be a string, number, boolean, null or list of strings", v);
      }
      return null;
    }
  }
}

/**
 * Validates `input` against `schema`: a plain object with only declared properties, every required one
 * present, each value of its property's type and within its bounds. Returns the parameters with defaults of
 * absent properties filled in, or every problem found (each message names the field and the value seen).
 */
export function validateParams(schema: ParamsSchema, input: unknown): ParamsResult {
  if (!isPlainObject(input)) return { ok: false, issues: [{ field: "", code: "not_object", message: `parameters must be an object: current value is ${show(input)}` }] };
  const issues: ParamIssue[] = [];
  const value: Params = {};
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(schema.properties, key)) {
      const known = Object.keys(schema.properties);
      issues.push({ field: key, code: "unknown_field", message: `'${key}' is not a parameter here (known: ${known.length ? known.join(", ") : "none"})` });
    }
  }
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!Object.hasOwn(input, name) || input[name] === undefined) {
      if (schema.required.includes(name)) issues.push({ field: name, code: "missing", message: `'${name}' is required but missing` });
      else if ("default" in prop && prop.default !== undefined) value[name] = structuredClone(prop.default);
      continue;
    }
    const problem = checkValue(name, prop, input[name]);
    if (problem) issues.push(problem);
    else value[name] = structuredClone(input[name]) as ParamValue;
  }
  return issues.length ? { ok: false, issues } : { ok: true, value };
}

/** Like `validateParams`, but throws a `ValidationError("schema")` whose message starts with `label`. */
export function assertParams(schema: ParamsSchema, input: unknown, label: string): Params {
  const result = validateParams(schema, input);
  if (result.ok) return result.value;
  throw new ValidationError("schema", `${label}: ${result.issues.map((i) => i.message).join("; ")}`, { issues: result.issues });
}

/** The defaults of every property that has one (what a check or runbook uses when nothing overrides them). */
export function defaultsOf(schema: ParamsSchema): Params {
  const out: Params = {};
  for (const [name, prop] of Object.entries(schema.properties)) {
    if ("default" in prop && prop.default !== undefined) out[name] = structuredClone(prop.default);
  }
  return out;
}

/** The JSON Schema dialect `toJsonSchema` writes. */
export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

/** A JSON Schema document (plain JSON). */
export type JsonSchema = { [key: string]: unknown };

const SCALAR_OR_STRING_LIST: JsonSchema = { anyOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "array", items: { type: "string" } }] };

function propertyJsonSchema(prop: ParamProperty): JsonSchema {
  const base = { description: prop.description };
  switch (prop.type) {
    case "string":
      return { type: "string", ...base, ...(prop.min !== undefined ? { minLength: prop.min } : {}), maxLength: prop.max, ...(prop.pattern !== undefined ? { pattern: prop.pattern } : {}), ...(prop.default !== undefined ? { default: prop.default } : {}) };
    case "integer":
      return { type: "integer", ...base, ...(prop.min !== undefined ? { minimum: prop.min } : {}), ...(prop.max !== undefined ? { maximum: prop.max } : {}), ...(prop.default !== undefined ? { default: prop.default } : {}) };
    case "boolean":
      return { type: "boolean", ...base, ...(prop.default !== undefined ? { default: prop.default } : {}) };
    case "enum":
      return { type: "string", ...base, enum: [...prop.values], ...(prop.default !== undefined ? { default: prop.default } : {}) };
    case "string_list":
      return { type: "array", ...base, maxItems: prop.max, items: { type: "string", maxLength: prop.item_max, ...(prop.item_pattern !== undefined ? { pattern: prop.item_pattern } : {}) }, ...(prop.default !== undefined ? { default: [...prop.default] } : {}) };
    case "object":
      return { type: "object", ...base, maxProperties: prop.max, propertyNames: { pattern: NAME.source }, additionalProperties: SCALAR_OR_STRING_LIST };
  }
}

/**
 * The parameter schema as JSON Schema (draft 2020-12), for integrators whose tools read JSON Schema: the same
 * properties, bounds, patterns, `required` and defaults (`default` is an annotation there: `validateParams`
 * fills defaults in). Two differences JSON Schema cannot state and `validateParams` keeps: string lengths count
 * UTF-16 code units (JSON Schema counts code points), and integers must be safe integers (within ±2^53 − 1).
 */
export function toJsonSchema(schema: ParamsSchema): JsonSchema {
  return {
    $schema: JSON_SCHEMA_DIALECT,
    type: "object",
    properties: Object.fromEntries(Object.entries(schema.properties).map(([name, prop]) => [name, propertyJsonSchema(prop)])),
    required: [...schema.required],
    additionalProperties: false,
  };
}
