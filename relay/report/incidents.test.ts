import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ScoreInput } from "../scores/mod.ts";
import { STATUS_RANK, type Remediation, type ResultSeries } from "./evidence-scan.ts";
import { rebuildIncidents as rebuild } from "./incidents.ts";

/** The scan's packed series from plain results (unreachable-host inputs carry no check: the scan skips them). */
function seriesOf(inputs: readonly ScoreInput[]): ResultSeries[] {
  const map = new Map<string, ResultSeries>();
  for (const x of inputs) {
    if (x.check === null) continue;
    const key = `${x.check}\0${x.host_id}`;
    const sr = map.get(key) ?? { check: x.check, host_id: x.host_id, points: [] };
    sr.points.push(Date.parse(x.finished_at), STATUS_RANK[x.status]);
    map.set(key, sr);
  }
  return [...map.values()];
}
const rebuildIncidents = (inputs: readonly ScoreInput[], fixes: readonly Remediation[], from: number, to: number) => rebuild(seriesOf(inputs), fixes, from, to);

const FROM = Date.UTC(2026, 8, 1), TO = Date.UTC(2026, 9, 1);
const t = (day: number, hour = 0) => new Date(Date.UTC(2026, 8, day, hour)).toISOString();
const r = (host_id: string, check: string, status: "pass" | "fail" | "error" | "not_applicable", at: string, appliance_id = "app_aaaaaaaa"): ScoreInput => ({ appliance_id, host_id, check, status, finished_at: at });
const fix = (host_id: string, check: string, at: string, outcome: string, tier: "L1" | "L2" | "L3" | null): Remediation => ({ appliance_id: "app_aaaaaaaa", seq: 1, host_id, check, finished_at: at, outcome, tier, runbook: null });

test("rebuildIncidents() opens at the first fail, ignores errors, and resolves at the next pass", () => {
  const inputs = [r("h1", "c.x", "pass", t(2)), r("h1", "c.x", "fail", t(3)), r("h1", "c.x", "error", t(3, 6)), r("h1", "c.x", "fail", t(4)), r("h1", "c.x", "pass", t(5, 12))];
  const [i, ...rest] = rebuildIncidents(inputs, [], FROM, TO);
  assert.equal(rest, []);
  assert.equal([i!.opened_at, i!.resolved_at, i!.time_to_fix_ms, i!.failing_results], [t(3), t(5, 12), (2 * 24 + 12) * 3_600_000, 2]);
  assert.is(i!.tier, null);
  assert.is(i!.outcome, null);
});

test("rebuildIncidents() keeps an incident opened before the month if it was still open in it, and drops one closed before", () => {
  const inputs = [
    r("h1", "c.old", "fail", new Date(FROM - 86_400_000).toISOString()), r("h1", "c.old", "pass", new Date(FROM - 3_600_000).toISOString()),
    r("h1", "c.carry", "fail", new Date(FROM - 86_400_000).toISOString()), r("h1", "c.carry", "pass", t(1, 3)),
    r("h2", "c.open", "fail", t(30, 23)),
  ];
  const got = rebuildIncidents(inputs, [], FROM, TO);
  assert.equal(got.map((i) => [i.check, i.resolved_at]), [["c.carry", t(1, 3)], ["c.open", null]]);
});

test("rebuildIncidents() takes the highest tier and the last outcome of the attempts inside the incident only", () => {
  const inputs = [r("h1", "c.x", "fail", t(10)), r("h1", "c.x", "pass", t(11))];
  const fixes = [fix("h1", "c.x", t(9), "failed", "L1"), fix("h1", "c.x", t(10, 1), "failed", "L1"), fix("h1", "c.x", t(10, 2), "escalated", "L3"), fix("h1", "c.x", t(10, 5), "success", "L2"), fix("h2", "c.x", t(10, 3), "success", "L1")];
  const [i] = rebuildIncidents(inputs, fixes, FROM, TO);
  assert.is(i!.attempts_total, 3);
  assert.is(i!.tier, "L3");
  assert.is(i!.outcome, "success");
});

test("rebuildIncidents() merges two appliances' results for one host by time, the worse result winning a tie", () => {
  const inputs = [r("h1", "c.x", "fail", t(3), "app_bbbbbbbb"), r("h1", "c.x", "pass", t(3), "app_aaaaaaaa"), r("h1", "c.x", "pass", t(4), "app_aaaaaaaa")];
  const got = rebuildIncidents(inputs, [], FROM, TO);
  assert.equal(got.map((i) => [i.opened_at, i.resolved_at]), [[t(3), t(4)]]);
});

test("rebuildIncidents() ignores unreachable-host inputs and results after the month", () => {
  const inputs: ScoreInput[] = [{ appliance_id: "app_aaaaaaaa", host_id: "h1", check: null, status: "error", finished_at: t(3) }, r("h1", "c.x", "fail", new Date(TO).toISOString())];
  assert.equal(rebuildIncidents(inputs, [], FROM, TO), []);
});

test("rebuildIncidents() marks an incident failing at the first result read as opened earlier (time to fix unknown) only when older evidence exists", () => {
  const inputs = [r("h1", "c.x", "fail", t(1)), r("h1", "c.x", "pass", t(2)), r("h1", "c.y", "pass", t(1)), r("h1", "c.y", "fail", t(3))];
  const older = rebuild(seriesOf(inputs), [], FROM, TO, true);
  assert.equal(older.map((i) => [i.check, i.opened_earlier, i.time_to_fix_ms]), [["c.x", true, null], ["c.y", false, null]]);
  const first = rebuild(seriesOf(inputs), [], FROM, TO, false);
  assert.equal(first.map((i) => [i.check, i.opened_earlier, i.time_to_fix_ms]), [["c.x", false, 86_400_000], ["c.y", false, null]], "the appliance's first results: the incident opened there");
});

test.run();
