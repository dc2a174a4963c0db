/**
 * A push feeds the features behind it: an appliance (protocol-built, signing real outbox entries) pushes an
 * escalation, a discovery report and a healing attempt through `POST /api/sync/push` on a relay listening on
 * loopback; the ticket, the devices and the attempt appear through the user APIs and tables. The same batch
 * pushed again (a lost acknowledgement) is acknowledged again and changes nothing.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime, newId } from "../../protocol/ids.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { asUser, count, enrolledAppliance, overHttp, random, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { attemptEntries } from "../learning/_testing.ts";
import { startServer } from "../serve/node.ts";

async function served(): Promise<{ relay: TestRelay; url: string; close(): Promise<void> }> {
  const relay = await testRelay();
  const server = await startServer({ app: relay.app, host: "127.0.0.1", port: 0 });
  return {
    relay,
    url: server.url,
    close: async () => {
      await server.close();
      await relay.close();
    },
  };
}

function discovery(at: string, scanId: string, devices: { ip: string; mac: string; hostname: string }[]): OutboxEntry["body"] {
  return {
    at,
    hosts: [],
    discovery: {
      scan_id: scanId, trigger: "schedule", order_id: null, subnets: ["192.168.1.0/24"], ports: [445], started_at: at, finished_at: at, complete: true, probed_hosts: 254, excluded_hosts: 0,
      devices: devices.map((d) => ({ ...d, vendor: "Dell", mdns_name: null, netbios_name: null, open_ports: [445], device_type: "workstation", confidence: 60, evidence: ["port 445/tcp open (smb)"] })),
    },
  } as OutboxEntry["body"];
}

test("an escalation, a discovery report and a healing attempt pushed over HTTP open one ticket, list the devices and record the attempt; the same batch again changes nothing", async () => {
  const s = await served();
  try {
    const { relay, url } = s;
    const a = await enrolledAppliance(relay, overHttp(url));
    const at = isoTime(relay.clock.now());
    const attempt = await attemptEntries(a, [{ tier: "L3", outcome: "escalated", runbook: null }]);
    const incidentId = attempt.bodies[0]!.incident_id;
    const batch: OutboxEntry[] = [
      ...attempt.entries,
      {
        outbox_seq: ++a.outboxSeq,
        type: "escalation",
        body: { escalation_id: newId("esc", random), incident_id: incidentId, host_id: "ws-01", check: "windows.defender_realtime", severity: "medium", reason: "[failure_budget] real-time protection stayed off", created_at: at, attempts: 3 },
      },
      { outbox_seq: ++a.outboxSeq, type: "inventory", body: discovery(at, "dsc_0000000001", [{ ip: "192.168.1.20", mac: "00:14:22:00:00:20", hostname: "front-desk" }, { ip: "192.168.1.21", mac: "00:14:22:00:00:21", hostname: "exam-1" }]) } as OutboxEntry,
    ];

    const first = await a.push(batch);
    assert.is(first.status, 200, await first.clone().text());
    assert.is(((await first.json()) as { acked_outbox_seq: number }).acked_outbox_seq, batch.length);

    const tech = await asUser(relay, "msp_tech");
    const viewer = await asUser(relay, "client_viewer");
    const tickets = async () => {
      const res = await fetch(`${url}/api/sites/${relay.siteId}/escalations`, userInit(tech));
      assert.is(res.status, 200, await res.clone().text());
      return ((await res.json()) as { escalations: { incident_id: string; check: string; priority: string; source: string; reports: number; status: string }[] }).escalations;
    };
    const devices = async () => {
      const res = await fetch(`${url}/api/sites/${relay.siteId}/devices`, userInit(viewer));
      assert.is(res.status, 200, await res.clone().text());
      return ((await res.json()) as { devices: { ip: string; hostname: string | null }[] }).devices.map((d) => [d.ip, d.hostname]).sort();
    };

    const opened = await tickets();
    assert.equal(
      opened.map((t) => [t.incident_id, t.check, t.priority, t.source, t.reports, t.status]),
      [[incidentId, "windows.defender_realtime", "high", "appliance", 1, "open"]],
      "the appliance's escalation opened a ticket (antivirus: at least high)",
    );
    assert.equal(await devices(), [["192.168.1.20", "front-desk"], ["192.168.1.21", "exam-1"]]);
    assert.is(await count(relay.db, "healing_attempts", "attempt_id = ?", [attempt.bodies[0]!.attempt_id]), 1);
    const events = await count(relay.db, "device_events");
    const deliveries = await count(relay.db, "notification_deliveries");

    // A lost acknowledgement: the appliance sends the same batch again.
    const again = await a.push(batch);
    assert.is(again.status, 200, await again.clone().text());
    assert.equal((await tickets()).map((t) => [t.incident_id, t.reports]), [[incidentId, 1]], "still one ticket, no second report");
    assert.is(await count(relay.db, "escalations"), 1);
    assert.equal(await devices(), [["192.168.1.20", "front-desk"], ["192.168.1.21", "exam-1"]]);
    assert.is(await count(relay.db, "device_events"), events, "no duplicate inventory events");
    assert.is(await count(relay.db, "notification_deliveries"), deliveries, "no second notification");
    assert.is(await count(relay.db, "healing_attempts"), 1);

    // The next report is a new entry: a device found after it is inventoried, the old ones are not repeated.
    const later = isoTime(relay.clock.now() + 60_000);
    const next = await a.push([
      { outbox_seq: ++a.outboxSeq, type: "inventory", body: discovery(later, "dsc_0000000002", [{ ip: "192.168.1.20", mac: "00:14:22:00:00:20", hostname: "front-desk" }, { ip: "192.168.1.21", mac: "00:14:22:00:00:21", hostname: "exam-1" }, { ip: "192.168.1.22", mac: "00:14:22:00:00:22", hostname: "exam-2" }]) } as OutboxEntry,
    ]);
    assert.is(next.status, 200, await next.clone().text());
    assert.equal(await devices(), [["192.168.1.20", "front-desk"], ["192.168.1.21", "exam-1"], ["192.168.1.22", "exam-2"]]);
  } finally {
    await s.close();
  }
});

test("entries after a refused one feed nothing: a gap stops the push before the escalation behind it", async () => {
  const s = await served();
  try {
    const { relay, url } = s;
    const a = await enrolledAppliance(relay, overHttp(url));
    const at = isoTime(relay.clock.now());
    const esc = (seq: number): OutboxEntry => ({
      outbox_seq: seq,
      type: "escalation",
      body: { escalation_id: newId("esc", random), incident_id: newId("inc", random), host_id: "ws-01", check: "appliance.backup_freshness", severity: "medium", reason: "backup failed", created_at: at, attempts: 1 },
    });
    const res = await a.push([esc(1), esc(3)]);
    assert.is(res.status, 409, await res.clone().text());
    assert.is(await count(relay.db, "escalations"), 1, "only the entry before the gap opened a ticket");
  } finally {
    await s.close();
  }
});

test.run();
