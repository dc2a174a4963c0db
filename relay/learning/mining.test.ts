import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalize } from "../../protocol/canonical.ts";
import { isoTime, ID_PATTERN } from "../../protocol/ids.ts";
import { RULE_ID_PATTERN } from "../../protocol/ruleset.ts";
import { candidateId, candidateKey, groupKey, mineGroups, mineScopedGroups, unmetThresholds, type MinedAttempt } from "./mining.ts";
import { DEFAULT_THRESHOLDS } from "./thresholds.ts";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const H = 3_600_000;
const t = { ...DEFAULT_THRESHOLDS };

function a(over: Partial<MinedAttempt> & Pick<MinedAttempt, "site_id" | "tier" | "outcome">, hoursAgo = 1): MinedAttempt {
  return { check: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: "{}", finished_at: isoTime(NOW - hoursAgo * H), simulated: false, ...over };
}

/** The fixture, with what each group must come to (worked out by hand below). */
function fixture(): MinedAttempt[] {
  const rows: MinedAttempt[] = [];
  // Group A (defender, {}): 3 L2 + 2 L1 successes at s1 and s2 → 5 occurrences, 3 L2, 100 %, 2 sites: qualifies.
  rows.push(a({ site_id: "site_s1", tier: "L2", outcome: "success" }, 10), a({ site_id: "site_s1", tier: "L2", outcome: "success" }, 20), a({ site_id: "site_s2", tier: "L2", outcome: "success" }, 30));
  rows.push(a({ site_id: "site_s1", tier: "L1", outcome: "success" }, 5), a({ site_id: "site_s2", tier: "L1", outcome: "success" }, 6));
  // …not counted: a deferred attempt, an escalation without a runbook, a success 8 days ago.
  rows.push(a({ site_id: "site_s1", tier: "L2", outcome: "deferred" }, 2), a({ site_id: "site_s1", tier: "L3", outcome: "escalated", runbook: null }, 3), a({ site_id: "site_s3", tier: "L2", outcome: "success" }, 8 * 24));
  // Group B (fake runbook, params in two member orders): 3 occurrences → too few.
  const b = { check: "linux.x", platform: "linux", runbook: "linux.fix_x" };
  rows.push(a({ ...b, params: canonicalize({ a: 2, b: 1 }), site_id: "site_s1", tier: "L2", outcome: "success" }), a({ ...b, params: canonicalize({ b: 1, a: 2 }), site_id: "site_s2", tier: "L2", outcome: "success" }), a({ ...b, params: '{"a":2,"b":1}', site_id: "site_s2", tier: "L2", outcome: "success" }));
  // Group C: 6 L2 successes at one site → not fleet-wide.
  for (let i = 0; i < 6; i++) rows.push(a({ check: "windows.update_service", runbook: "windows.restart_windows_update", site_id: "site_s1", tier: "L2", outcome: "success" }, i + 1));
  // Group D: 9 successes (3 L2) and 1 failure at 2 sites → exactly 90 %: qualifies.
  for (let i = 0; i < 9; i++) rows.push(a({ check: "windows.screen_lock", runbook: "windows.set_screen_lock", params: '{"timeout_s":600}', site_id: i % 2 ? "site_s1" : "site_s2", tier: i < 3 ? "L2" : "L1", outcome: "success" }, i + 1));
  rows.push(a({ check: "windows.screen_lock", runbook: "windows.set_screen_lock", params: '{"timeout_s":600}', site_id: "site_s1", tier: "L1", outcome: "reverted" }, 12));
  // Group E: 8 successes and 1 failure (88.9 %) → below 90 %.
  for (let i = 0; i < 8; i++) rows.push(a({ check: "windows.screen_lock", runbook: "windows.set_screen_lock", params: '{"timeout_s":900}', site_id: i % 2 ? "site_s1" : "site_s2", tier: "L2", outcome: "success" }, i + 1));
  rows.push(a({ check: "windows.screen_lock", runbook: "windows.set_screen_lock", params: '{"timeout_s":900}', site_id: "site_s2", tier: "L2", outcome: "failed" }, 13));
  return rows;
}

test("mineGroups() counts occurrences, L2 resolutions, success rate and sites per group exactly as worked out by hand", () => {
  const groups = mineGroups(fixture(), t, NOW);
  const byRunbook = (rb: string, params = "{}") => groups.find((g) => g.runbook === rb && canonicalize(g.params) === params)!;
  assert.is(groups.length, 5);

  const A = byRunbook("windows.enable_defender_realtime");
  assert.equal(
    { occ: A.occurrences, ok: A.successes, fail: A.failures, l2: A.l2_resolutions, pct: A.success_pct, sites: A.sites, first: A.first_seen, last: A.last_seen, unmet: A.unmet },
    { occ: 5, ok: 5, fail: 0, l2: 3, pct: 100, sites: ["site_s1", "site_s2"], first: isoTime(NOW - 30 * H), last: isoTime(NOW - 5 * H), unmet: [] },
  );
  const B = byRunbook("linux.fix_x", '{"a":2,"b":1}');
  assert.is(B.occurrences, 3, "parameters in another member order are the same group");
  assert.equal(B.unmet, ["3 occurrences, needs 5"]);
  const C = byRunbook("windows.restart_windows_update");
  assert.equal([C.occurrences, C.l2_resolutions, C.sites], [6, 6, ["site_s1"]]);
  assert.equal(C.unmet, ["1 site(s), needs 2"]);
  const D = byRunbook("windows.set_screen_lock", '{"timeout_s":600}');
  assert.equal([D.occurrences, D.successes, D.failures, D.l2_resolutions, D.success_pct, D.unmet], [10, 9, 1, 3, 90, []], "exactly 90 % qualifies");
  const E = byRunbook("windows.set_screen_lock", '{"timeout_s":900}');
  assert.equal([E.occurrences, E.successes, E.success_pct, E.unmet], [9, 8, 88.9, ["success rate 88.9 %, needs 90 %"]]);
});

test("mineGroups() is deterministic: any input order gives the same groups in group-key order", () => {
  const rows = fixture();
  const first = mineGroups(rows, t, NOW);
  const keys = first.map((g) => g.group_key);
  assert.equal(keys, [...keys].sort());
  for (let seed = 1; seed <= 5; seed++) {
    const shuffled = rows.map((r, i) => ({ r, k: (i * 7919 * seed) % 1009 })).sort((x, y) => x.k - y.k).map((x) => x.r);
    assert.equal(mineGroups(shuffled, t, NOW), first);
  }
});

test("thresholds are read from the argument: a 1-site policy makes the single-site group qualify", () => {
  const C = mineGroups(fixture(), { ...t, min_sites: 1 }, NOW).find((g) => g.runbook === "windows.restart_windows_update")!;
  assert.equal(C.unmet, []);
  assert.equal(unmetThresholds({ occurrences: 0, successes: 0, l2_resolutions: 0, sites: [] }, t), ["0 occurrences, needs 5", "0 L2 resolutions, needs 3", "success rate 0 %, needs 90 %", "0 site(s), needs 2"]);
});

test("mineScopedGroups(): fleet-wide groups as before; a fix proven by one site's own runs becomes a group for that site only", () => {
  const scoped = mineScopedGroups(fixture(), t, NOW);
  const proposable = scoped.filter((g) => g.proposable).map((g) => [g.runbook, g.params, g.scope_site_id, g.occurrences, g.l2_resolutions]);
  // A (fleet: 5 runs, 2 sites) and D (fleet: 10 runs, 90 %) as before; C: 6 L2 successes at site_s1 alone.
  assert.equal(proposable.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)), [
    ["windows.enable_defender_realtime", {}, null, 5, 3],
    ["windows.restart_windows_update", {}, "site_s1", 6, 6],
    ["windows.set_screen_lock", { timeout_s: 600 }, null, 10, 3],
  ]);
  const C = scoped.find((g) => g.runbook === "windows.restart_windows_update" && g.scope_site_id === "site_s1")!;
  assert.is(C.key, candidateKey(groupKey("windows.update_service", "windows", "windows.restart_windows_update", {}), "site_s1"));
  assert.is.not(C.key, C.group_key, "a site-scoped candidate never shares its fix's fleet-wide key");
  // E at site_s2 alone: 4 L2 successes and 1 failure → 5 runs, 80 %: the same thresholds apply to one site.
  const E2 = scoped.find((g) => g.params["timeout_s"] === 900 && g.scope_site_id === "site_s2")!;
  assert.equal([E2.occurrences, E2.success_pct, E2.unmet, E2.proposable], [5, 80, ["success rate 80 %, needs 90 %"], false]);
  // A's fix is proven fleet-wide, so none of its per-site groups is proposable.
  assert.ok(scoped.filter((g) => g.runbook === "windows.enable_defender_realtime" && g.scope_site_id !== null).every((g) => !g.proposable));
});

test("groupKey() ignores parameter member order; candidateId() is a stable id and a valid rule id, different per MSP", () => {
  assert.is(groupKey("c", "windows", "r", { a: 1, b: [1, 2] }), groupKey("c", "windows", "r", { b: [1, 2], a: 1 }));
  assert.is.not(groupKey("c", "windows", "r", { a: 1 }), groupKey("c", "windows", "r", { a: 2 }));
  const k = groupKey("c", "windows", "r", {});
  const id = candidateId("msp_aaaaaaaa", k);
  assert.is(id, candidateId("msp_aaaaaaaa", k));
  assert.is.not(id, candidateId("msp_bbbbbbbb", k));
  assert.ok(ID_PATTERN.test(id) && RULE_ID_PATTERN.test(id), id);
});

test.run();
