/**
 * Test fixture (not shipped behaviour): a partner with four clinics on a real relay database, set up so its
 * November 2026 statement is the one worked out by hand in compute.test.ts — Alder (full month, 13 monitored
 * devices of which 3 extra, 2 appliances), Birch (joins 2026-11-11), Cedar (leaves 2026-11-20), Dogwood
 * (starts in December) — plus a direct clinic of the MSP that belongs to no partner.
 */
import { isoTime } from "../../protocol/ids.ts";
import type { DiscoveredDevice, OutboxEntry } from "../../protocol/sync.ts";
import { enrolledAppliance, random, T0, type TestRelay } from "../_testing.ts";
import { setDeviceStatus } from "../inventory/devices.ts";
import { ingestInventory } from "../inventory/ingest.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { putPlan, putTiers } from "./plans.ts";

export interface BillingFixture {
  partnerId: string;
  orgs: Record<"alder" | "birch" | "cedar" | "dogwood" | "direct", string>;
}

async function monitoredDevices(relay: TestRelay, siteId: string, monitored: number, unmonitored = 0): Promise<void> {
  const a = await enrolledAppliance(relay, undefined, siteId);
  const at = isoTime(T0);
  const devices: DiscoveredDevice[] = Array.from({ length: monitored + unmonitored }, (_, i) => ({
    ip: `10.0.0.${i + 10}`, mac: null, vendor: null, hostname: null, mdns_name: null, netbios_name: null, open_ports: [445], device_type: "workstation", confidence: 20, evidence: ["port 445/tcp open (smb)"],
  }));
  const entry: OutboxEntry = { outbox_seq: 1, type: "inventory", body: { at, hosts: [], discovery: { scan_id: `dsc_${siteId.slice(5, 20)}`, trigger: "schedule", order_id: null, subnets: ["10.0.0.0/24"], ports: [445], started_at: at, finished_at: at, complete: true, probed_hosts: 254, excluded_hosts: 0, devices } } };
  await relay.db.transaction((tx) => ingestInventory(tx, { id: a.id, site_id: siteId }, entry));
  const ids = (await relay.db.execute({ sql: "SELECT id FROM devices WHERE site_id = ? ORDER BY ip", args: [siteId] })).rows.map((r) => String(r["id"]));
  for (const id of ids.slice(0, monitored)) await setDeviceStatus(relay.db, id, "monitored", "fixture", relay.clock);
}

export async function billingFixture(relay: TestRelay): Promise<BillingFixture> {
  const env = { clock: relay.clock, random };
  const partnerId = (await createPartner(relay.db, { msp_id: relay.mspId, name: "Northwind IT" }, env)).id;
  const org = async (name: string, partner: string | null) => (await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner, name }, env)).id;
  const orgs = {
    alder: await org("Alder Family Clinic", partnerId),
    birch: await org("Birch Dental", partnerId),
    cedar: await org("Cedar Pediatrics", partnerId),
    dogwood: await org("Dogwood Clinic", partnerId),
    direct: await org("Direct Clinic", null),
  };
  const site = async (orgId: string) => (await createSite(relay.db, { org_id: orgId, name: "Main" }, env)).id;
  const alderSite = await site(orgs.alder);
  await monitoredDevices(relay, alderSite, 13, 1);
  await enrolledAppliance(relay, undefined, alderSite); // Alder's second appliance
  await monitoredDevices(relay, await site(orgs.birch), 5);
  await monitoredDevices(relay, await site(orgs.cedar), 10);
  await putPlan(relay.db, orgs.alder, { monthly_price_cents: 50000, included_devices: 10, extra_device_cents: 1500, starts_on: "2026-01-01" }, "fixture", env);
  await putPlan(relay.db, orgs.birch, { monthly_price_cents: 30000, included_devices: 5, extra_device_cents: 1000, starts_on: "2026-11-11" }, "fixture", env);
  await putPlan(relay.db, orgs.cedar, { monthly_price_cents: 40000, included_devices: 8, extra_device_cents: 2000, starts_on: "2025-06-01", ends_on: "2026-11-20" }, "fixture", env);
  await putPlan(relay.db, orgs.dogwood, { monthly_price_cents: 99900, included_devices: 0, extra_device_cents: 0, starts_on: "2026-12-01" }, "fixture", env);
  await putPlan(relay.db, orgs.direct, { monthly_price_cents: 12300, included_devices: 0, extra_device_cents: 0, starts_on: "2026-01-01" }, "fixture", env);
  await putTiers(relay.db, partnerId, { tiers: [{ min_clinics: 1, share_percent: 20 }, { min_clinics: 3, share_percent: 25 }] }, "fixture", env);
  return { partnerId, orgs };
}

/** 2026-12-02T09:00:00Z: November is over. */
export const DEC_2 = Date.UTC(2026, 11, 2, 9);
