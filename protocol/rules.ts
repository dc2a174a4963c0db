/**
 * L1 rule matching: which rule (if any) heals a failing check.
 *
 * A rule applies when its `check` is the failing check, its `platform` is the host's (or `any`), and every
 * condition holds over the check's facts. Among the rules that apply, the first by priority (highest first),
 * then id (code-unit order), wins, so the choice never depends on the order rules arrived in.
 *
 * Semantics, chosen so that missing data never triggers a fix:
 * - `fact` is a dotted path; a segment indexes an array when it is a decimal index; only own properties are
 *   followed (`constructor`, `__proto__` resolve to nothing).
 * - A fact that is absent matches no op except `exists: false`; `exists: true` needs a present, non-null value.
 * - `eq` / `ne` / `in` / `not_in` compare JSON values structurally.
 * - `gt` `gte` `lt` `lte` compare two numbers, or two strings in code-unit order (which orders wire times);
 *   mixed types never match.
 * - `contains`: substring of a string fact, or an element (structurally equal) of an array fact.
 * - `regex`: a Unicode-mode JavaScript regex tested against a string fact of at most MAX_REGEX_INPUT_LENGTH
 *   characters. A pattern that is too long, does not compile, or nests quantifiers (the usual catastrophic
 *   backtracking shape) makes its rule never match; `validateRules` reports it.
 */
import { ANY_PLATFORM, MAX_REGEX_LENGTH, type Rule, type RuleCondition } from "./ruleset.ts";

/** Longest string a regex is run against; longer facts do not match (bounds the cost of any pattern). */
export const MAX_REGEX_INPUT_LENGTH = 4096;

/** What a rule is matched against: the failing check, the host's platform, and the facts collected. */
export interface RuleInput {
  check: string;
  platform: string;
  facts: Readonly<Record<string, unknown>>;
}

/** A condition that can never match, and why. */
export interface RuleProblem {
  rule_id: string;
  /** Index of the condition in the rule. */
  condition: number;
  problem: string;
}

/** The value at a dotted `path` inside `facts`, or undefined. */
export function resolveFact(facts: unknown, path: string): unknown {
  let v = facts;
  for (const seg of path.split(".")) {
    if (Array.isArray(v)) {
      if (!/^(?:0|[1-9]\d*)$/.test(seg)) return undefined;
      v = v[Number(seg)];
    } else if (v !== null && typeof v === "object" && Object.hasOwn(v, seg)) {
      v = (v as Record<string, unknown>)[seg];
    } else {
      return undefined;
    }
  }
  return v;
}

/** Structural equality of JSON values (object member order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Whether a pattern nests quantifiers, as in `(a+)+` or `(\w*x)*`: a group repeated without bound (`*`, `+`,
 * `{n,}`) that itself contains a repetition. Conservative (it also flags some harmless patterns, which authors
 * can rewrite); bounded outer counts such as `(\.\d{1,3}){3}` are fine.
 */
function nestsQuantifiers(pattern: string): boolean {
  const groups: boolean[] = []; // per open group: does it contain a repetition?
  let closedHadQuantifier = false; // the token just before is a group that contained one
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    let repeats = false;
    let unbounded = false;
    if (c === "*" || c === "+") repeats = unbounded = true;
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m) {
        repeats = m[2] !== undefined || Number(m[1]) > 1;
        unbounded = m[2] !== undefined && m[3] === "";
        i += m[0].length - 1;
      }
    }
    if (repeats || c === "?" || c === "{") {
      if (unbounded && closedHadQuantifier) return true;
      if (repeats && groups.length) groups[groups.length - 1] = true;
      closedHadQuantifier = false;
      continue;
    }
    closedHadQuantifier = false;
    if (c === "\\") i++;
    else if (c === "[") {
      for (i++; i < pattern.length && pattern[i] !== "]"; i++) if (pattern[i] === "\\") i++;
    } else if (c === "(") groups.push(false);
    else if (c === ")") {
      const had = groups.pop() ?? false;
      if (had && groups.length) groups[groups.length - 1] = true;
      closedHadQuantifier = had;
    }
  }
  return false;
}

/** Compiles a regex condition's pattern, or says why it cannot be used. */
export function compilePattern(pattern: string): RegExp | string {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex pattern is ${pattern.length} characters, the limit is ${MAX_REGEX_LENGTH}`;
  let re: RegExp;
  try {
    re = new RegExp(pattern, "u");
  } catch (e) {
    return `regex pattern ${JSON.stringify(pattern)} does not compile: ${(e as Error).message}`;
  }
  if (nestsQuantifiers(pattern)) return `regex pattern ${JSON.stringify(pattern)} nests quantifiers, which can backtrack catastrophically`;
  return re;
}

type Test = (fact: unknown) => boolean;

function cmp(fact: unknown, value: number | string, ok: (c: number) => boolean): boolean {
  if (typeof fact === "number" && typeof value === "number") return ok(fact - value);
  if (typeof fact === "string" && typeof value === "string") return ok(fact < value ? -1 : fact > value ? 1 : 0);
  return false;
}

/** A condition as a predicate on the resolved fact, or a problem string when it can never match. */
function compileCondition(c: RuleCondition): Test | string {
  switch (c.op) {
    case "exists":
      return (f) => (f !== undefined && f !== null) === c.value;
    case "eq":
      return (f) => f !== undefined && jsonEqual(f, c.value);
    case "ne":
      return (f) => f !== undefined && !jsonEqual(f, c.value);
    case "gt":
      return (f) => cmp(f, c.value, (d) => d > 0);
    case "gte":
      return (f) => cmp(f, c.value, (d) => d >= 0);
    case "lt":
      return (f) => cmp(f, c.value, (d) => d < 0);
    case "lte":
      return (f) => cmp(f, c.value, (d) => d <= 0);
    case "in":
      return (f) => f !== undefined && c.value.some((v) => jsonEqual(f, v));
    case "not_in":
      return (f) => f !== undefined && !c.value.some((v) => jsonEqual(f, v));
    case "contains":
      return (f) => {
        if (typeof f === "string") return typeof c.value === "string" && f.includes(c.value);
        return Array.isArray(f) && f.some((x) => jsonEqual(x, c.value));
      };
    case "regex": {
      const re = compilePattern(c.value);
      if (typeof re === "string") return re;
      return (f) => typeof f === "string" && f.length <= MAX_REGEX_INPUT_LENGTH && re.test(f);
    }
  }
}

/** Rules prepared for repeated matching (regexes compiled once, order fixed once). */
export interface CompiledRules {
  /** The winning rule for a failing check, or null when none applies. */
  select(input: RuleInput): Rule | null;
  /** Conditions that can never match. */
  readonly problems: readonly RuleProblem[];
}

/** Prepares `rules` for matching; see the module comment for the semantics. */
export function compileRules(rules: readonly Rule[]): CompiledRules {
  const problems: RuleProblem[] = [];
  const compiled: { rule: Rule; tests: { path: string; test: Test }[] | null }[] = [];
  const ordered = [...rules].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const rule of ordered) {
    let tests: { path: string; test: Test }[] | null = [];
    rule.conditions.forEach((c, i) => {
      const t = compileCondition(c);
      if (typeof t === "string") {
        problems.push({ rule_id: rule.id, condition: i, problem: `conditions[${i}]: ${t}` });
        tests = null;
      } else tests?.push({ path: c.fact, test: t });
    });
    compiled.push({ rule, tests });
  }
  return {
    problems,
    select({ check, platform, facts }) {
      for (const { rule, tests } of compiled) {
        if (!tests || rule.check !== check || (rule.platform !== platform && rule.platform !== ANY_PLATFORM)) continue;
        if (tests.every(({ path, test }) => test(resolveFact(facts, path)))) return rule;
      }
      return null;
    },
  };
}

/** The first applicable rule by (priority desc, id asc), or null. Compile once with `compileRules` for hot paths. */
export function selectRule(rules: readonly Rule[], input: RuleInput): Rule | null {
  return compileRules(rules).select(input);
}

/** Conditions that make their rule never match (bad or unsafe regexes), for review before a set is signed. */
export function validateRules(rules: readonly Rule[]): RuleProblem[] {
  return [...compileRules(rules).problems];
}
