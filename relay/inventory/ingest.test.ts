/**
 * Inventory ingest on a real relay database: discovery reports applied in order, as the push ingest will
 * apply each newly stored `inventory` entry (inside its transaction).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { outboxEntrySchema, type DiscoveredDevice, type DiscoveryReport, type OutboxEntry } from "../../protocol/sync.ts";
import { count, enrolledAppliance, testRelay, T0, type TestRelay } from "../_testing.ts";
import { discoveryExclusions, listDeviceEvents, listDevices, setDeviceStatus } from "./devices.ts";
import { ingestInventory, type InventoryOptions } from "./ingest.ts";

const H = 3600_000;

const dev = (ip: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  ip,
  mac: null,
  vendor: null,
  hostname: null,
  mdns_name: null,
  netbios_name: null,
  open_ports: [],
  device_type: "unknown",
  confidence: 0,
  evidence: ["no open ports or names matched a device type"],
  ...over,
});

const DC = (over: Partial<DiscoveredDevice> = {}) => dev("192.168.1.10", { mac: "00:15:5d:00:00:10", open_ports: [88, 389, 445], device_type: "domain_controller", confidence: 58, evidence: ["port 88/tcp open (kerberos)"], netbios_name: "DC01", ...over });
const XRAY = (over: Partial<DiscoveredDevice> = {}) => dev("192.168.1.30", { mac: "00:14:22:00:00:30", open_ports: [104], device_type: "medical_imaging", confidence: 70, evidence: ["port 104/tcp open (dicom)"], ...over });

let scanNo = 0;
function report(at: number, devices: DiscoveredDevice[], over: Partial<DiscoveryReport> = {}): DiscoveryReport {
  scanNo++;
  return { scan_id: `dsc_${String(scanNo).padStart(10, "0")}`, trigger: "schedule", order_id: null, subnets: ["192.168.1.0/24"], ports: [88, 104, 389, 445, 3389, 9100], started_at: isoTime(at - 60_000), finished_at: isoTime(at), complete: true, probed_hosts: 254, excluded_hosts: 0, devices, ...over };
}

async function apply(relay: TestRelay, appliance: { id: string; site_id: string }, r: DiscoveryReport, opts?: InventoryOptions) {
  const entry: OutboxEntry = outboxEntrySchema.parse({ outbox_seq: scanNo, type: "inventory", body: { at: r.finished_at, hosts: [], discovery: r } });
  return relay.db.transaction((tx) => ingestInventory(tx, appliance, entry, opts));
}

async function setup() {
  const relay = await testRelay();
  const a = await enrolledAppliance(relay);
  return { relay, app: { id: a.id, site_id: a.siteId } };
}

test("the first report stores every device with first/last seen and one new_device event each", async () => {
  const { relay, app } = await setup();
  try {
    const out = await apply(relay, app, report(T0, [DC(), XRAY()]));
    assert.equal(out, { devices: 2, new_devices: 2, gone: 0, events: 2, alerts_raised: 0, alerts_suppressed: 0 });
    const { devices, learning_until } = await listDevices(relay.db, app.site_id);
    assert.equal(devices.map((d) => [d.ip, d.device_type, d.status, d.first_seen, d.last_seen]), [
      ["192.168.1.10", "domain_controller", "discovered", isoTime(T0), isoTime(T0)],
      ["192.168.1.30", "medical_imaging", "discovered", isoTime(T0), isoTime(T0)],
    ]);
    assert.is(learning_until, isoTime(T0 + 24 * H), "learning lasts 24 h from the first report");
    const { events } = await listDeviceEvents(relay.db, app.site_id);
    assert.equal(events.map((e) => e.kind).sort(), ["new_device", "new_device"]);
  } finally {
    await relay.close();
  }
});

test("later reports move last seen, and record a new open port, a closed one, a device gone and one returning", async () => {
  const { relay, app } = await setup();
  try {
    await apply(relay, app, report(T0, [DC(), XRAY()]));
    // Next night: the DC opened RDP and closed LDAP; the X-ray machine is off.
    const out = await apply(relay, app, report(T0 + 24 * H, [DC({ open_ports: [88, 445, 3389] })]));
    assert.is(out.gone, 1);
    const { events } = await listDeviceEvents(relay.db, app.site_id);
    const kinds = events.map((e) => `${e.kind}${e.details["port"] ? `:${e.details["port"]}` : ""}`).sort();
    assert.equal(kinds, ["device_gone", "new_device", "new_device", "port_closed:389", "port_opened:3389"]);
    assert.equal(events.find((e) => e.kind === "port_opened")?.details, { port: 3389, service: "rdp" });
    const all = await listDevices(relay.db, app.site_id, { includeGone: true });
    const xray = all.devices.find((d) => d.ip === "192.168.1.30")!;
    assert.is(xray.gone_at, isoTime(T0 + 24 * H));
    assert.is(xray.last_seen, isoTime(T0));
    assert.equal((await listDevices(relay.db, app.site_id)).devices.map((d) => d.ip), ["192.168.1.10"], "gone devices are hidden by default");
    // It comes back (at a new address: matched by MAC, same device).
    await apply(relay, app, report(T0 + 48 * H, [DC({ open_ports: [88, 445, 3389] }), XRAY({ ip: "192.168.1.31" })]));
    const back = (await listDevices(relay.db, app.site_id)).devices.find((d) => d.mac === "00:14:22:00:00:30")!;
    assert.is(back.id, xray.id);
    assert.is(back.ip, "192.168.1.31");
    assert.is(back.gone_at, null);
    assert.is(back.first_seen, isoTime(T0));
    assert.ok((await listDeviceEvents(relay.db, app.site_id)).events.some((e) => e.kind === "device_returned" && e.device_id === xray.id));
  } finally {
    await relay.close();
  }
});

test("an incomplete scan, a device outside the scanned subnets and an excluded device are never marked gone", async () => {
  const { relay, app } = await setup();
  try {
    await apply(relay, app, report(T0, [DC(), XRAY(), dev("10.9.0.5", { mac: "00:00:0c:00:00:05" })], { subnets: ["192.168.1.0/24", "10.9.0.0/24"] }));
    const xray = (await listDevices(relay.db, app.site_id)).devices.find((d) => d.ip === "192.168.1.30")!;
    await setDeviceStatus(relay.db, xray.id, "excluded", "tech@example.test", relay.clock);
    assert.is((await apply(relay, app, report(T0 + H, [], { complete: false }))).gone, 0, "an aborted scan proves nothing");
    const out = await apply(relay, app, report(T0 + 2 * H, [DC()], { subnets: ["192.168.1.0/24"] }));
    assert.is(out.gone, 0, "the excluded X-ray and the 10.9.0.5 device outside this scan stay");
    assert.is((await listDevices(relay.db, app.site_id)).devices.length, 3);
  } finally {
    await relay.close();
  }
});

test("new devices are alerted only after the learning period, at most 5 raised per site per day, the rest suppressed", async () => {
  const { relay, app } = await setup();
  try {
    await apply(relay, app, report(T0, [DC()]));
    // Within the first 24 h: a new device is learnt, not alerted.
    let out = await apply(relay, app, report(T0 + 23 * H, [DC(), dev("192.168.1.50")]));
    assert.is(out.alerts_raised, 0);
    // After it: seven new devices at once → 5 raised, 2 suppressed.
    const newcomers = Array.from({ length: 7 }, (_, i) => dev(`192.168.1.${100 + i}`, { mac: `02:00:00:00:00:${String(10 + i)}`, hostname: i === 0 ? "unknown-laptop.clinic.lan" : null }));
    out = await apply(relay, app, report(T0 + 25 * H, [DC(), dev("192.168.1.50"), ...newcomers]));
    assert.equal([out.alerts_raised, out.alerts_suppressed], [5, 2]);
    const { alerts } = await listDeviceEvents(relay.db, app.site_id);
    assert.ok(alerts.some((a) => a.message === "New device on the network: unknown-laptop.clinic.lan (192.168.1.100), looks like: unknown device"), alerts.map((a) => a.message).join("\n"));
    // Later the same day: the limit still holds; the next day it resets.
    out = await apply(relay, app, report(T0 + 30 * H, [dev("192.168.1.200", { mac: "02:00:00:00:01:00" })]));
    assert.equal([out.alerts_raised, out.alerts_suppressed], [0, 1]);
    out = await apply(relay, app, report(T0 + 50 * H, [dev("192.168.1.201", { mac: "02:00:00:00:01:01" })]));
    assert.equal([out.alerts_raised, out.alerts_suppressed], [1, 0]);
    assert.is(await count(relay.db, "inventory_alerts", "site_id = ?", [app.site_id]), 9);
  } finally {
    await relay.close();
  }
});

test("the learning period and the alert limit are options", async () => {
  const { relay, app } = await setup();
  try {
    // No learning period: even the first report alerts; one alert a day.
    const first = await apply(relay, app, report(T0, [DC()]), { learningMs: 0, alertsPerDay: 1 });
    assert.equal([first.alerts_raised, first.alerts_suppressed], [1, 0]);
    const out = await apply(relay, app, report(T0 + H, [DC(), XRAY(), dev("192.168.1.77")]), { learningMs: 0, alertsPerDay: 1 });
    assert.equal([out.alerts_raised, out.alerts_suppressed], [0, 2]);
  } finally {
    await relay.close();
  }
});

test("excluded devices give the site's exclusion list: their addresses and MACs", async () => {
  const { relay, app } = await setup();
  try {
    await apply(relay, app, report(T0, [DC(), XRAY(), dev("192.168.1.60")]));
    const ds = (await listDevices(relay.db, app.site_id)).devices;
    assert.equal(await discoveryExclusions(relay.db, app.site_id), []);
    await setDeviceStatus(relay.db, ds.find((d) => d.ip === "192.168.1.30")!.id, "excluded", "a", relay.clock);
    await setDeviceStatus(relay.db, ds.find((d) => d.ip === "192.168.1.60")!.id, "excluded", "a", relay.clock);
    await setDeviceStatus(relay.db, ds.find((d) => d.ip === "192.168.1.10")!.id, "medical", "a", relay.clock);
    assert.equal(await discoveryExclusions(relay.db, app.site_id), ["192.168.1.30", "00:14:22:00:00:30", "192.168.1.60"]);
  } finally {
    await relay.close();
  }
});

test("device events are append-only", async () => {
  const { relay, app } = await setup();
  try {
    await apply(relay, app, report(T0, [DC()]));
    const err = await relay.db.execute("DELETE FROM device_events").then(() => null, (e: Error) => e.message);
    assert.match(String(err), /append-only/);
  } finally {
    await relay.close();
  }
});

test("an inventory entry without a discovery report (a managed-host list) changes nothing", async () => {
  const { relay, app } = await setup();
  try {
    const entry: OutboxEntry = { outbox_seq: 1, type: "inventory", body: { at: isoTime(T0), hosts: [] } };
    const out = await relay.db.transaction((tx) => ingestInventory(tx, app, entry));
    assert.is(out.devices, 0);
    assert.is(await count(relay.db, "devices"), 0);
  } finally {
    await relay.close();
  }
});

test.run();
