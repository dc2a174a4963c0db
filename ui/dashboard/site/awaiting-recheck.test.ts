import { test } from "uvu";
import * as assert from "uvu/assert";
import type { AttemptView, CheckResultView, IncidentView } from "../../relay-client/mod.ts";
import { fixAwaitingRecheck } from "./awaiting-recheck.ts";

const result = (over: Partial<CheckResultView> = {}): CheckResultView => ({ check: "windows.defender_realtime", title: "Virus protection is switched on", category: "antivirus", status: "fail", finished_at: "2026-11-29T10:00:00.000Z", unreachable: false, expected: "true", actual: "false", ...over });
const attempt = (outcome: string, finished_at: string): AttemptView => ({ attempt_id: `att_${finished_at}`, runbook: "RB-WIN-AV-001", tier: "L1", outcome, started_at: finished_at, finished_at, deferred_until: null, detail: null });
const incident = (attempts: AttemptView[], over: Partial<IncidentView> = {}): IncidentView => ({
  appliance_id: "app_0123456789ab",
  incident_id: "inc_1",
  host_id: "ws01",
  check: "windows.defender_realtime",
  title: "Virus protection is switched on",
  severity: "high",
  status: "open",
  opened_at: "2026-11-29T09:00:00.000Z",
  updated_at: "2026-11-29T10:01:00.000Z",
  resolved_at: null,
  occurrences: 1,
  tier: "L1",
  outcome: attempts[0]?.outcome ?? null,
  attempts,
  ...over,
});

test("a failing result fixed after it was seen is 'waiting for the next check'", () => {
  const fix = attempt("success", "2026-11-29T10:01:00.000Z");
  assert.is(fixAwaitingRecheck([incident([fix, attempt("failed", "2026-11-29T09:30:00.000Z")])], "ws01", result()), fix);
});

test("anything else still needs attention: a fix before the failing scan, a fix that failed, another host or check, an error result", () => {
  const fixed = [incident([attempt("success", "2026-11-29T10:01:00.000Z")])];
  assert.is(fixAwaitingRecheck([incident([attempt("success", "2026-11-29T09:59:00.000Z")])], "ws01", result()), null, "the check failed again after the fix");
  assert.is(fixAwaitingRecheck([incident([attempt("reverted", "2026-11-29T10:01:00.000Z")])], "ws01", result()), null);
  assert.is(fixAwaitingRecheck(fixed, "ws02", result()), null);
  assert.is(fixAwaitingRecheck(fixed, "ws01", result({ check: "windows.firewall_profiles" })), null);
  assert.is(fixAwaitingRecheck(fixed, "ws01", result({ status: "error" })), null);
  assert.is(fixAwaitingRecheck([incident([], {})], "ws01", result()), null, "nothing attempted");
});

test.run();
