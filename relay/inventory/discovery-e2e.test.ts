/**
 * Discovery end to end: the appliance's scanner finds real listeners on a loopback /29 (a domain controller on
 * .2, a DICOM modality on .3), its report travels as an `inventory` outbox entry in a real push to a relay,
 * is ingested into the site's inventory (the call the push ingest makes for each new inventory entry), and
 * the clinic sees the devices through the API. The relay-side appliance is the suites' simulated one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { outboxEntrySchema, type OutboxEntry } from "../../protocol/sync.ts";
import { ScanScope, Scanner, toReport } from "../../appliance/discovery/index.ts";
import { listen, loopbackNet, type Listeners } from "../../appliance/discovery/_test-responders.ts";
import { asUser, enrolledAppliance, testRelay, userInit } from "../_testing.ts";
import { ingestInventory } from "./ingest.ts";

let listeners: Listeners | null = null;
/** This run's loopback block (127.A.4.0/29, A from the process id). */
const NET = loopbackNet(4);
test.before(async () => {
  listeners = await listen([[`${NET}.2`, 88], [`${NET}.2`, 389], [`${NET}.2`, 445], [`${NET}.3`, 104]]);
});
test.after(async () => {
  await listeners?.close();
});

test("a scan's report is accepted by the relay's push and shows up in the clinic's device list", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const scanner = new Scanner({ scope: new ScanScope([`${NET}.0/29`]), concurrency: 4, ratePerSecond: 500, connectTimeoutMs: 500, livenessProbes: 4 }, { clock: { now: () => Date.now() }, arp: async () => [] });
    const result = await scanner.scan({ ports: [88, 389, 445, 104] });
    const report = toReport(result, "dsc_0123456789abcdef", "schedule", null);
    const entry: OutboxEntry = outboxEntrySchema.parse({ outbox_seq: ++a.outboxSeq, type: "inventory", body: { at: report.finished_at, hosts: [], discovery: report } });

    const res = await a.push([entry]);
    assert.is(res.status, 200, await res.clone().text());
    assert.is(((await res.json()) as { acked_outbox_seq: number }).acked_outbox_seq, entry.outbox_seq);
    await relay.db.transaction((tx) => ingestInventory(tx, { id: a.id, site_id: a.siteId }, entry));

    const list = await relay.app.request(`/api/sites/${relay.siteId}/devices`, userInit(await asUser(relay, "client_viewer")));
    const { devices } = (await list.json()) as { devices: { ip: string; device_type: string; open_ports: number[] }[] };
    const by = new Map(devices.map((d) => [d.ip, d]));
    assert.is(by.get(`${NET}.2`)?.device_type, "domain_controller");
    assert.equal(by.get(`${NET}.2`)?.open_ports, [88, 389, 445]);
    assert.is(by.get(`${NET}.3`)?.device_type, "medical_imaging");
  } finally {
    await relay.close();
  }
});

test.run();
