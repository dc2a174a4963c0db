import { test } from "uvu";
import * as assert from "uvu/assert";
import { evaluateGates } from "../../../appliance/heal/gates.ts";
import { parseWindow } from "../../../protocol/windows/windows.ts";
import { attemptOutcomeText, deferralReason, outcomeBadgeText, readableTimes } from "./attempt-words.ts";

// The appliance's gate texts (appliance/heal/gates.ts).
const COOLDOWN = "RB-WIN-SEC-016 ran on this host at 2026-11-29T07:34:13.000Z; cooling down until 2026-11-29T08:34:13.000Z";
const WINDOW = "RB-WIN-UPD-001 is disruptive: deferred to the next maintenance window at 2026-11-29T08:00:00.000Z";
const NO_WINDOW = "RB-WIN-UPD-001 is disruptive and no maintenance window is configured";

test("deferralReason() reads the reasons the appliance's healing gates actually write (the contract with appliance/heal/gates.ts)", () => {
  const now = Date.parse("2026-11-29T07:40:00.000Z");
  const base = { now, mode: "enforce" as const, windows: [], allowDisruptiveOutsideWindow: false, approval: null, order: null, reopens: [], failures: [], dryRun: false };
  const reason = (d: ReturnType<typeof evaluateGates>) => (d.go ? null : d.reason);
  const cooling = evaluateGates({ ...base, runbook: { id: "RB-WIN-SEC-016", disruptive: false, needs_approval: false }, lastActedAt: now - 60_000 });
  assert.is(deferralReason(reason(cooling)), "cooldown");
  const noWindow = evaluateGates({ ...base, runbook: { id: "RB-WIN-UPD-001", disruptive: true, needs_approval: false }, lastActedAt: null });
  assert.is(deferralReason(reason(noWindow)), "no_window");
  const nightly = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=2", duration: "PT2H", tz: "UTC" });
  const windowed = evaluateGates({ ...base, windows: [nightly], runbook: { id: "RB-WIN-UPD-001", disruptive: true, needs_approval: false }, lastActedAt: null });
  assert.is(deferralReason(reason(windowed)), "window");
});

test("deferralReason() tells the cooldown from the maintenance window", () => {
  assert.is(deferralReason(COOLDOWN), "cooldown");
  assert.is(deferralReason(WINDOW), "window");
  assert.is(deferralReason(NO_WINDOW), "no_window");
  assert.is(deferralReason(null), "window");
});

test("attemptOutcomeText() says a cooldown is a wait, in the same zone as the detail, and never 'maintenance window' for it", () => {
  const cooldown = attemptOutcomeText({ outcome: "deferred", deferred_until: "2026-11-29T08:34:13Z", detail: COOLDOWN }, "Europe/Berlin");
  assert.is(cooldown, "Waiting: cooling down until 29 Nov 2026, 09:34");
  assert.is(attemptOutcomeText({ outcome: "deferred", deferred_until: "2026-11-29T08:00:00Z", detail: WINDOW }, "America/Chicago"), "Scheduled for the maintenance window starting 29 Nov 2026, 02:00");
  assert.match(attemptOutcomeText({ outcome: "deferred", deferred_until: "2026-11-29T08:00:00Z", detail: NO_WINDOW }, "UTC"), /^Waiting: no maintenance window is set; checking again at 29 Nov 2026, 08:00$/);
  assert.is(attemptOutcomeText({ outcome: "success", deferred_until: null, detail: null }), "Fixed");
  assert.is(outcomeBadgeText({ outcome: "deferred", detail: COOLDOWN }), "Waiting: cooling down");
  assert.is(outcomeBadgeText({ outcome: "deferred", detail: WINDOW }), "Scheduled for the maintenance window");
});

test("readableTimes() writes every ISO instant of a detail as a date and time, leaving the rest", () => {
  assert.is(readableTimes(COOLDOWN, "Europe/Berlin"), "RB-WIN-SEC-016 ran on this host at 29 Nov 2026, 08:34; cooling down until 29 Nov 2026, 09:34");
  assert.not.match(readableTimes(WINDOW, "UTC"), /\dT\d/);
  assert.is(readableTimes("no times here", "UTC"), "no times here");
});

test.run();
