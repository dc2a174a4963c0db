/** Inventory routes on a real relay (in-process app, real sessions): who may see and steer devices. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { asUser, enrolledAppliance, errorOf, random, testRelay, T0, userInit } from "../_testing.ts";
import { createOrganisation, createSite } from "../tenants/tenants.ts";
import { discoveryExclusions } from "./devices.ts";
import { ingestInventory } from "./ingest.ts";

async function setup() {
  const relay = await testRelay();
  const a = await enrolledAppliance(relay);
  const at = isoTime(T0);
  const entry: OutboxEntry = {
    outbox_seq: 1,
    type: "inventory",
    body: {
      at,
      hosts: [],
      discovery: {
        scan_id: "dsc_0000000001", trigger: "schedule", order_id: null, subnets: ["192.168.1.0/24"], ports: [104, 445], started_at: at, finished_at: at, complete: true, probed_hosts: 254, excluded_hosts: 0,
        devices: [{ ip: "192.168.1.30", mac: "00:14:22:00:00:30", vendor: "Dell", hostname: null, mdns_name: "xray-room.local", netbios_name: null, open_ports: [104], device_type: "medical_imaging", confidence: 70, evidence: ["port 104/tcp open (dicom)"] }],
      },
    },
  };
  await relay.db.transaction((tx) => ingestInventory(tx, { id: a.id, site_id: a.siteId }, entry));
  const other = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Other Clinic" }, { clock: relay.clock, random });
  await createSite(relay.db, { org_id: other.id, name: "Elsewhere" }, { clock: relay.clock, random });
  const deviceId = String((await relay.db.execute("SELECT id FROM devices")).rows[0]!["id"]);
  return { relay, deviceId, otherOrg: other.id };
}

test("the clinic's own users and the MSP see the site's devices; another clinic's user gets 404, partner billing 403", async () => {
  const { relay, otherOrg } = await setup();
  try {
    const path = `/api/sites/${relay.siteId}/devices`;
    for (const role of ["client_viewer", "msp_tech"] as const) {
      const res = await relay.app.request(path, userInit(await asUser(relay, role)));
      assert.is(res.status, 200, role);
      const body = (await res.json()) as { devices: { ip: string; device_type: string; status: string }[]; learning_until: string };
      assert.equal(body.devices.map((d) => [d.ip, d.device_type, d.status]), [["192.168.1.30", "medical_imaging", "discovered"]]);
      assert.is(body.learning_until, isoTime(T0 + 24 * 3600_000));
    }
    const stranger = await relay.app.request(path, userInit(await asUser(relay, "client_viewer", { org_id: otherOrg })));
    assert.is(stranger.status, 404);
    const billing = await relay.app.request(path, userInit(await asUser(relay, "partner_billing")));
    assert.is(billing.status, 403);
    const bad = await relay.app.request(`${path}?status=broken`, userInit(await asUser(relay, "msp_tech")));
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /^status: expected "discovered" \| "monitored" \| "excluded" \| "medical"/);
  } finally {
    await relay.close();
  }
});

test("an MSP technician excludes a device: audited, and the site's exclusion list carries it", async () => {
  const { relay, deviceId } = await setup();
  try {
    const tech = await asUser(relay, "msp_tech");
    const res = await relay.app.request(`/api/devices/${deviceId}`, userInit(tech, "PUT", { status: "excluded" }));
    assert.is(res.status, 200);
    const d = (await res.json()) as { status: string; status_changed_by: string };
    assert.is(d.status, "excluded");
    assert.is(d.status_changed_by, tech.email);
    const audit = (await relay.db.execute("SELECT action, target, site_id, details FROM audit_log WHERE action = 'device.status.update'")).rows;
    assert.is(audit.length, 1);
    assert.is(audit[0]!["target"], deviceId);
    assert.is(audit[0]!["site_id"], relay.siteId);
    assert.equal(JSON.parse(String(audit[0]!["details"])), { from: "discovered", to: "excluded", ip: "192.168.1.30" });
    assert.equal(await discoveryExclusions(relay.db, relay.siteId), ["192.168.1.30", "00:14:22:00:00:30"]);
  } finally {
    await relay.close();
  }
});

test("clients may not change devices, a bad status is refused and changes nothing, another tenant's device is 404", async () => {
  const { relay, deviceId } = await setup();
  try {
    const owner = await relay.app.request(`/api/devices/${deviceId}`, userInit(await asUser(relay, "client_owner"), "PUT", { status: "excluded" }));
    assert.is(owner.status, 403);
    const tech = await asUser(relay, "msp_tech");
    const bad = await relay.app.request(`/api/devices/${deviceId}`, userInit(tech, "PUT", { status: "ignored" }));
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /status/);
    assert.is((await relay.db.execute("SELECT status FROM devices")).rows[0]!["status"], "discovered");
    const partnerOfOther = await asUser(relay, "partner_tech");
    const foreign = await relay.app.request(`/api/devices/${deviceId}`, userInit(partnerOfOther, "PUT", { status: "monitored" }));
    assert.is(foreign.status, 404, "a partner that does not serve this clinic cannot even tell the device exists");
  } finally {
    await relay.close();
  }
});

test("events and alerts of a site are listed for its viewers", async () => {
  const { relay } = await setup();
  try {
    const res = await relay.app.request(`/api/sites/${relay.siteId}/device-events`, userInit(await asUser(relay, "client_owner")));
    assert.is(res.status, 200);
    const body = (await res.json()) as { events: { kind: string }[]; alerts: unknown[] };
    assert.equal(body.events.map((e) => e.kind), ["new_device"]);
    assert.equal(body.alerts, [], "the first report falls in the learning period");
  } finally {
    await relay.close();
  }
});

test.run();
