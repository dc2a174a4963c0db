/**
 * Billing months on the clinic's wall clock, worked out by hand, then on a real relay database: a clinic in
 * America/Los_Angeles joins on 30 November local time in the evening (already 1 December in UTC) and a clinic
 * in America/New_York finds its devices on the evening of 30 November local time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { DiscoveredDevice, OutboxEntry } from "../../protocol/sync.ts";
import { RelayError } from "../errors.ts";
import { enrolledAppliance, random, testRelay, type TestRelay } from "../_testing.ts";
import { setDeviceStatus } from "../inventory/devices.ts";
import { ingestInventory } from "../inventory/ingest.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { monthWindow, utcSeconds } from "./month-window.ts";
import { putPlan, putTiers } from "./plans.ts";
import { issueStatement } from "./statements.ts";

test("monthWindow() is local midnight of the 1st to local midnight of the next 1st, daylight saving included", () => {
  // 1 Nov 2026 is the day Los Angeles leaves daylight time (at 02:00): midnight is still PDT (UTC−7), 1 Dec is PST (UTC−8).
  const la = monthWindow("2026-11", "America/Los_Angeles");
  assert.equal([utcSeconds(la.start), utcSeconds(la.end)], ["2026-11-01T07:00:00Z", "2026-12-01T08:00:00Z"]);
  const utc = monthWindow("2026-11", "UTC");
  assert.equal([utcSeconds(utc.start), utcSeconds(utc.end)], ["2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"]);
  // March: PST at the start, PDT after the 8 March change.
  const march = monthWindow("2026-03", "America/Los_Angeles");
  assert.equal([utcSeconds(march.start), utcSeconds(march.end)], ["2026-03-01T08:00:00Z", "2026-04-01T07:00:00Z"]);
  // Auckland is ahead of UTC: its December starts on 30 November in UTC (NZDT, UTC+13).
  assert.is(utcSeconds(monthWindow("2026-12", "Pacific/Auckland").start), "2026-11-30T11:00:00Z");
  assert.throws(() => monthWindow("2026-11", "Nowhere/Land"), (e: unknown) => e instanceof RelayError && e.code === "schema" && /Nowhere\/Land/.test(e.message));
});

/** `count` devices first seen at `seenAt`, all marked monitored, found by a new appliance of `siteId`. */
async function monitoredDevices(relay: TestRelay, siteId: string, count: number, seenAt: string): Promise<void> {
  const a = await enrolledAppliance(relay, undefined, siteId);
  const devices: DiscoveredDevice[] = Array.from({ length: count }, (_, i) => ({
    ip: `10.1.0.${i + 10}`, mac: null, vendor: null, hostname: null, mdns_name: null, netbios_name: null, open_ports: [445], device_type: "workstation", confidence: 20, evidence: ["port 445/tcp open (smb)"],
  }));
  const entry: OutboxEntry = { outbox_seq: 1, type: "inventory", body: { at: seenAt, hosts: [], discovery: { scan_id: `dsc_${siteId.slice(5, 20)}`, trigger: "schedule", order_id: null, subnets: ["10.1.0.0/24"], ports: [445], started_at: seenAt, finished_at: seenAt, complete: true, probed_hosts: 254, excluded_hosts: 0, devices } } };
  await relay.db.transaction((tx) => ingestInventory(tx, { id: a.id, site_id: siteId }, entry));
  for (const r of (await relay.db.execute({ sql: "SELECT id FROM devices WHERE site_id = ?", args: [siteId] })).rows) await setDeviceStatus(relay.db, String(r["id"]), "monitored", "test", relay.clock);
}

test("a Los Angeles clinic joining on the evening of 30 November local time is billed for its November day with its appliance and devices", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const partnerId = (await createPartner(relay.db, { msp_id: relay.mspId, name: "Pacific IT" }, env)).id;
    const redwood = (await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partnerId, name: "Redwood Clinic" }, env)).id;
    const hudson = (await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partnerId, name: "Hudson Clinic" }, env)).id;
    const redwoodSite = (await createSite(relay.db, { org_id: redwood, name: "Main", timezone: "America/Los_Angeles" }, env)).id;
    const hudsonSite = (await createSite(relay.db, { org_id: hudson, name: "Main", timezone: "America/New_York" }, env)).id;

    // Redwood: appliance enrolled at 20:00 PST on 30 Nov (04:00 UTC on 1 Dec), 3 devices found an hour later.
    relay.clock.t = Date.parse("2026-12-01T04:00:00Z");
    await monitoredDevices(relay, redwoodSite, 3, "2026-12-01T05:00:00.000Z");
    // Hudson: appliance enrolled at 20:00 EST on 30 Nov (01:00 UTC on 1 Dec), its 2 devices found at once.
    relay.clock.t = Date.parse("2026-12-01T01:00:00Z");
    await monitoredDevices(relay, hudsonSite, 2, "2026-12-01T01:00:00.000Z");

    await putPlan(relay.db, redwood, { monthly_price_cents: 30000, included_devices: 1, extra_device_cents: 1000, starts_on: "2026-11-30" }, "test", env);
    await putPlan(relay.db, hudson, { monthly_price_cents: 10000, included_devices: 0, extra_device_cents: 500, starts_on: "2026-01-01" }, "test", env);
    await putTiers(relay.db, partnerId, { tiers: [{ min_clinics: 1, share_percent: 20 }] }, "test", env);

    // 23:59:59 PST on 30 Nov: November is over in New York and in UTC, not yet in Los Angeles.
    relay.clock.t = Date.parse("2026-12-01T07:59:59Z");
    const early = await issueStatement(relay.db, partnerId, "2026-11", "admin@msp.test", relay.deps).then(() => null, (e: unknown) => e);
    assert.ok(early instanceof RelayError && early.code === "month_not_ended", String(early));
    assert.match((early as Error).message, /in America\/Los_Angeles it ends 2026-12-01T08:00:00Z/);

    relay.clock.t = Date.parse("2026-12-01T08:00:00Z");
    const s = await issueStatement(relay.db, partnerId, "2026-11", "admin@msp.test", relay.deps);
    // By hand (30-day month, 20 %):
    //   Hudson:  30 days, 1 appliance, 2 devices, 2 extra: base 10000; extras 2 × 500 × 30/30 = 1000; 11000; share 2200.
    //   Redwood:  1 day (30 Nov), 1 appliance, 3 devices, 2 extra: base 30000 × 1/30 = 1000;
    //            extras 2 × 1000 × 1/30 = 66.67 → 67; amount 1067; share 213.4 → 213.
    //   (Counted in UTC, both would show no appliance and no device: Redwood 1000, Hudson 10000.)
    assert.equal(s.lines.map((l) => [l.org_name, l.active_days, l.active_appliances, l.monitored_devices, l.extra_devices, l.base_cents, l.extras_cents, l.amount_cents, l.share_cents]), [
      ["Hudson Clinic", 30, 1, 2, 2, 10000, 1000, 11000, 2200],
      ["Redwood Clinic", 1, 1, 3, 2, 1000, 67, 1067, 213],
    ]);
    assert.equal(s.totals, { amount_cents: 12067, share_cents: 2413, msp_net_cents: 9654 });

    // December: Redwood's whole month, the same appliance and devices (nothing double-counted or lost).
    relay.clock.t = Date.parse("2027-01-01T08:00:00Z");
    const dec = await issueStatement(relay.db, partnerId, "2026-12", "admin@msp.test", relay.deps);
    //   Redwood: 31/31 days: 30000 + 2 × 1000 = 32000, share 6400. Hudson: 10000 + 1000 = 11000, share 2200.
    assert.equal(dec.lines.map((l) => [l.org_name, l.active_days, l.active_appliances, l.monitored_devices, l.amount_cents, l.share_cents]), [
      ["Hudson Clinic", 31, 1, 2, 11000, 2200],
      ["Redwood Clinic", 31, 1, 3, 32000, 6400],
    ]);
  } finally {
    await relay.close();
  }
});

test.run();
