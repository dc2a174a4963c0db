import { test } from "uvu";
import * as assert from "uvu/assert";
import type { AttemptView, Escalation, IncidentView, SiteDetail } from "../../relay-client/mod.ts";
import { attentionItems, escalationTitle, escalationWords, UNREACHABLE_TITLE } from "./attention.ts";

// Wed 25 Nov 2026, 10:00 in Chicago.
const NOW = Date.parse("2026-11-25T16:00:00Z");

function attempt(outcome: string, over: Partial<AttemptView> = {}): AttemptView {
  return { attempt_id: `att_${outcome}`, runbook: "windows.disable_smb1", tier: "L1", outcome, started_at: "2026-11-25T15:00:00Z", finished_at: "2026-11-25T15:00:01Z", deferred_until: null, detail: null, ...over };
}

function incident(host: string, check: string, title: string, status: string, attempts: AttemptView[]): IncidentView {
  return { appliance_id: "app_1", incident_id: `inc_${host}_${check}`, host_id: host, check, title, severity: "high", status, opened_at: "2026-11-25T14:00:00Z", updated_at: "2026-11-25T15:00:00Z", resolved_at: status === "resolved" ? "2026-11-25T15:30:00Z" : null, occurrences: 2, tier: attempts[0]?.tier ?? null, outcome: attempts[0]?.outcome ?? null, attempts };
}

function site(incidents: IncidentView[], mode: "observe" | "advise" | "enforce" = "enforce"): SiteDetail {
  const result = (check: string, title: string, status: "pass" | "fail", unreachable = false) => ({ check, title, category: "network" as const, status, finished_at: "2026-11-25T15:55:00Z", unreachable, expected: null, actual: null });
  return {
    site: { id: "site_a", name: "Riverside main office", timezone: "America/Chicago", created_at: "2026-11-01T00:00:00Z", org_id: "org_a", org_name: "Riverside Family Clinic", partner_id: null, partner_name: null },
    settings: { site_id: "site_a", healing_mode: mode, maintenance_windows: [], l2_enabled: false, deployment_mode: "direct", reseller_id: null, timezone: "America/Chicago", disabled_checks: [] } as unknown as SiteDetail["settings"],
    windows_preview: [],
    score: { overall: 80, categories: [], controls: [], unknown_checks: [] },
    trend: [],
    devices: [
      { host_id: "rfc-fs01", hostname: "RFC-FS01", platform: "windows", os_version: null, last_check: null, pass: 3, failing: 1, results: [result("windows.smb1_disabled", "An outdated file-sharing method is off", "fail")] },
      { host_id: "rfc-nas01", hostname: null, platform: "linux", os_version: null, last_check: null, pass: 3, failing: 2, results: [result("linux.root_login", "Nobody signs in as root", "fail"), result("linux.ntp", "The clock is right", "fail", true)] },
    ],
    appliances: [],
    incidents,
    simulated: true,
    digest_behind: false,
    generated_at: "2026-11-25T16:00:00Z",
  };
}

test("attentionItems() says what happens next for each open incident, most urgent first", () => {
  const d = site([
    incident("rfc-fs01", "windows.smb1_disabled", "An outdated file-sharing method is off", "open", [attempt("deferred", { deferred_until: "2026-11-28T08:00:00Z" })]),
    incident("rfc-ws04", "windows.guest_account", "The guest account is off", "open", [attempt("pending_approval")]),
    incident("rfc-ws04", "windows.bitlocker", "The disk is encrypted", "escalated", [attempt("alert", { tier: "L3" })]),
    incident("rfc-ws01", "windows.defender", "Virus protection is on", "open", []),
    incident("rfc-ws02", "windows.firewall", "The firewall is on", "open", [attempt("success")]),
    incident("rfc-dc01", "windows.audit", "Sign-ins are recorded", "resolved", [attempt("success")]),
  ]);
  const items = attentionItems(d, NOW, "Bayside IT");
  assert.equal(
    items.map((i) => [i.device, i.state, i.text]),
    [
      ["rfc-ws04", "notified", "Bayside IT has been notified"],
      ["rfc-nas01", "review", "found at the last check; Bayside IT can see it"],
      ["rfc-nas01", "review", "it could not be checked at the last attempt, so its check counts as not passing; Bayside IT can see it"],
      ["rfc-ws04", "waiting_approval", "waiting for approval"],
      ["RFC-FS01", "scheduled", "fix scheduled for Sat 02:00"],
      ["rfc-ws01", "fixing", "being fixed automatically"],
    ],
  );
  assert.ok(!items.some((i) => i.check === "linux.ntp"), "an unreachable host's last result is not a failure");
  assert.is(items.find((i) => i.check === "")?.title, UNREACHABLE_TITLE, "but the device that could not be checked is named");
  assert.ok(!items.some((i) => i.check === "windows.firewall"), "a fix that worked waits for the next check, not for people");
});

test("a fix deferred again after its window passed is scheduled for the site's next maintenance window", () => {
  const d = site([incident("rfc-fs01", "windows.smb1_disabled", "An outdated file-sharing method is off", "open", [attempt("deferred", { deferred_until: "2026-11-21T08:00:00Z" })])]);
  d.windows_preview = [
    { description: "Every Sunday at 03:00 for 2 hours (America/Chicago)", windows: [{ start: "2026-11-29T09:00:00Z", end: "2026-11-29T11:00:00Z", text: "Sun 29 Nov, 03:00–05:00 CST" }] },
    null,
    { description: "Every Friday at 22:00 for 1 hour (America/Chicago)", windows: [{ start: "2026-11-25T12:00:00Z", end: "2026-11-25T13:00:00Z", text: "past" }, { start: "2026-11-28T04:00:00Z", end: "2026-11-28T05:00:00Z", text: "Fri 27 Nov, 22:00–23:00 CST" }] },
  ];
  assert.is(attentionItems(d, NOW, "Bayside IT").find((i) => i.check === "windows.smb1_disabled")?.text, "fix scheduled for Fri 22:00", "the earliest window still ahead");
});

test("a deferred fix whose window has passed, an observe-mode site and a failed fix say so", () => {
  const d = site(
    [
      incident("rfc-fs01", "windows.smb1_disabled", "An outdated file-sharing method is off", "open", [attempt("deferred", { deferred_until: "2026-11-21T08:00:00Z" })]),
      incident("rfc-ws01", "windows.defender", "Virus protection is on", "open", []),
      incident("rfc-ws02", "windows.firewall", "The firewall is on", "open", [attempt("reverted")]),
    ],
    "observe",
  );
  const text = Object.fromEntries(attentionItems(d, NOW, "your IT provider").map((i) => [i.check, i.text]));
  assert.is(text["windows.smb1_disabled"], "fix scheduled for the next maintenance window");
  assert.is(text["windows.defender"], "your IT provider can see it and decides what to do");
  assert.is(text["windows.firewall"], "the automatic fix did not work; your IT provider can see it");
});

test("a fix waiting out a cooldown says when it is tried again; one waiting for a window that is not set says who must set it", () => {
  const d = site([
    incident("rfc-fs01", "windows.smb1_disabled", "An outdated file-sharing method is off", "open", [
      attempt("deferred", { deferred_until: "2026-11-25T16:20:00Z", detail: "windows.disable_smb1 ran on this host at 2026-11-25T15:50:00.000Z; cooling down until 2026-11-25T16:20:00.000Z" }),
    ]),
    incident("rfc-ws02", "windows.update_service", "Updates install automatically", "open", [
      attempt("deferred", { deferred_until: "2026-11-25T22:00:00Z", detail: "windows.restart_update_service is disruptive and no maintenance window is configured" }),
    ]),
  ]);
  const text = Object.fromEntries(attentionItems(d, NOW, "Bayside IT").map((i) => [i.check, i.text]));
  assert.is(text["windows.smb1_disabled"], "the fix will be tried again today 10:20");
  assert.is(text["windows.update_service"], "waiting for Bayside IT to set a maintenance window for this fix");
});

test("a site whose checks all pass needs nothing", () => {
  const d = site([]);
  for (const dev of d.devices) dev.results = dev.results.map((r) => ({ ...r, status: "pass" as const, unreachable: false }));
  assert.equal(attentionItems(d, NOW, "Bayside IT"), []);
});

function escalation(over: Partial<Escalation>): Escalation {
  return {
    escalation_id: "esc_1", site_id: "site_a", org_id: "org_a", incident_id: null, host_id: "rfc-fs01", host_name: null, check: "windows.smb1_disabled", check_title: null, category: "network", severity: "high", priority: "high", source: "appliance",
    reason: "runbook failed: access denied", status: "open", reports: 1, created_at: "2026-11-25T15:00:00Z", updated_at: "2026-11-25T15:00:00Z",
    response_due_at: "2026-11-25T19:00:00Z", resolution_due_at: "2026-11-26T15:00:00Z", response_overdue: false, resolution_overdue: false,
    acknowledged_at: null, acknowledged_by: null, acknowledge_note: null, resolved_at: null, resolved_by: null, resolution_note: null, ...over,
  };
}

test("escalationWords() says who has it and what is due, in the clinic's zone", () => {
  assert.equal(escalationWords(escalation({}), "Bayside IT", NOW, "America/Chicago"), { status: "Reported to Bayside IT", cls: "warn", detail: "They aim to reply by today 13:00" });
  assert.equal(escalationWords(escalation({ response_overdue: true, response_due_at: "2026-11-25T15:30:00Z" }), "Bayside IT", NOW, "America/Chicago"), { status: "Reported to Bayside IT", cls: "bad", detail: "A reply is overdue (it was due today 09:30)" });
  assert.equal(escalationWords(escalation({ status: "acknowledged", acknowledged_at: "2026-11-25T15:10:00Z" }), "Bayside IT", NOW, "America/Chicago"), { status: "Bayside IT is working on it", cls: "info", detail: "They aim to have it fixed by tomorrow 09:00" });
  // Without partner branding the provider is "your IT provider": lower-case mid-sentence, capitalised at the start.
  assert.is(escalationWords(escalation({}), "your IT provider", NOW, "America/Chicago").status, "Reported to your IT provider");
  assert.is(escalationWords(escalation({ status: "acknowledged", acknowledged_at: "2026-11-25T15:10:00Z" }), "your IT provider", NOW, "America/Chicago").status, "Your IT provider is working on it");
  assert.equal(escalationWords(escalation({ status: "resolved", resolved_at: "2026-11-25T15:45:00Z", resolution_note: "SMB1 off" }), "Bayside IT", NOW, "America/Chicago").detail, "Resolved today 09:45: “SMB1 off”");
});

test("escalationTitle() uses the check's title from the site worded as a problem, else names the area", () => {
  const d = site([]);
  assert.is(escalationTitle(escalation({}), [d]), "Not met: An outdated file-sharing method is off");
  assert.is(escalationTitle(escalation({ check: "windows.unknown", category: "access_control" }), [d]), "A problem with access control");
  assert.is(escalationTitle(escalation({ check: null, category: null }), []), "A problem your IT provider is handling");
});

test.run();
