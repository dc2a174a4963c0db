/**
 * Private helpers of `load.ts`: the cross-reference checks of one condition or one runbook step. Each
 * returns problem texts (empty when all is well) so the loader can report every problem at once.
 */
import { stepParamsSchema } from "./actions.ts";
import { validateParams, type ParamProperty, type ParamsSchema } from "./params.ts";
import type { Check, Condition, Fact, FactType, Json, LeafCondition, Runbook, Step } from "./schema.ts";

/** A short quoted rendering of a value for problem texts. */
export function preview(value: unknown): string {
  const text = value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

const ORDERED = new Set(["gt", "gte", "lt", "lte"]);

/** The type of a check parameter, in fact-type terms, for operator checks. */
function paramFactType(p: ParamProperty): FactType | "object" {
  switch (p.type) {
    case "integer":
      return "integer";
    case "string":
    case "enum":
      return "string";
    case "boolean":
      return "boolean";
    case "string_list":
      return "string_list";
    case "object":
      return "object";
  }
}

function literalFits(type: FactType, v: Json): boolean {
  if (v === null) return true;
  switch (type) {
    case "boolean":
      return typeof v === "boolean";
    case "integer":
    case "number":
      return typeof v === "number";
    case "string":
      return typeof v === "string";
    case "string_list":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
  }
}

const numeric = (t: FactType | "object") => t === "integer" || t === "number";

/** Problems with one comparison of a check (fact listed, operand types fit the operator). */
export function leafProblems(c: LeafCondition, check: Check, facts: ReadonlyMap<string, Fact>): string[] {
  const out: string[] = [];
  const where = `${c.fact} ${c.op}`;
  if (!check.facts.includes(c.fact)) out.push(`condition reads ${c.fact}, which is not in the check's facts`);
  const fact = facts.get(`${check.platform}:${c.fact}`);
  if (!fact) return out;
  let rhs: FactType | "object" | "list" | null = null;
  if (c.value_fact !== undefined) {
    if (!check.facts.includes(c.value_fact)) out.push(`condition compares with ${c.value_fact}, which is not in the check's facts`);
    rhs = facts.get(`${check.platform}:${c.value_fact}`)?.type ?? null;
  } else if (c.value_param !== undefined) {
    const p = check.params_schema.properties[c.value_param];
    if (!p) out.push(`${where}: parameter ${c.value_param} is not in params_schema`);
    else rhs = paramFactType(p);
  }
  const t = fact.type;
  const v = c.value;
  switch (c.op) {
    case "eq":
    case "ne":
      if (v !== undefined && !literalFits(t, v)) out.push(`${where}: value ${preview(v)} is not a ${t}`);
      if (rhs !== null && rhs !== t && !(numeric(rhs) && numeric(t))) out.push(`${where}: compares a ${t} with a ${rhs}`);
      break;
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      if (!numeric(t)) out.push(`${where}: ${c.fact} is a ${t}, ordering needs a number`);
      if (rhs !== null && !numeric(rhs)) out.push(`${where}: compares with a ${rhs}, ordering needs a number`);
      break;
    case "in":
    case "not_in":
      if (t === "string_list") out.push(`${where}: ${c.fact} is a list; use subset_of`);
      if (Array.isArray(v) && !v.every((x) => literalFits(t, x))) out.push(`${where}: list items must be ${t} or null`);
      if (rhs !== null && !(rhs === "string_list" && t === "string")) out.push(`${where}: needs a list of ${t}`);
      break;
    case "contains":
      if (t !== "string" && t !== "string_list") out.push(`${where}: ${c.fact} is a ${t}, contains needs a string or list`);
      if (v !== undefined && typeof v !== "string") out.push(`${where}: value must be a string`);
      break;
    case "regex":
      if (t !== "string") out.push(`${where}: ${c.fact} is a ${t}, regex needs a string`);
      break;
    case "subset_of":
      if (t !== "string_list") out.push(`${where}: ${c.fact} is a ${t}, subset_of needs a list`);
      if (Array.isArray(v) && !v.every((x) => typeof x === "string")) out.push(`${where}: list items must be strings`);
      if (rhs !== null && rhs !== "string_list") out.push(`${where}: needs a string list parameter`);
      break;
    case "exists":
      break;
  }
  if (ORDERED.has(c.op) && v !== undefined && typeof v !== "number") out.push(`${where}: value must be a number`);
  return out;
}

export function conditionProblems(conditions: readonly Condition[], check: Check, facts: ReadonlyMap<string, Fact>): string[] {
  return conditions.flatMap((c) => ("any" in c ? c.any.flatMap((l) => leafProblems(l, check, facts)) : leafProblems(c, check, facts)));
}

/** Problems with a runbook's steps: known actions, valid literal params, `$param` refs to its own parameters. */
export function stepProblems(runbook: Runbook, steps: readonly Step[], part: string): string[] {
  const out: string[] = [];
  for (const step of steps) {
    const where = `${part} ${step.id}`;
    const schema = stepParamsSchema(runbook.platform, step.action, step.params);
    if (typeof schema === "string") {
      out.push(`${where}: ${schema}`);
      continue;
    }
    const literal: Record<string, unknown> = {};
    const refs: string[] = [];
    for (const [name, v] of Object.entries(step.params)) {
      if (v !== null && typeof v === "object" && !Array.isArray(v) && "$param" in v) {
        refs.push(name);
        const target = schema.properties[name];
        const own = runbook.params_schema.properties[String(v.$param)];
        if (!own) out.push(`${where}: params.${name} refers to $param ${String(v.$param)}, which is not in the runbook's params_schema`);
        else if (!runbook.params_schema.required.includes(String(v.$param)) && !("default" in own && own.default !== undefined)) {
          out.push(`${where}: params.${name} refers to $param ${String(v.$param)}, which is neither required nor has a default`);
        }
        else if (target && target.type !== own.type) out.push(`${where}: params.${name} is a ${target.type} but $param ${String(v.$param)} is a ${own.type}`);
        if (!target) out.push(`${where}: '${name}' is not a parameter of ${step.action}`);
      } else literal[name] = v;
    }
    const relaxed: ParamsSchema = { ...schema, required: schema.required.filter((n) => !refs.includes(n)) };
    const r = validateParams(relaxed, literal);
    if (!r.ok) out.push(...r.issues.map((i) => `${where} (${step.action}): ${i.message}`));
  }
  return out;
}
