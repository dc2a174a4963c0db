import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { judgeRule, type RuleRun } from "./monitor.ts";
import { DEFAULT_THRESHOLDS } from "./thresholds.ts";

const H = 3_600_000;
const D = 24 * H;
const ACTIVE = Date.UTC(2026, 10, 1, 0, 0, 0);
const t = { ...DEFAULT_THRESHOLDS };
/** Runs one hour apart from `start`, outcomes by letter: S success, F failed, R reverted. */
const runs = (start: number, pattern: string): RuleRun[] => [...pattern].map((ch, i) => ({ outcome: ch === "S" ? "success" : ch === "R" ? "reverted" : "failed", finished_at: isoTime(start + i * H) }));

test("canary: fewer than 70 % successes over the first 3+ runs within 48 h disables an active rule", () => {
  const now = ACTIVE + 10 * H;
  const v = judgeRule("active", ACTIVE, runs(ACTIVE + H, "SFR"), t, now);
  assert.is(v.action, "auto_disabled");
  assert.match(v.action === "auto_disabled" ? v.reason : "", "canary failed: 1 of its first 3 runs succeeded (33.3 %), below 70 %");
  assert.is(judgeRule("active", ACTIVE, runs(ACTIVE + H, "SSF"), t, now).action, "auto_disabled", "66.7 % is below 70 %");
  assert.is(judgeRule("active", ACTIVE, runs(ACTIVE + H, "SSSF"), t, now).action, "none", "75 % is enough");
  assert.is(judgeRule("active", ACTIVE, runs(ACTIVE + H, "FF"), t, now).action, "none", "two runs are too few to judge");
});

test("canary: runs after the first 48 h, and graduated rules, are not canary-judged", () => {
  assert.is(judgeRule("active", ACTIVE, runs(ACTIVE + 49 * H, "FFF"), t, ACTIVE + 52 * H).action, "none", "no baseline to compare with either");
  assert.is(judgeRule("graduated", ACTIVE, runs(ACTIVE + H, "SFF"), t, ACTIVE + 10 * H).action, "none");
});

test("drift: a drop of 30 points or more against the 30-day rate disables active and graduated rules", () => {
  const now = ACTIVE + 20 * D;
  const baseline = runs(ACTIVE + 5 * D, "SSSSSSSSSS"); // 100 %
  const recent = (p: string) => runs(now - 20 * H, p);
  const at30 = judgeRule("graduated", ACTIVE, [...baseline, ...recent("SSSSSSSFFF")], t, now); // 70 %: exactly 30 points
  assert.is(at30.action, "auto_disabled");
  assert.match(at30.action === "auto_disabled" ? at30.reason : "", "success dropped from 100 % (30 days) to 70 % (last 24 h)");
  assert.equal((at30.proof["recent"] as { runs: number }).runs, 10);
  assert.is(judgeRule("active", ACTIVE, [...baseline, ...recent("SSSF")], t, now).action, "none", "75 %: 25 points");
  assert.is(judgeRule("active", ACTIVE, [...baseline, ...recent("SF")], t, now).action, "none", "two recent runs are too few");
});

test("graduation: 20 runs over 30 days live at 90 %+; a failing canary wins over it", () => {
  const now = ACTIVE + 31 * D;
  const spread = (p: string): RuleRun[] => [...p].map((ch, i) => ({ outcome: ch === "S" ? "success" : "failed", finished_at: isoTime(ACTIVE + 3 * D + i * D) }));
  const ok = judgeRule("active", ACTIVE, spread("SSSSSSSSSSSSSSSSSSSF"), t, now);
  assert.is(ok.action, "graduated");
  assert.is(judgeRule("active", ACTIVE, spread("SSSSSSSSSSSSSSSSSSS"), t, now).action, "none", "19 runs");
  assert.is(judgeRule("active", ACTIVE, spread("SSSSSSSSSSSSSSSSSFFF"), t, now).action, "none", "85 %");
  assert.is(judgeRule("active", ACTIVE, [...runs(ACTIVE + H, "FFF"), ...spread("SSSSSSSSSSSSSSSSSSSSSSSSSSSSS")], t, now).action, "auto_disabled");
});

test.run();
