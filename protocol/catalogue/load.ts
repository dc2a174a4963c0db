/**
 * Loading the catalogue: every entry is parsed with its schema, then (if all parse) the entries are checked
 * against each other. Any problem stops the load with one `ValidationError("schema")` listing every problem
 * of that stage, each naming its entry (`checks[12] (linux.sshd_root_login): controls.hipaa[0]: …`).
 *
 * Cross-reference invariants (the ones the appliance, relay and reports rely on):
 * - ids are unique (facts per platform, checks, runbooks, rules, order types, controls per framework);
 * - a check reads only documented facts of its platform, and its conditions only facts it lists, its own
 *   parameters, and operators that fit the fact's type;
 * - every control a check cites is in the controls table; HIPAA safeguards match their CFR section;
 * - a check's remediation runbook exists and fixes that check on that platform; encryption is never
 *   auto-fixed (remediation null: it alerts);
 * - a runbook's check exists on its platform; its steps use that platform's actions with valid params;
 * - every built-in rule names a runbook that addresses the rule's check and platform (the check's
 *   remediation), and every check with a remediation has exactly one built-in rule;
 * - every documented fact is read by some check.
 */
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { conditionProblems, leafProblems, preview, stepProblems } from "./_references.ts";
import { Catalogue } from "./catalogue.ts";
import { validateParams } from "./params.ts";
import {
  checkSchema,
  controlSchema,
  factSchema,
  FRAMEWORKS,
  leafConditionSchema,
  orderTypeSchema,
  ruleSchema,
  runbookSchema,
  type Control,
  type OrderType,
  type Rule,
} from "./schema.ts";

/** The catalogue's data before validation: one list per kind of entry. */
export interface RawCatalogue {
  facts: readonly unknown[];
  checks: readonly unknown[];
  runbooks: readonly unknown[];
  rules: readonly unknown[];
  order_types: readonly unknown[];
  controls: readonly unknown[];
}

/** At most this many problems are spelled out in the error message (all are in `details.problems`). */
export const MAX_LISTED_PROBLEMS = 25;

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function label(kind: keyof RawCatalogue, index: number, entry: unknown): string {
  const key = kind === "order_types" ? "type" : kind === "facts" ? "name" : "id";
  const id = valueAt(entry, [key]);
  return typeof id === "string" ? `${kind}[${index}] (${id})` : `${kind}[${index}]`;
}

/** Parses every entry of one kind; problems are appended to `problems`. */
function parseAll<T>(kind: keyof RawCatalogue, entries: readonly unknown[], schema: z.ZodType<T>, problems: string[]): T[] {
  if (!Array.isArray(entries)) {
    problems.push(`${kind}: expected a list, got ${preview(entries)}`);
    return [];
  }
  const out: T[] = [];
  entries.forEach((entry, i) => {
    const r = schema.safeParse(entry);
    if (r.success) out.push(r.data);
    else for (const issue of r.error.issues) problems.push(`${label(kind, i, entry)}: ${formatPath(issue.path) || "entry"}: ${issue.message} (got ${preview(valueAt(entry, issue.path))})`);
  });
  return out;
}

function duplicates(kind: string, keys: readonly string[], problems: string[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) problems.push(`${kind} (${k}): duplicate id`);
    seen.add(k);
  }
}

function fail(version: string, problems: readonly string[]): never {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  - ${p}`);
  const more = problems.length > MAX_LISTED_PROBLEMS ? [`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`] : [];
  const head = `Catalogue ${version} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):`;
  throw new ValidationError("schema", [head, ...listed, ...more].join("\n"), { problems: [...problems] });
}

/**
 * Validates raw catalogue data and returns the catalogue; throws `ValidationError("schema")` listing every
 * problem, each naming the entry and field.
 */
export function loadCatalogue(raw: RawCatalogue, version: string): Catalogue {
  const problems: string[] = [];
  const factList = parseAll("facts", raw.facts, factSchema, problems);
  const checks = parseAll("checks", raw.checks, checkSchema, problems);
  const runbooks = parseAll("runbooks", raw.runbooks, runbookSchema, problems);
  const rules = parseAll("rules", raw.rules, ruleSchema, problems);
  const orderTypes = parseAll<OrderType>("order_types", raw.order_types, orderTypeSchema, problems);
  const controls = parseAll<Control>("controls", raw.controls, controlSchema, problems);
  // Cross-references over partly parsed data would only add echoes of the same problems.
  if (problems.length) fail(version, problems);

  duplicates("facts", factList.map((f) => `${f.platform}:${f.name}`), problems);
  duplicates("checks", checks.map((c) => c.id), problems);
  duplicates("runbooks", runbooks.map((r) => r.id), problems);
  duplicates("rules", rules.map((r) => r.id), problems);
  duplicates("order_types", orderTypes.map((o) => o.type), problems);
  duplicates("controls", controls.map((c) => `${c.framework}:${c.id}`), problems);

  const facts = new Map(factList.map((f) => [`${f.platform}:${f.name}`, f]));
  const checkById = new Map(checks.map((c) => [c.id, c]));
  const runbookById = new Map(runbooks.map((r) => [r.id, r]));
  const controlKeys = new Set(controls.map((c) => `${c.framework}:${c.id}`));
  const usedFacts = new Set<string>();

  for (const c of controls) {
    if (c.framework !== "hipaa") continue;
    const expected = c.id.startsWith("164.308") ? "administrative" : c.id.startsWith("164.310") ? "physical" : c.id.startsWith("164.312") ? "technical" : null;
    if (expected && c.safeguard !== expected) problems.push(`controls (hipaa:${c.id}): safeguard is ${c.safeguard}, but §${c.id.slice(0, 7)} is ${expected}`);
  }

  for (const check of checks) {
    const at = (msg: string) => problems.push(`checks (${check.id}): ${msg}`);
    if (new Set(check.facts).size !== check.facts.length) at("facts repeat");
    for (const name of check.facts) {
      usedFacts.add(`${check.platform}:${name}`);
      if (!facts.has(`${check.platform}:${name}`)) at(`fact ${name} is not documented for platform ${check.platform}`);
    }
    for (const m of conditionProblems(check.evaluation.pass_when, check, facts)) at(`evaluation.pass_when: ${m}`);
    for (const m of conditionProblems(check.evaluation.not_applicable_when, check, facts)) at(`evaluation.not_applicable_when: ${m}`);
    for (const fw of FRAMEWORKS) {
      for (const id of check.controls[fw]) if (!controlKeys.has(`${fw}:${id}`)) at(`controls.${fw}: ${id} is not in the controls table`);
      if (new Set(check.controls[fw]).size !== check.controls[fw].length) at(`controls.${fw}: citations repeat`);
    }
    if (check.remediation !== null) {
      const rb = runbookById.get(check.remediation);
      if (!rb) at(`remediation: unknown runbook ${check.remediation}`);
      else if (rb.check !== check.id || rb.platform !== check.platform) at(`remediation: runbook ${rb.id} addresses ${rb.check} on ${rb.platform}, not this check`);
      if (check.category === "encryption") at("remediation: encryption is never auto-fixed; set remediation to null (the failure alerts)");
    }
  }

  for (const rb of runbooks) {
    const at = (msg: string) => problems.push(`runbooks (${rb.id}): ${msg}`);
    const check = checkById.get(rb.check);
    if (!check) at(`check: unknown check ${rb.check}`);
    else if (check.platform !== rb.platform) at(`check: ${rb.check} runs on ${check.platform}, the runbook on ${rb.platform}`);
    else if (check.category === "encryption") at(`check: ${rb.check} is an encryption check, which is never auto-fixed`);
    for (const m of [...stepProblems(rb, rb.steps, "step"), ...stepProblems(rb, rb.rollback, "rollback step")]) at(m);
  }

  const rulesPerCheck = new Map<string, number>();
  for (const rule of rules) {
    const at = (msg: string) => problems.push(`rules (${rule.id}): ${msg}`);
    if (rule.source !== "builtin") at(`source: catalogue rules are "builtin", got ${rule.source}`);
    const check = checkById.get(rule.check);
    const rb = runbookById.get(rule.runbook);
    if (!check) at(`check: unknown check ${rule.check}`);
    if (!rb) at(`runbook: unknown runbook ${rule.runbook}`);
    if (!check || !rb) continue;
    rulesPerCheck.set(check.id, (rulesPerCheck.get(check.id) ?? 0) + 1);
    if (check.platform !== rule.platform) at(`platform: ${rule.check} runs on ${check.platform}, the rule says ${rule.platform}`);
    if (rb.check !== rule.check || rb.platform !== rule.platform) at(`runbook: ${rb.id} addresses ${rb.check} on ${rb.platform}, not ${rule.check} on ${rule.platform}`);
    if (check.remediation !== rb.id) at(`runbook: ${rb.id} is not the remediation of ${check.id} (${String(check.remediation)})`);
    for (const c of rule.conditions) {
      const shape = leafConditionSchema.safeParse(c);
      if (!shape.success) for (const issue of shape.error.issues) at(`conditions: ${c.fact} ${c.op}: ${issue.message}`);
      else for (const m of leafProblems(shape.data, check, facts)) at(`conditions: ${m}`);
    }
    const p = validateParams(rb.params_schema, rule.params);
    if (!p.ok) at(`params: ${p.issues.map((i) => i.message).join("; ")}`);
  }
  for (const check of checks) {
    const n = rulesPerCheck.get(check.id) ?? 0;
    if (check.remediation !== null && n !== 1) problems.push(`checks (${check.id}): has a remediation, so needs exactly one built-in rule; found ${n}`);
  }

  for (const key of facts.keys()) if (!usedFacts.has(key)) problems.push(`facts (${key}): documented but no check reads it`);

  if (problems.length) fail(version, problems);
  return new Catalogue({ version, facts: factList, checks, runbooks, rules: rules satisfies Rule[], order_types: orderTypes, controls });
}
