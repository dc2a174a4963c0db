import { test } from "uvu";
import * as assert from "uvu/assert";
import { CATEGORIES, catalogue } from "../../protocol/catalogue/mod.ts";
import type { TargetRef } from "../engine/types.ts";
import { TimeZone } from "../heal/index.ts";
import { timePhrase } from "./_time-text.ts";
import { buildStatus, CATEGORY_GROUP, STAFF_CATEGORIES, withoutAddresses, type OpenIncident, type StatusInput } from "./status-api.ts";

const NOW = Date.parse("2026-11-26T17:30:00Z"); // Thu 12:30 in New York
const MIN = 60_000;
const HOUR = 60 * MIN;
const NY = TimeZone.of("America/New_York");

const ws: TargetRef = { id: "ws01", name: "FRONTDESK1", platform: "windows", collector: "winrm", simulated: false };
const nas: TargetRef = { id: "nas01", name: "Backup NAS", platform: "linux", collector: "ssh", simulated: false };
const passing = (at = NOW - 5 * MIN) => ({ at, reachable: true, results: [{ check: "windows.firewall_profiles", status: "pass" as const }, { check: "windows.bitlocker", status: "pass" as const }] });

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    now: NOW,
    site: { id: "site_test0001", name: "Test Clinic", timezone: "America/New_York", healing_mode: "enforce", maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2", duration: "PT4H", tz: "America/New_York" }] },
    appliance: { id: "app_test0001", fingerprint: "aaaa:bbbb:cccc:dddd:eeee:ffff:0000:1111" },
    devices: [ws, nas],
    latest: new Map([
      ["ws01", passing()],
      ["nas01", { at: NOW - 10 * MIN, reachable: true, results: [{ check: "linux.backup_status", status: "pass" as const }] }],
    ]),
    incidents: [],
    evidence: { seq: 42, hash: "0123456789abcdef".repeat(4) },
    relay: { configured: true, interval_ms: 60_000, started_at: NOW - HOUR, sync: { last_success_at: NOW - 30_000, clock_offset_ms: 12 } },
    ...over,
  };
}

const incident = (over: Partial<OpenIncident>): OpenIncident => ({ host_id: "ws01", check: "windows.firewall_profiles", status: "open", opened_at: NOW - HOUR, next_attempt_at: null, last_outcome: null, healed: false, ...over });

test("buildStatus() says 'All checks passing' when every device passed its last check", () => {
  const r = buildStatus(input(), catalogue);
  assert.is(r.overall.level, "ok");
  assert.is(r.overall.headline, "All checks passing");
  assert.is(r.overall.detail, null);
  assert.is(r.last_check?.text, "today 12:25");
  assert.is(r.last_check?.at, "2026-11-26T12:25:00-05:00");
  assert.ok(r.devices.every((d) => d.level === "ok" && d.state_text === "All checks passing"));
  assert.is(r.simulated, false);
  assert.is(r.appliance.evidence.text, "record 42, 0123456789ab");
});

test("buildStatus() counts items needing attention and says the IT provider was notified when a relay is configured", () => {
  const r = buildStatus(input({ incidents: [incident({ status: "escalated" }), incident({ host_id: "nas01", check: "linux.backup_status", status: "pending_approval" })] }), catalogue);
  assert.is(r.overall.level, "attention");
  assert.is(r.overall.headline, "2 items need attention — your IT provider has been notified");
  assert.is(r.overall.attention_count, 2);
  assert.equal(r.attention.map((i) => i.status_text), ["your IT provider has been notified", "waiting for approval"]);
  assert.is(r.devices.find((d) => d.id === "ws01")?.state_text, "1 item needs attention");
  assert.is(r.categories.find((c) => c.id === "firewall")?.text, "1 item needs attention");
  assert.is(r.categories.find((c) => c.id === "backups")?.level, "attention");
});

test("a standalone appliance asks staff to tell their IT provider instead of claiming it was notified", () => {
  const r = buildStatus(input({ relay: { configured: false, interval_ms: 60_000, started_at: NOW - HOUR, sync: null }, incidents: [incident({ status: "escalated" })] }), catalogue);
  assert.is(r.overall.headline, "1 item needs attention — please let your IT provider know");
  assert.is(r.attention[0]?.status_text, "your IT provider needs to look at this");
  assert.is(r.relay.state, "standalone");
  assert.is(r.relay.text, "Not connected to a relay (standalone)");
  assert.is(r.relay.banner, null);
});

test("waiting for enrollment (no incidents are recorded yet): a failing check needs attention, and nobody is said to be notified", () => {
  const failing = { at: NOW - 5 * MIN, reachable: true, results: [{ check: "windows.defender_realtime", status: "fail" as const }, { check: "windows.firewall_profiles", status: "pass" as const }, { check: "windows.bitlocker", status: "error" as const }] };
  for (const enrollment of ["unclaimed", "pending"] as const) {
    const r = buildStatus(input({ appliance: { id: "app_test0001", fingerprint: "aaaa", enrollment }, latest: new Map([["ws01", failing], ["nas01", passing()]]) }), catalogue);
    assert.is(r.overall.level, "attention", enrollment);
    assert.is(r.overall.headline, "1 item needs attention — please let your IT provider know");
    assert.equal(r.attention.map((i) => [i.device_name, i.check, i.state]), [["FRONTDESK1", "windows.defender_realtime", "notified"]]);
    assert.match(r.attention[0]!.status_text, /nothing is fixed automatically until your IT provider has connected it/);
    assert.is(r.attention[0]!.since.text, "today 12:25");
    assert.is(r.devices.find((d) => d.id === "ws01")?.state_text, "1 item needs attention");
    assert.is(r.categories.find((c) => c.id === "antivirus")?.text, "1 item needs attention");
  }
  // Once enrolled, the incidents are what counts (the engine opens one per failing check).
  const enrolled = buildStatus(input({ appliance: { id: "app_test0001", fingerprint: "aaaa", enrollment: "enrolled" }, latest: new Map([["ws01", failing], ["nas01", passing()]]) }), catalogue);
  assert.is(enrolled.overall.attention_count, 0);
});

test("a deferred fix says when it is scheduled, in the site's zone", () => {
  const sat = Date.parse("2026-11-28T07:00:00Z");
  const later = Date.parse("2026-12-12T07:00:00Z");
  const r = buildStatus(
    input({ incidents: [incident({ status: "deferred", next_attempt_at: sat }), incident({ host_id: "nas01", check: "linux.backup_status", status: "deferred", next_attempt_at: later }), incident({ check: "windows.bitlocker", status: "deferred" })] }),
    catalogue,
  );
  const texts = r.attention.map((i) => i.status_text).sort();
  assert.equal(texts, ["fix scheduled for Sat 02:00", "fix scheduled for Sat 12 Dec 02:00", "fix scheduled for the next maintenance window"]);
  assert.ok(r.attention.every((i) => i.state === "scheduled"));
});

test("an open incident is 'being fixed' in enforce mode, 'notified' in observe mode or after an alert", () => {
  const enforce = buildStatus(input({ incidents: [incident({})] }), catalogue);
  assert.is(enforce.attention[0]?.status_text, "being fixed");
  const observe = buildStatus(input({ site: { ...input().site, healing_mode: "observe" }, incidents: [incident({})] }), catalogue);
  assert.is(observe.attention[0]?.status_text, "your IT provider has been notified");
  const alerted = buildStatus(input({ incidents: [incident({ last_outcome: "alert" })] }), catalogue);
  assert.is(alerted.attention[0]?.state, "notified");
});

test("a fix that failed or was rolled back does not read 'being fixed': it says so and when it is tried again", () => {
  const retry = NOW + 10 * 60_000;
  const r = buildStatus(input({ incidents: [incident({ last_outcome: "reverted", next_attempt_at: retry }), incident({ host_id: "nas01", check: "linux.backup_status", last_outcome: "failed" })] }), catalogue);
  const texts = r.attention.map((i) => i.status_text).sort();
  assert.equal(texts, ["the last automatic fix did not work and was undone; it will be tried again today 12:40", "the last automatic fix did not work; it will be tried again"]);
  assert.ok(r.attention.every((i) => i.state === "fixing"));
});

test("a fix that passed its re-check is shown on the device but not counted as needing attention", () => {
  const r = buildStatus(input({ incidents: [incident({ healed: true, last_outcome: "success" })] }), catalogue);
  assert.is(r.overall.headline, "All checks passing");
  assert.is(r.attention.length, 0);
  const item = r.devices.find((d) => d.id === "ws01")?.items[0];
  assert.is(item?.state, "fixed");
  assert.is(item?.status_text, "fixed — the next check will confirm it");
});

test("items are ordered by urgency: notified, waiting for approval, scheduled, being fixed", () => {
  const r = buildStatus(
    input({
      incidents: [
        incident({ check: "windows.firewall_profiles", status: "open" }),
        incident({ check: "windows.bitlocker", status: "deferred", next_attempt_at: NOW + HOUR }),
        incident({ host_id: "nas01", check: "linux.backup_status", status: "pending_approval" }),
        incident({ check: "windows.defender_realtime", status: "escalated" }),
      ],
    }),
    catalogue,
  );
  assert.equal(r.attention.map((i) => i.state), ["notified", "waiting_approval", "scheduled", "fixing"]);
});

test("an unreachable device is reported as not checked, never as passing", () => {
  const r = buildStatus(input({ latest: new Map([["ws01", passing()], ["nas01", { at: NOW - MIN, reachable: false, results: [] }]]) }), catalogue);
  assert.is(r.overall.level, "attention");
  assert.is(r.overall.headline, "1 device could not be checked");
  assert.is(r.overall.detail, "Everything that could be checked is passing");
  assert.is(r.overall.unreachable_count, 1);
  const d = r.devices.find((x) => x.id === "nas01")!;
  assert.is(d.state_text, "Could not be checked at the last attempt");
  assert.is(r.categories.find((c) => c.id === "backups")?.level, "unknown");
  assert.is(r.categories.find((c) => c.id === "firewall")?.text, "All good where checked", "a passing area does not claim devices it could not check");

  const none = buildStatus(input({ devices: [nas], latest: new Map([["nas01", { at: NOW - MIN, reachable: false, results: [] }]]) }), catalogue);
  assert.is(none.overall.headline, "1 device could not be checked");
  assert.is(none.overall.detail, "No device could be checked yet, so nothing is known about them");
});

test("before the first check the page says it is waiting, and categories say 'Not checked yet'", () => {
  const r = buildStatus(input({ latest: new Map() }), catalogue);
  assert.is(r.overall.level, "unknown");
  assert.is(r.overall.headline, "Waiting for the first check");
  assert.is(r.last_check, null);
  assert.ok(r.categories.every((c) => c.level === "unknown" && c.text === "Not checked yet"));
  assert.ok(r.devices.every((d) => d.state_text === "Not checked yet"));
});

test("the relay is 'offline' with a banner only after more than 3 sync intervals without a sync", () => {
  const at = (last: number | null, started = NOW - HOUR) => buildStatus(input({ relay: { configured: true, interval_ms: 60_000, started_at: started, sync: { last_success_at: last, clock_offset_ms: null } } }), catalogue).relay;
  assert.is(at(NOW - 2 * MIN).state, "ok");
  assert.is(at(NOW - 3 * MIN).state, "ok");
  const off = at(NOW - 3 * MIN - 1);
  assert.is(off.state, "offline");
  assert.match(off.banner ?? "", /has not reached your IT provider since today 12:26/);
  assert.is(at(null, NOW - 2 * MIN).state, "never");
  assert.is(at(null, NOW - 2 * MIN).text, "Never synced with your IT provider");
  assert.is(at(null, NOW - 4 * MIN).state, "offline");
  assert.ok(at(null, NOW - 4 * MIN).banner);
  const noClient = buildStatus(input({ relay: { configured: true, interval_ms: 60_000, started_at: NOW, sync: null } }), catalogue).relay;
  assert.is(noClient.state, "never");
});

test("an appliance the relay says is revoked reads 'Disconnected by your IT provider', with a banner, and claims nobody was notified", () => {
  const r = buildStatus(input({ relay: { configured: true, interval_ms: 60_000, started_at: NOW - HOUR, sync: { last_success_at: NOW - 2 * MIN, clock_offset_ms: 12, revoked: true } }, incidents: [incident({ status: "escalated" })] }), catalogue);
  assert.is(r.overall.headline, "1 item needs attention — please let your IT provider know");
  assert.is(r.relay.text, "Disconnected by your IT provider");
  assert.match(r.relay.banner ?? "", /has disconnected this appliance \(its enrollment was revoked\).*Checks continue here/);
  assert.is(r.relay.last_sync?.text, "today 12:28");
});

test("the next maintenance window is named plainly, or 'now, until …' while one is open", () => {
  assert.is(buildStatus(input(), catalogue).next_window?.text, "Sat 02:00–06:00");
  const inside = buildStatus(input({ now: Date.parse("2026-11-28T08:00:00Z") }), catalogue);
  assert.is(inside.next_window?.text, "now, until today 06:00");
  assert.is(buildStatus(input({ site: { ...input().site, maintenance_windows: [] } }), catalogue).next_window, null);
});

test("every catalogue category is shown in one staff group, and the issue's eight groups are there", () => {
  for (const c of CATEGORIES) assert.ok(STAFF_CATEGORIES.some((g) => g.id === CATEGORY_GROUP[c]), c);
  for (const g of ["backups", "antivirus", "updates", "encryption", "firewall", "logging", "time", "accounts"]) assert.ok(STAFF_CATEGORIES.some((s) => s.id === g), g);
});

test("device names and ids lose any IP address; the report never carries one", () => {
  assert.is(withoutAddresses("NAS (192.168.1.20)", "x"), "NAS");
  assert.is(withoutAddresses("10.0.0.5", "device-1"), "device-1");
  assert.is(withoutAddresses("fd00::1:2", "device-2"), "device-2");
  const odd: TargetRef = { id: "10.0.0.5", name: "10.0.0.5", platform: "linux", collector: "ssh", simulated: false };
  const r = buildStatus(input({ devices: [ws, odd], latest: new Map([["10.0.0.5", { at: NOW, reachable: true, results: [] }]]), incidents: [incident({ host_id: "10.0.0.5", check: "linux.backup_status", status: "escalated" })] }), catalogue);
  assert.not.match(JSON.stringify(r), /10\.0\.0\.5/);
  assert.is(r.attention[0]?.device_name, "device-2");
});

test("incidents of unknown devices or checks are left out rather than shown half-named", () => {
  const r = buildStatus(input({ incidents: [incident({ host_id: "gone" }), incident({ check: "windows.no_such_check" })] }), catalogue);
  assert.is(r.attention.length, 0);
});

test("timePhrase() names today, yesterday, the coming week's weekdays, and other dates in full", () => {
  assert.is(timePhrase(NOW, NOW, NY), "today 12:30");
  assert.is(timePhrase(Date.parse("2026-11-26T05:10:00Z"), NOW, NY), "today 00:10");
  assert.is(timePhrase(Date.parse("2026-11-26T04:50:00Z"), NOW, NY), "yesterday 23:50");
  assert.is(timePhrase(Date.parse("2026-11-28T07:00:00Z"), NOW, NY), "Sat 02:00");
  assert.is(timePhrase(Date.parse("2026-11-20T15:00:00Z"), NOW, NY), "Fri 20 Nov 10:00");
  assert.is(timePhrase(Date.parse("2027-01-05T15:00:00Z"), NOW, NY), "Tue 5 Jan 2027 10:00");
});

test.run();
