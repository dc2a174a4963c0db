import { test } from "uvu";
import * as assert from "uvu/assert";
import { str } from "../db/index.ts";
import { dailyHistory, resultsFromBundleLines, scoreSite } from "../scores/mod.ts";
import { scanEvidence } from "./evidence-scan.ts";
import { monthBounds } from "./month.ts";
import { SEPTEMBER, septemberRelay } from "./_month-fixture.ts";
import { gatherPacketData, type PacketData } from "./packet-data.ts";
import { buildMonthKit, kitSummary } from "./packet-kit.ts";

const fixture = await septemberRelay();
const { relay, a, b } = fixture;
const { from, to } = monthBounds(SEPTEMBER.month);
const kit = await buildMonthKit(relay.db, relay.siteId, from, to, relay.relayKey);
const data: PacketData = await gatherPacketData(relay.db, { site_id: relay.siteId, month: SEPTEMBER.month, framework: "hipaa" }, kitSummary(kit));
const H = 3_600_000;

test("the score at the month's end and the daily trend match the hand-computed figures", () => {
  assert.is(data.score.overall, SEPTEMBER.overall);
  assert.is(data.score.previous, null, "no evidence in August: no data, never 100");
  const cat = Object.fromEntries(data.score.categories.map((c) => [c.category, c.score]));
  assert.equal([cat["encryption"], cat["backup"], cat["patching"], cat["accounts"], cat["time"], cat["firewall"]], [100, 0, 100, 100, 100, null]);
  assert.is(data.score.trend.length, 30);
  const day = (d: string) => data.score.trend.find((p) => p.day === d)?.overall;
  // 09-10: update_service fails at the day's end → patching 0: (15 + 13 + 7 + 3) × 100 / 50 = 76.
  assert.equal([day("2026-09-09"), day("2026-09-10"), day("2026-09-11"), day("2026-09-28"), day("2026-09-29"), day("2026-09-30")], [100, 76, 100, 100, 74, 74]);
});

test("control readiness: encryption ready, backup failing with the missing disk-space check named, Windows-only checks out of scope counted", () => {
  const c = (id: string) => data.controls.find((x) => x.id === id)!;
  assert.equal([c("164.312(a)(2)(iv)").ready, c("164.312(a)(2)(iv)").reason], [true, "ready"]);
  assert.equal([c("164.308(a)(7)(ii)(A)").reason, c("164.308(a)(7)(ii)(A)").blocking], ["failing", ["linux.backup_status", "linux.disk_space"]]);
  const backup = c("164.308(a)(7)(ii)(A)").checks.find((k) => k.check === "linux.backup_status")!;
  assert.equal([backup.hosts, backup.pass, backup.fail, backup.last_at], [1, 678, 36, "2026-09-30T23:00:00.000Z"]);
  assert.is(c("164.312(a)(2)(iv)").out_of_scope, 2, "appliance.luks_volumes and macos.filevault: no such platform reported");
  assert.is(data.controls.length, 26);
  assert.ok(data.controls.every((x) => ["administrative", "physical", "technical"].includes(x.group)));
});

test("incidents are rebuilt from evidence with tier, outcome and time to fix", () => {
  assert.equal(
    data.incidents.map((i) => [i.host_id, i.check, i.opened_at, i.resolved_at, i.time_to_fix_ms, i.failing_results, i.tier, i.outcome, i.attempts_total]),
    [
      ["ws1", "windows.update_service", SEPTEMBER.update_incident.opened_at, SEPTEMBER.update_incident.resolved_at, SEPTEMBER.update_incident.ttf_ms, SEPTEMBER.update_incident.failing, "L1", "success", 2],
      ["lin1", "linux.backup_status", SEPTEMBER.backup_incident.opened_at, null, null, SEPTEMBER.backup_incident.failing, "L3", "escalated", 1],
    ],
  );
  assert.equal(data.remediations, { total: 3, by_tier: { L1: 2, L3: 1 }, by_outcome: { deferred: 1, escalated: 1, success: 1 }, dropped: 0 });
});

test("topic rows carry the status at the month's end, the month's counts and the latest value", () => {
  assert.equal(data.topics.backup.rows.map((r) => [r.host_id, r.check, r.status, r.pass, r.fail, r.actual]), [["lin1", "linux.backup_status", "fail", 678, 36, '{"last_success_hours":52}']]);
  assert.equal(data.topics.access.rows.map((r) => [r.check, r.actual]), [["windows.guest_account", '{"enabled":false}'], ["windows.local_admins", '["Administrator","itadmin"]']]);
  assert.equal(data.topics.encryption.rows.map((r) => r.check), ["linux.disk_encryption", "windows.bitlocker"]);
  assert.equal(data.topics.time.rows.length, 2);
  assert.equal(data.hosts, ["lin1", "ws1"]);
});

test("appliance uptime, sync gaps, upload delay and NTP offsets match the fixture's schedule", () => {
  const A = data.appliances.find((x) => x.appliance_id === a.id)!;
  const B = data.appliances.find((x) => x.appliance_id === b.id)!;
  assert.equal([A.bundles, A.kinds, A.hours_expected, A.hours_with_evidence], [SEPTEMBER.a_bundles, { check_cycle: 1428, remediation: 3 }, 720, 714]);
  assert.ok(Math.abs(A.uptime_pct! - SEPTEMBER.a_uptime_pct) < 1e-9);
  assert.equal(A.gaps.map((g) => g.ms), [...SEPTEMBER.a_gaps_ms]);
  assert.equal([A.gaps[0]!.from, A.gaps[0]!.to], ["2026-09-19T23:00:00.000Z", "2026-09-21T12:00:00.000Z"]);
  assert.equal([A.sync_gaps, A.longest_gap_ms, A.max_delay_ms], [2, 37 * H, SEPTEMBER.a_max_delay_ms]);
  assert.equal(A.ntp, { samples: 1428, max_abs_ms: 480, last_ms: 15 });
  assert.equal([B.bundles, B.hours_expected, B.hours_with_evidence, B.uptime_pct, B.sync_gaps], [SEPTEMBER.b_bundles, 374, 374, 100, 0]);
  assert.equal([A.enrolled_via, A.enrolled_by], ["claim_code", "test"]);
});

test("the check cadence is what the evidence shows: each computer checked hourly, the appliance's 7-hour outage leaving the median alone", () => {
  assert.equal(data.cadence, { computers: 2, median_ms: H, fastest_ms: H, slowest_ms: H });
});

test("the evidence manifest names each appliance's seq range, checkpoints and a verified relay cosignature", () => {
  const m = data.manifest;
  assert.is(m.kit_sha256, kit.sha256);
  assert.is(m.bundles, SEPTEMBER.a_bundles + SEPTEMBER.b_bundles);
  const A = m.appliances.find((x) => x.appliance_id === a.id)!;
  assert.equal([A.first_seq, A.last_in_range, A.last_seq], [1, SEPTEMBER.a_bundles, SEPTEMBER.a_bundles]);
  // A pushes (with a checkpoint) after every cycle outside its 36 offline hours, plus 3 remediation pushes: 714 − 36 + 3.
  assert.is(A.checkpoints, 681);
  assert.is(A.last_checkpoint?.size, SEPTEMBER.a_bundles);
  assert.equal(A.last_checkpoint?.witnesses.map((w) => [w.name, w.time]), [[relay.relayKey.name, "2026-09-30T23:00:00.000Z"]]);
  assert.equal(m.integrity_incidents, []);
  assert.equal(m.warnings, []);
});

test("scoring the scan's inputs gives what scoring resultsFromBundleLines of the same lines gives, every day", async () => {
  const scan = await scanEvidence(relay.db, [a.id, b.id], from, to);
  const lines: string[] = [];
  for (const id of [a.id, b.id]) for (const r of (await relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [id] })).rows) lines.push(str(r, "line"));
  const all = [...resultsFromBundleLines(lines)].filter((x) => x.finished_at < new Date(to).toISOString());
  assert.is(scan.results_read, all.length);
  assert.ok(scan.inputs.length < all.length / 10, `reduced to ${scan.inputs.length} of ${all.length}`);
  const range = { from: "2026-08-31", to: "2026-09-30" };
  assert.equal(dailyHistory(scan.inputs, range), dailyHistory(all, range));
  assert.equal(scoreSite(scan.inputs, { now: new Date(to - 1) }), scoreSite(all, { now: new Date(to - 1) }));
});

test("gathering twice gives equal data, and an unknown site is refused", async () => {
  const again = await gatherPacketData(relay.db, { site_id: relay.siteId, month: SEPTEMBER.month, framework: "hipaa" }, kitSummary(kit));
  assert.equal(JSON.stringify(again), JSON.stringify(data));
  try {
    await gatherPacketData(relay.db, { site_id: "site_nope00000000", month: SEPTEMBER.month, framework: "hipaa" }, kitSummary(kit));
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof Error && (e as { code?: string }).code === "site_unknown", String(e));
  }
});

test("SOC 2 and GLBA group their controls by criteria group", async () => {
  const soc2 = await gatherPacketData(relay.db, { site_id: relay.siteId, month: SEPTEMBER.month, framework: "soc2" }, kitSummary(kit));
  assert.is(soc2.controls.length, 12);
  assert.ok(soc2.controls.find((c) => c.id === "A1.2")!.group.startsWith("A1"));
  assert.is(soc2.controls.find((c) => c.id === "A1.2")!.reason, "failing", "A1.2 maps linux.backup_status");
  const glba = await gatherPacketData(relay.db, { site_id: relay.siteId, month: SEPTEMBER.month, framework: "glba" }, kitSummary(kit));
  assert.is(glba.controls.length, 7);
  assert.is(glba.score.overall, data.score.overall, "the score does not depend on the framework");
});

test("a month without new failures keeps the escalation made before it: the carried-over incident was handled by L3, while the month's own attempts stay 0", async () => {
  const { from: octFrom, to: octTo } = monthBounds("2026-10");
  const october = await gatherPacketData(relay.db, { site_id: relay.siteId, month: "2026-10", framework: "hipaa" }, kitSummary(await buildMonthKit(relay.db, relay.siteId, octFrom, octTo, relay.relayKey)));
  assert.equal(
    october.incidents.map((i) => [i.check, i.opened_at, i.resolved_at, i.tier, i.outcome, i.opened_earlier]),
    [["linux.backup_status", SEPTEMBER.backup_incident.opened_at, null, "L3", "escalated", false]],
    "escalated on 09-29 12:01, still open: an L3 incident, never \"no fix attempt\"",
  );
  assert.equal(october.remediations, { total: 0, by_tier: {}, by_outcome: {}, dropped: 0 }, "no healing attempt was made in October");
});

test("an incident already failing at the first result the packet reads says it opened earlier, instead of a wrong opening time and 'no fix attempt'", async () => {
  const { from: novFrom, to: novTo } = monthBounds("2026-11");
  const november = await gatherPacketData(relay.db, { site_id: relay.siteId, month: "2026-11", framework: "hipaa" }, kitSummary(await buildMonthKit(relay.db, relay.siteId, novFrom, novTo, relay.relayKey)));
  assert.is(november.manifest.bundles, 0, "no evidence at all in November");
  const [i, ...rest] = november.incidents;
  assert.equal(rest, []);
  assert.equal([i!.check, i!.opened_at, i!.opened_earlier, i!.tier, i!.time_to_fix_ms], ["linux.backup_status", "2026-10-01T00:00:00.000Z", true, null, null]);
});

test.after(() => relay.close());
test.run();
