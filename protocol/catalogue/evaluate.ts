/**
 * The reference evaluator of catalogue checks and rule conditions. Pure and generic: a check is data
 * (`evaluation.pass_when`, `evaluation.not_applicable_when`), so the appliance, the relay and tests all get
 * the same answer from the same facts.
 *
 * Facts: a JSON object gathered by a collector for one target; a fact name is a dotted path into it
 * (`sshd.permit_root_login` → `facts.sshd.permit_root_login`). A fact is *missing* when the path does not
 * exist (not collected), and *null* when the collector looked and found nothing (e.g. no backup ever).
 * Before evaluation every fact the check lists that is present is checked against its documented type;
 * a mismatch (or null where the fact is not nullable) makes the result `error`.
 *
 * A comparison holds, fails, or is unknown:
 * - the left fact (or a `value_fact`) is missing → unknown, except `exists`, which never is unknown;
 * - `eq` / `ne`: JSON deep equality (no type coercion: "1" ≠ 1; lists compare in order); null is a value;
 * - `gt gte lt lte`: both sides numbers; if either is null it fails;
 * - `in` / `not_in`: the fact equals (does not equal) some item of the list; null is a value;
 * - `contains`: a string fact contains the substring, or a list fact has an item equal to the value;
 * - `regex`: a string fact matches the ECMAScript pattern (flag `u`, unanchored unless the pattern anchors);
 * - `subset_of`: every item of a list fact is in the list;
 * - `exists`: `value: true` holds when the fact is present and not null, `value: false` otherwise;
 * - null fails `contains`, `regex` and `subset_of`.
 * An `{any: [...]}` group holds if any member holds, fails if all fail, else is unknown.
 *
 * Result: `not_applicable` if any `not_applicable_when` condition holds (unknown counts as not holding);
 * otherwise `fail` if any `pass_when` condition fails, `error` if none fails but some is unknown, else `pass`.
 * Rules are matched by protocol/rules.ts (the one rule matcher), with the same missing-fact semantics.
 */
import type { Params } from "./params.ts";
import type { Check, Condition, Fact, Json, LeafCondition } from "./schema.ts";

export type CheckStatus = "pass" | "fail" | "error" | "not_applicable";

/** What an evaluation found, ready for a `check_cycle` evidence result. */
export interface CheckEvaluation {
  status: CheckStatus;
  /** The pass conditions, parameters filled in, e.g. `disk.max_used_percent lte 90`. */
  expected: string[];
  /** Every fact the check lists that was present, by name. */
  actual: Record<string, Json>;
  /** Why it is not `pass` (the failing conditions, missing or ill-typed facts), or null. */
  reason: string | null;
}

type Truth = true | false | "unknown";
type Lookup = { found: true; value: Json } | { found: false };

/** The value at a dotted path in `facts` (own properties only). */
export function readFact(facts: unknown, name: string): Lookup {
  let v: unknown = facts;
  for (const seg of name.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, seg)) return { found: false };
    v = (v as Record<string, unknown>)[seg];
  }
  return v === undefined ? { found: false } : { found: true, value: v as Json };
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i] as Json));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k] as Json, b[k] as Json));
}

/** Whether `value` has the documented type of `fact`. */
export function factTypeOk(fact: Pick<Fact, "type" | "nullable">, value: Json): boolean {
  if (value === null) return fact.nullable;
  switch (fact.type) {
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "string_list":
      return Array.isArray(value) && value.every((x) => typeof x === "string");
  }
}

function compare(op: LeafCondition["op"], left: Json, right: Json): boolean {
  switch (op) {
    case "eq":
      return deepEqual(left, right);
    case "ne":
      return !deepEqual(left, right);
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      if (typeof left !== "number" || typeof right !== "number") return false;
      return op === "gt" ? left > right : op === "gte" ? left >= right : op === "lt" ? left < right : left <= right;
    }
    case "in":
      return Array.isArray(right) && right.some((x) => deepEqual(left, x));
    case "not_in":
      return Array.isArray(right) && !right.some((x) => deepEqual(left, x));
    case "contains":
      if (typeof left === "string") return typeof right === "string" && left.includes(right);
      return Array.isArray(left) && left.some((x) => deepEqual(x, right));
    case "regex":
      return typeof left === "string" && typeof right === "string" && new RegExp(right, "u").test(left);
    case "subset_of":
      return Array.isArray(left) && Array.isArray(right) && left.every((x) => right.some((y) => deepEqual(x, y)));
    case "exists":
      return false; // handled by the caller: it depends on presence, not on a value
  }
}

function leafTruth(c: LeafCondition, facts: unknown, params: Params): Truth {
  const left = readFact(facts, c.fact);
  if (c.op === "exists") return (left.found && left.value !== null) === c.value;
  if (!left.found) return "unknown";
  let right: Json;
  if (c.value_fact !== undefined) {
    const r = readFact(facts, c.value_fact);
    if (!r.found) return "unknown";
    right = r.value;
  } else if (c.value_param !== undefined) {
    if (!Object.hasOwn(params, c.value_param)) return "unknown";
    right = params[c.value_param] as Json;
  } else right = c.value as Json;
  return compare(c.op, left.value, right);
}

function truth(c: Condition, facts: unknown, params: Params): Truth {
  if (!("any" in c)) return leafTruth(c, facts, params);
  const all = c.any.map((l) => leafTruth(l, facts, params));
  return all.includes(true) ? true : all.includes("unknown") ? "unknown" : false;
}

function renderLeaf(c: LeafCondition, params: Params): string {
  const rhs = c.value_fact ?? JSON.stringify(c.value_param !== undefined ? params[c.value_param] : c.value);
  return `${c.fact} ${c.op} ${rhs}`;
}

/** A condition as text, parameters filled in: `sshd.permit_root_login in ["no"]`, `any(a eq 1; b eq 2)`. */
export function renderCondition(c: Condition, params: Params = {}): string {
  return "any" in c ? `any(${c.any.map((l) => renderLeaf(l, params)).join("; ")})` : renderLeaf(c, params);
}

function factsRead(c: Condition): string[] {
  const leaves = "any" in c ? c.any : [c];
  return leaves.flatMap((l) => (l.value_fact ? [l.fact, l.value_fact] : [l.fact]));
}

/**
 * Evaluates `check` over a target's `facts` with the check's `params` (defaults merged with site overrides,
 * as `Catalogue.checkParams` returns them). `factDoc` gives each fact's documentation (type, nullable).
 */
export function evaluateCheck(check: Check, factDoc: (name: string) => Pick<Fact, "type" | "nullable">, facts: unknown, params: Params): CheckEvaluation {
  const expected = check.evaluation.pass_when.map((c) => renderCondition(c, params));
  const actual: Record<string, Json> = {};
  const result = (status: CheckStatus, reason: string | null): CheckEvaluation => ({ status, expected, actual, reason });
  if (facts === null || typeof facts !== "object" || Array.isArray(facts)) return result("error", "facts must be a JSON object");

  const badTypes: string[] = [];
  for (const name of check.facts) {
    const f = readFact(facts, name);
    if (!f.found) continue;
    actual[name] = f.value;
    const doc = factDoc(name);
    if (!factTypeOk(doc, f.value)) badTypes.push(`${name} should be ${doc.nullable ? `${doc.type} or null` : doc.type}, got ${JSON.stringify(f.value)?.slice(0, 60)}`);
  }
  if (badTypes.length) return result("error", `ill-typed facts: ${badTypes.join("; ")}`);

  if (check.evaluation.not_applicable_when.some((c) => truth(c, facts, params) === true)) {
    const which = check.evaluation.not_applicable_when.find((c) => truth(c, facts, params) === true)!;
    return result("not_applicable", `not applicable: ${renderCondition(which, params)}`);
  }

  const failed: string[] = [];
  const missing = new Set<string>();
  for (const c of check.evaluation.pass_when) {
    const t = truth(c, facts, params);
    if (t === false) failed.push(renderCondition(c, params));
    else if (t === "unknown") for (const name of factsRead(c)) if (!readFact(facts, name).found) missing.add(name);
  }
  if (failed.length) return result("fail", `not met: ${failed.join("; ")}`);
  if (missing.size) return result("error", `facts not collected: ${[...missing].join(", ")}`);
  return result("pass", null);
}
