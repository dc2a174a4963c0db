import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { nestFacts, replayRule, type ReplayCase } from "./replay.ts";
import { builtinRules, promotedRule } from "./rules.ts";

const rule = promotedRule({ id: "lrn_test0001", check_id: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: {} });
const window = { from: "2026-10-28T12:00:00.000Z", to: "2026-11-27T12:00:00.000Z" };
const t = { replay_min_agreement_pct: 90 };
let n = 0;
function c(facts: JsonObject | null, outcome: string, runbook = "windows.enable_defender_realtime"): ReplayCase {
  n++;
  return { ref: `app_x/att_${n}`, site_id: "site_s1", runbook, params: "{}", outcome, finished_at: isoTime(Date.UTC(2026, 10, 20) + n * 60_000), facts };
}
const unknownMode = { "defender.running_mode": null, "defender.realtime_enabled": false, "defender.antivirus_enabled": true };
const normalMode = { "defender.running_mode": "Normal", "defender.realtime_enabled": false, "defender.antivirus_enabled": true };

test("replayRule() sorts each past attempt into agree / disagree / preempted / uninformative / without facts, as worked out by hand", () => {
  const cases = [
    c(unknownMode, "success"), // agree: the rule picks enable_defender_realtime, which worked
    c(normalMode, "success"), // preempted: the built-in rule (running mode Normal) is chosen first
    c(null, "success"), // without facts
    c(unknownMode, "failed"), // disagree: the rule's runbook failed here
    c(unknownMode, "success", "windows.some_other_fix"), // disagree: something else worked where the rule would pick its own
    c(unknownMode, "failed", "windows.some_other_fix"), // uninformative
  ];
  const r = replayRule(rule, builtinRules(), cases, t, window);
  assert.equal(
    { cases: r.cases, agree: r.agree, disagree: r.disagree, preempted: r.preempted, by: r.preempted_by, none: r.no_match, uninformative: r.uninformative, without: r.without_facts, pct: r.agreement_pct, pass: r.pass },
    { cases: 6, agree: 1, disagree: 2, preempted: 1, by: { "builtin.windows.defender_realtime": 1 }, none: 0, uninformative: 1, without: 1, pct: 33.3, pass: false },
  );
  assert.equal(r.examples.map((e) => [e.runbook, e.outcome]), [["windows.enable_defender_realtime", "failed"], ["windows.some_other_fix", "success"]]);
  assert.equal([r.from, r.to, r.min_agreement_pct], [window.from, window.to, 90]);
});

test("replayRule() passes at exactly the agreement threshold and not below it", () => {
  const base = [c(unknownMode, "failed"), c(unknownMode, "failed")];
  const agree = (k: number) => Array.from({ length: k }, () => c(unknownMode, "success"));
  const at90 = replayRule(rule, builtinRules(), [...base, ...agree(18)], t, window);
  assert.equal([at90.agree, at90.disagree, at90.agreement_pct, at90.pass], [18, 2, 90, true]);
  const below = replayRule(rule, builtinRules(), [...base, ...agree(17)], t, window);
  assert.equal([below.agreement_pct, below.pass], [89.5, false]);
  const nothingJudged = replayRule(rule, builtinRules(), [c(normalMode, "success"), c(null, "success")], t, window);
  assert.is(nothingJudged.pass, false, "a rule never judged does not pass");
});

test("replayRule() reports no_match when no rule applies to the facts", () => {
  const conditional = { ...rule, conditions: [{ fact: "defender.running_mode", op: "eq" as const, value: "Passive Mode" }] };
  const r = replayRule(conditional, [], [c(unknownMode, "success")], t, window);
  assert.is(r.no_match, 1);
});

test("nestFacts() turns dotted fact names into the nested facts rule paths walk, and drops prototype keys", () => {
  const nested = nestFacts({ "defender.running_mode": "Normal", "defender.realtime_enabled": true, "host.os": "x", "__proto__.polluted": true, "a..b": 1 });
  assert.equal(nested, { defender: { realtime_enabled: true, running_mode: "Normal" }, host: { os: "x" } });
  assert.is(({} as Record<string, unknown>)["polluted"], undefined);
});

test.run();
