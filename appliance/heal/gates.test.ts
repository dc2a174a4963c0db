import { test } from "uvu";
import * as assert from "uvu/assert";
import { evaluateGates, GATES, type GateInput } from "./gates.ts";
import { COOLDOWN_MS, FAILURE_BUDGET, FAILURE_WINDOW_MS, FLAP_MAX_REOPENS, FLAP_WINDOW_MS, NO_WINDOW_RECHECK_MS } from "./policy.ts";
import { nextWindows, parseWindow } from "../../protocol/windows/windows.ts";

const NOW = Date.UTC(2026, 10, 27, 15, 0, 0, 0); // Friday 10:00 in New York
const SATURDAY_NIGHT = parseWindow({ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22;BYMINUTE=0", duration: "PT4H", tz: "America/New_York" });
const FRIDAY_MORNING = parseWindow({ rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=9;BYMINUTE=0", duration: "PT2H", tz: "America/New_York" });

const plain = { id: "windows.enable_firewall_profiles", disruptive: false, needs_approval: false };
const disruptive = { id: "windows.disable_smb1", disruptive: true, needs_approval: false };
const approvalNeeded = { id: "linux.sshd_disable_password_auth", disruptive: false, needs_approval: true };

function input(over: Partial<GateInput> = {}): GateInput {
  return {
    now: NOW,
    mode: "enforce",
    runbook: plain,
    windows: [SATURDAY_NIGHT],
    allowDisruptiveOutsideWindow: false,
    approval: null,
    order: null,
    reopens: [],
    lastActedAt: null,
    failures: [],
    dryRun: false,
    ...over,
  };
}

const ago = (ms: number) => NOW - ms;
const approval = { order_id: "ord_approve01", approved_until: NOW + 3_600_000 };

test("evaluateGates() blocks with the first failing gate's outcome, in the documented order", () => {
  const table: [string, Partial<GateInput>, string, string][] = [
    ["observe records an alert and never acts", { mode: "observe" }, "mode", "alert"],
    ["observe wins over every later gate", { mode: "observe", runbook: disruptive, dryRun: true, failures: [ago(1), ago(2), ago(3)] }, "mode", "alert"],
    ["advise without approval recommends (pending_approval)", { mode: "advise" }, "mode", "pending_approval"],
    ["disruptive outside every window is deferred", { runbook: disruptive }, "window", "deferred"],
    ["needs_approval without an approval waits", { runbook: approvalNeeded }, "approval", "pending_approval"],
    ["an expired approval does not count", { runbook: approvalNeeded, approval: { order_id: "ord_old00001", approved_until: NOW } }, "approval", "pending_approval"],
    ["flapping escalates", { reopens: Array.from({ length: FLAP_MAX_REOPENS + 1 }, (_, i) => ago((i + 1) * 60_000)) }, "flap", "escalated"],
    ["a recent run of the same rule defers (cooldown)", { lastActedAt: ago(COOLDOWN_MS - 1) }, "cooldown", "deferred"],
    ["the failure budget escalates", { failures: Array.from({ length: FAILURE_BUDGET }, (_, i) => ago((i + 1) * 3_600_000)) }, "failure_budget", "escalated"],
    ["dry run reports dry_run", { dryRun: true }, "dry_run", "dry_run"],
    ["an order's dry run reports dry_run", { order: { order_id: "ord_dry00001", ignore_window: false, dry_run: true } }, "dry_run", "dry_run"],
  ];
  for (const [name, over, gate, outcome] of table) {
    const d = evaluateGates(input(over));
    if (d.go) assert.unreachable(`${name}: went through`);
    else {
      assert.is(d.gate, gate, name);
      assert.is(d.outcome, outcome, name);
      assert.is(d.trail.at(-1)?.verdict, "block", name);
      assert.equal(d.trail.map((s) => s.gate), GATES.slice(0, GATES.indexOf(d.gate) + 1), `${name}: every earlier gate was evaluated, in order`);
    }
  }
});

test("evaluateGates() lets a fix through only when every gate passes, and records each verdict", () => {
  const table: [string, Partial<GateInput>][] = [
    ["enforce, plain runbook", {}],
    ["disruptive inside a window", { runbook: disruptive, windows: [FRIDAY_MORNING] }],
    ["disruptive outside, site allows it", { runbook: disruptive, allowDisruptiveOutsideWindow: true }],
    ["disruptive outside, order waives the window", { runbook: disruptive, order: { order_id: "ord_run00001", ignore_window: true, dry_run: false } }],
    ["needs_approval with a valid approval", { runbook: approvalNeeded, approval }],
    ["needs_approval with an order (the order is the approval)", { runbook: approvalNeeded, order: { order_id: "ord_run00002", ignore_window: false, dry_run: false } }],
    ["advise with an approval", { mode: "advise", approval }],
    ["reopens at the flap limit", { reopens: Array.from({ length: FLAP_MAX_REOPENS }, (_, i) => ago((i + 1) * 60_000)) }],
    ["old reopens are outside the flap window", { reopens: Array.from({ length: 10 }, (_, i) => ago(FLAP_WINDOW_MS + i + 1)) }],
    ["cooldown over", { lastActedAt: ago(COOLDOWN_MS) }],
    ["failures below budget", { failures: Array.from({ length: FAILURE_BUDGET - 1 }, () => ago(60_000)) }],
    ["old failures fall out of the budget", { failures: Array.from({ length: 5 }, () => ago(FAILURE_WINDOW_MS + 1)) }],
  ];
  for (const [name, over] of table) {
    const d = evaluateGates(input(over));
    assert.ok(d.go, `${name}: ${d.go ? "" : d.reason}`);
    assert.equal(d.trail.map((s) => s.gate), [...GATES], name);
    assert.ok(d.trail.every((s) => s.verdict !== "block"), name);
  }
});

test("evaluateGates() defers a disruptive runbook to exactly the next window start windows.ts computes", () => {
  const d = evaluateGates(input({ runbook: disruptive }));
  const expected = nextWindows(SATURDAY_NIGHT, new Date(NOW), 1)[0]!.start.getTime();
  assert.is(new Date(expected).toISOString(), "2026-11-29T03:00:00.000Z"); // Saturday 22:00 EST
  if (d.go) assert.unreachable("went through");
  else {
    assert.is(d.next_window_start, expected);
    assert.is(d.next_attempt_at, expected);
    assert.match(d.reason, /2026-11-29T03:00:00.000Z/);
  }
});

test("evaluateGates() defers without a window start when no window is configured, and looks again later", () => {
  const d = evaluateGates(input({ runbook: disruptive, windows: [] }));
  if (d.go) assert.unreachable("went through");
  else {
    assert.is(d.outcome, "deferred");
    assert.is(d.next_window_start, null);
    assert.is(d.next_attempt_at, NOW + NO_WINDOW_RECHECK_MS);
  }
});

test("evaluateGates() says when cooldown, flapping and the failure budget clear", () => {
  const cool = evaluateGates(input({ lastActedAt: ago(60_000) }));
  assert.is(cool.go ? null : cool.next_attempt_at, NOW - 60_000 + COOLDOWN_MS);
  const failures = [ago(20 * 3_600_000), ago(2 * 3_600_000), ago(3_600_000)];
  const budget = evaluateGates(input({ failures }));
  assert.is(budget.go ? null : budget.next_attempt_at, ago(20 * 3_600_000) + FAILURE_WINDOW_MS, "when the oldest failure ages out");
  const reopens = [ago(5 * 3_600_000), ago(4 * 3_600_000), ago(3 * 3_600_000), ago(2 * 3_600_000)];
  const flap = evaluateGates(input({ reopens }));
  assert.is(flap.go ? null : flap.next_attempt_at, ago(5 * 3_600_000) + FLAP_WINDOW_MS);
});

test("evaluateGates() in advise mode never passes without an approval, even for a non-disruptive runbook", () => {
  for (const runbook of [plain, disruptive, approvalNeeded]) {
    const d = evaluateGates(input({ mode: "advise", runbook, allowDisruptiveOutsideWindow: true }));
    assert.is(d.go, false, runbook.id);
  }
});

test.run();
