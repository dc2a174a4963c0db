import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Rule, RuleCondition } from "./ruleset.ts";
import { compilePattern, compileRules, jsonEqual, MAX_REGEX_INPUT_LENGTH, resolveFact, selectRule, validateRules } from "./rules.ts";

function rule(id: string, over: Partial<Rule> = {}): Rule {
  return { id, check: "windows.bitlocker", platform: "windows", conditions: [], runbook: "windows.enable_bitlocker", params: {}, priority: 0, source: "builtin", ...over };
}

const facts = {
  bitlocker: { status: "off", volumes: [{ letter: "C", encrypted: false }, { letter: "D", encrypted: true }], percent: 42 },
  os: { version: "10.0.19045", build: 19045, edition: "Pro", tags: ["clinic", "front-desk"] },
  tpm: { present: true, version: null },
  updated_at: "2026-11-27T12:00:00.000Z",
};
const input = { check: "windows.bitlocker", platform: "windows", facts };

/** Whether a rule with this one condition matches `facts`. */
const holds = (c: RuleCondition) => selectRule([rule("r", { conditions: [c] })], input) !== null;

test("selectRule() returns null when no rule is for this check and platform", () => {
  assert.is(selectRule([], input), null);
  assert.is(selectRule([rule("a", { check: "windows.firewall" })], input), null);
  assert.is(selectRule([rule("a", { platform: "linux" })], input), null);
});

test("a rule for platform any matches every platform", () => {
  assert.is(selectRule([rule("a", { platform: "any" })], { ...input, platform: "macos" })?.id, "a");
});

test("the highest priority wins, then the lowest id, whatever the input order", () => {
  const rules = [rule("b", { priority: 5 }), rule("c", { priority: 9 }), rule("a", { priority: 5 }), rule("d", { priority: 9 })];
  assert.is(selectRule(rules, input)?.id, "c");
  assert.is(selectRule([...rules].reverse(), input)?.id, "c");
  assert.is(selectRule(rules.filter((r) => r.priority === 5), input)?.id, "a");
  assert.is(selectRule([rule("B"), rule("a")], input)?.id, "B"); // code-unit order: "B" < "a"
});

test("a rule applies only when all of its conditions hold; otherwise the next one is tried", () => {
  const strict = rule("strict", { priority: 9, conditions: [{ fact: "bitlocker.status", op: "eq", value: "off" }, { fact: "tpm.present", op: "eq", value: false }] });
  const loose = rule("loose", { priority: 1, conditions: [{ fact: "bitlocker.status", op: "eq", value: "off" }] });
  assert.is(selectRule([strict, loose], input)?.id, "loose");
});

test("eq and ne compare JSON values structurally", () => {
  assert.ok(holds({ fact: "bitlocker.status", op: "eq", value: "off" }));
  assert.not.ok(holds({ fact: "bitlocker.status", op: "eq", value: "OFF" }));
  assert.ok(holds({ fact: "bitlocker.volumes.0", op: "eq", value: { encrypted: false, letter: "C" } }));
  assert.ok(holds({ fact: "os.build", op: "ne", value: "19045" }));
  assert.not.ok(holds({ fact: "os.build", op: "ne", value: 19045 }));
  assert.ok(holds({ fact: "tpm.version", op: "eq", value: null }));
});

test("gt gte lt lte compare numbers with numbers and strings with strings only", () => {
  assert.ok(holds({ fact: "bitlocker.percent", op: "gt", value: 41 }));
  assert.not.ok(holds({ fact: "bitlocker.percent", op: "gt", value: 42 }));
  assert.ok(holds({ fact: "bitlocker.percent", op: "gte", value: 42 }));
  assert.ok(holds({ fact: "bitlocker.percent", op: "lt", value: 43 }));
  assert.ok(holds({ fact: "bitlocker.percent", op: "lte", value: 42 }));
  assert.ok(holds({ fact: "updated_at", op: "lt", value: "2026-11-28T00:00:00.000Z" }));
  assert.not.ok(holds({ fact: "bitlocker.percent", op: "lt", value: "100" }));
  assert.not.ok(holds({ fact: "os.version", op: "gt", value: 1 }));
});

test("in and not_in test membership structurally", () => {
  assert.ok(holds({ fact: "os.edition", op: "in", value: ["Home", "Pro"] }));
  assert.not.ok(holds({ fact: "os.edition", op: "in", value: ["Home"] }));
  assert.ok(holds({ fact: "os.edition", op: "not_in", value: ["Home"] }));
  assert.not.ok(holds({ fact: "os.edition", op: "not_in", value: ["Pro"] }));
  assert.ok(holds({ fact: "os.tags", op: "in", value: [["clinic", "front-desk"]] }));
});

test("contains finds a substring of a string fact or an element of a list fact", () => {
  assert.ok(holds({ fact: "os.version", op: "contains", value: "19045" }));
  assert.ok(holds({ fact: "os.tags", op: "contains", value: "clinic" }));
  assert.not.ok(holds({ fact: "os.tags", op: "contains", value: "clin" }));
  assert.ok(holds({ fact: "bitlocker.volumes", op: "contains", value: { letter: "D", encrypted: true } }));
  assert.not.ok(holds({ fact: "bitlocker.percent", op: "contains", value: 4 }));
});

test("exists: true needs a present, non-null value; exists: false matches absent and null", () => {
  assert.ok(holds({ fact: "tpm.present", op: "exists", value: true }));
  assert.not.ok(holds({ fact: "tpm.version", op: "exists", value: true }));
  assert.ok(holds({ fact: "tpm.version", op: "exists", value: false }));
  assert.ok(holds({ fact: "tpm.vendor", op: "exists", value: false }));
  assert.not.ok(holds({ fact: "tpm.present", op: "exists", value: false }));
});

test("a missing fact matches no op except exists: false, so missing data never triggers a fix", () => {
  const ops: RuleCondition[] = [
    { fact: "nope.x", op: "eq", value: null },
    { fact: "nope.x", op: "ne", value: "on" },
    { fact: "nope.x", op: "not_in", value: ["on"] },
    { fact: "nope.x", op: "lt", value: 1 },
    { fact: "nope.x", op: "contains", value: "a" },
    { fact: "nope.x", op: "regex", value: ".*" },
  ];
  for (const c of ops) assert.not.ok(holds(c), c.op);
});

test("regex tests string facts in Unicode mode and never matches other types", () => {
  assert.ok(holds({ fact: "os.version", op: "regex", value: "^10\\.0\\.\\d+$" }));
  assert.not.ok(holds({ fact: "os.version", op: "regex", value: "^11" }));
  assert.not.ok(holds({ fact: "os.build", op: "regex", value: "19045" }));
  const long = { ...input, facts: { s: "a".repeat(MAX_REGEX_INPUT_LENGTH + 1) } };
  assert.is(selectRule([rule("r", { conditions: [{ fact: "s", op: "regex", value: "a" }] })], long), null);
});

test("a rule with an invalid, too long or nested-quantifier regex never matches and is reported", () => {
  const bad = [
    rule("bad-syntax", { priority: 3, conditions: [{ fact: "os.version", op: "regex", value: "(" }] }),
    rule("bad-nested", { priority: 2, conditions: [{ fact: "os.version", op: "regex", value: "^(\\d+)+$" }] }),
    rule("bad-long", { priority: 1, conditions: [{ fact: "bitlocker.status", op: "eq", value: "off" }, { fact: "os.version", op: "regex", value: "a".repeat(300) }] }),
  ];
  const fallback = rule("fallback");
  assert.is(selectRule([...bad, fallback], input)?.id, "fallback");
  const problems = validateRules([...bad, fallback]);
  assert.equal(
    problems.map((p) => [p.rule_id, p.condition]),
    [["bad-syntax", 0], ["bad-nested", 0], ["bad-long", 1]],
  );
  assert.match(problems[0]!.problem, /^conditions\[0\]: regex pattern "\(" does not compile/);
  assert.match(problems[1]!.problem, /nests quantifiers/);
  assert.match(problems[2]!.problem, /300 characters, the limit is 256/);
});

test("compilePattern() accepts ordinary patterns and flags nested quantifiers only", () => {
  for (const ok of ["^on$", "a+b*", "(ab)+", "(a|b)c+", "[(+]+", "\\(a+\\)+", "(?:abc)?", "^\\d{1,3}(\\.\\d{1,3}){3}$"]) assert.instance(compilePattern(ok), RegExp, ok);
  for (const bad of ["(a+)+", "(a*)*", "((ab)+c)+", "(\\w+\\s?)*$", "(a{2,})+"]) assert.type(compilePattern(bad), "string", bad);
});

test("resolveFact() follows own properties and array indexes only", () => {
  assert.is(resolveFact(facts, "bitlocker.volumes.1.letter"), "D");
  assert.is(resolveFact(facts, "bitlocker.volumes.01.letter"), undefined);
  assert.is(resolveFact(facts, "bitlocker.volumes.length"), undefined);
  assert.is(resolveFact(facts, "constructor"), undefined);
  assert.is(resolveFact(facts, "bitlocker.__proto__"), undefined);
  assert.is(resolveFact(facts, "os.version.x"), undefined);
});

test("jsonEqual() ignores member order but not array order", () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.not.ok(jsonEqual([1, 2], [2, 1]));
  assert.not.ok(jsonEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.not.ok(jsonEqual([], {}));
});

test("compileRules() prepares once and selects many times", () => {
  const compiled = compileRules([rule("a", { conditions: [{ fact: "bitlocker.status", op: "eq", value: "off" }] })]);
  assert.is(compiled.select(input)?.id, "a");
  assert.is(compiled.select({ ...input, facts: { bitlocker: { status: "on" } } }), null);
  assert.equal(compiled.problems, []);
});

test.run();
