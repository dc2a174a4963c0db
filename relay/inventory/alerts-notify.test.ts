/**
 * New-device alerts reach people the way escalations do: an appliance pushes discovery reports through
 * `POST /api/sync/push`; devices first seen after the site's learning period raise alerts (at most
 * DEFAULT_ALERTS_PER_DAY a day), which the notification job delivers to real receivers on loopback (a signed
 * webhook, a Slack-compatible webhook, an SMTP server). What they carry is PHI-free: no device address or
 * name (a hostname may name a person), and nothing at all reaches a clinic's inbox.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { vaultFromKeys } from "../credentials/vault.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { asUser, count, enrolledAppliance, random, testRelay, userInit, type TestAppliance, type TestRelay, type TestUser } from "../_testing.ts";
import { startEscalationScheduler } from "../escalations/scheduler.ts";
import { smtpMailer } from "../mail/mailer.ts";
import { httpReceiver, smtpSink, waitFor } from "../notify/_receivers.ts";
import { DEFAULT_ALERTS_PER_DAY } from "./ingest.ts";

const PUBLIC_URL = "https://relay.example.test";
const SECRET = "whsec-inventory-0123456789-test";
const HOUR = 3600_000;

async function addChannel(relay: TestRelay, user: TestUser, body: Record<string, unknown>): Promise<string> {
  const res = await relay.app.request("/api/channels", userInit(user, "POST", body));
  const json = (await res.json()) as { channel_id: string };
  assert.is(res.status, 201, JSON.stringify(json));
  return json.channel_id;
}

interface Dev {
  ip: string;
  mac: string;
  hostname: string;
}

const device = (i: number): Dev => ({ ip: `192.168.1.${100 + i}`, mac: `00:14:22:00:01:${String(i).padStart(2, "0")}`, hostname: `jsmith-laptop-${i}` });

function report(a: TestAppliance, at: number, scanId: string, devices: Dev[]): OutboxEntry {
  const t = isoTime(at);
  return {
    outbox_seq: ++a.outboxSeq,
    type: "inventory",
    body: {
      at: t,
      hosts: [],
      discovery: {
        scan_id: scanId, trigger: "schedule", order_id: null, subnets: ["192.168.1.0/24"], ports: [445], started_at: t, finished_at: t, complete: true, probed_hosts: 254, excluded_hosts: 0,
        devices: devices.map((d) => ({ ...d, vendor: "Dell", mdns_name: `${d.hostname}.local`, netbios_name: d.hostname.toUpperCase(), open_ports: [445], device_type: "workstation", confidence: 60, evidence: ["port 445/tcp open (smb)"] })),
      },
    },
  } as OutboxEntry;
}

test("new devices after the learning period reach staff channels PHI-free, rate-limited, once; the clinic inbox and a high-only channel get nothing", async () => {
  const smtp = await smtpSink();
  const hook = await httpReceiver(SECRET);
  const slack = await httpReceiver(null);
  const pager = await httpReceiver("whsec-pager-0123456789");
  const relay = await testRelay({ publicUrl: PUBLIC_URL });
  relay.deps.vault = await vaultFromKeys([random(32)], random);
  const mailer = smtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: "alerts@relay.example.test" });
  relay.deps.mailer = mailer;
  relay.deps.loopbackHttpNotifications = true; // the receivers are on loopback, over plain http
  const job = startEscalationScheduler(relay.deps, { notify: { fetch }, intervalMs: 3_600_000 });
  try {
    const admin = await asUser(relay, "msp_admin");
    await addChannel(relay, admin, { type: "webhook", name: "PSA", scope: "msp", url: `${hook.url}/osiris`, secret: SECRET });
    await addChannel(relay, admin, { type: "slack", name: "Slack", scope: "site", site_id: relay.siteId, url: `${slack.url}/services/T000/B000/XXXX` });
    await addChannel(relay, admin, { type: "email", name: "NOC", scope: "msp", to: ["noc@msp.example.test"] });
    await addChannel(relay, admin, { type: "email", name: "Clinic inbox", scope: "site", site_id: relay.siteId, audience: "client", to: ["frontdesk@clinic.example.test"] });
    await addChannel(relay, admin, { type: "webhook", name: "Pager", scope: "msp", url: `${pager.url}/page`, secret: "whsec-pager-0123456789", min_priority: "high" });
    const a = await enrolledAppliance(relay);

    // The first report starts the learning period: its devices are the baseline, nothing is alerted.
    const first = await a.push([report(a, relay.clock.now(), "dsc_0000000001", [device(0)])]);
    assert.is(first.status, 200, await first.clone().text());
    await job.tick();
    assert.is(await count(relay.db, "notification_deliveries"), 0, "no alert while the baseline is learnt");

    // A day later seven unknown devices appear at once.
    relay.clock.t += 25 * HOUR;
    const burst = [report(a, relay.clock.now(), "dsc_0000000002", [0, 1, 2, 3, 4, 5, 6, 7].map(device))];
    const second = await a.push(burst);
    assert.is(second.status, 200, await second.clone().text());
    assert.is(await count(relay.db, "inventory_alerts", "state = 'raised'"), DEFAULT_ALERTS_PER_DAY);
    assert.is(await count(relay.db, "inventory_alerts", "state = 'suppressed'"), 7 - DEFAULT_ALERTS_PER_DAY);

    const report1 = await job.tick();
    await waitFor(() => hook.received.length >= DEFAULT_ALERTS_PER_DAY && slack.received.length >= DEFAULT_ALERTS_PER_DAY && smtp.messages.length >= DEFAULT_ALERTS_PER_DAY);
    assert.is(report1?.deliveries.failed, 0);
    assert.is(hook.received.length, DEFAULT_ALERTS_PER_DAY, "one webhook per raised alert, none for the suppressed ones");

    for (const w of hook.received) {
      assert.ok(w.signatureValid, "signed like every webhook");
      assert.is(w.headers["x-osiris-event"], "inventory.new_device");
      const e = w.json as { event: string; alert: { site_id: string; site_name: string; device_type: string; vendor: string }; links: { dashboard: string } };
      assert.equal([e.event, e.alert.site_id, e.alert.site_name, e.alert.device_type, e.alert.vendor], ["inventory.new_device", relay.siteId, "Main Street", "workstation", "Dell"]);
      assert.is(e.links.dashboard, `${PUBLIC_URL}/dashboard/sites/${relay.siteId}/devices`);
    }
    const staffMail = smtp.messages.filter((m) => m.to.includes("noc@msp.example.test"));
    assert.is(staffMail.length, DEFAULT_ALERTS_PER_DAY);
    assert.match(staffMail[0]!.subject, /^\[MEDIUM\] New device on the network at Main Street: workstation \(Dell\)/);
    const clinic = smtp.messages.filter((m) => m.to.includes("frontdesk@clinic.example.test")).map((m) => m.subject);
    assert.equal(clinic, ["Your daily compliance summary"], "a clinic inbox gets its daily digest (the day passed), no device alerts");
    assert.is(pager.received.length, 0, "a channel for high priority and above is not paged for a new device");
    assert.match((slack.received[0]!.json as { text: string }).text, /^\[MEDIUM\] New device on the network at Main Street: workstation \(Dell\) </);

    const everything = [...hook.received.map((r) => r.raw), ...slack.received.map((r) => r.raw), ...smtp.messages.map((m) => `${m.subject}\n${m.text}`)].join("\n");
    for (const d of [0, 1, 2, 3, 4, 5, 6, 7].map(device)) {
      for (const detail of [d.ip, d.mac, d.hostname, d.hostname.toUpperCase()]) assert.not.ok(everything.includes(detail), `a notification carries ${detail}`);
    }

    // The appliance lost the acknowledgement and sends the same report again: nothing new is raised or sent.
    const deliveries = await count(relay.db, "notification_deliveries");
    const again = await a.push(burst);
    assert.is(again.status, 200, await again.clone().text());
    await job.tick();
    assert.is(await count(relay.db, "notification_deliveries"), deliveries);
    assert.is(await count(relay.db, "inventory_alerts"), 7);
    assert.is(hook.received.length, DEFAULT_ALERTS_PER_DAY);
  } finally {
    await job.stop();
    mailer.close();
    await relay.close();
    await Promise.all([smtp.close(), hook.close(), slack.close(), pager.close()]);
  }
});

test.run();
