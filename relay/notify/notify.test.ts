/**
 * Notifications against real receivers on loopback: an SMTP server (smtp-server), HTTP receivers that check
 * the webhook HMAC, and a real rsyslog over UDP and TCP. The relay is real (libSQL file, routes, scheduler).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { vaultFromKeys } from "../credentials/vault.ts";
import { startRsyslog } from "../../node/syslog/_rsyslog.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { asUser, count, enrolledAppliance, random, testRelay, userInit, type TestAppliance, type TestRelay, type TestUser } from "../_testing.ts";
import { ingestEscalation } from "../escalations/escalations.ts";
import { startEscalationScheduler, type EscalationScheduler } from "../escalations/scheduler.ts";
import { smtpMailer } from "../mail/mailer.ts";
import { DELIVERY_POLICY } from "./deliver.ts";
import { httpReceiver, smtpSink, waitFor } from "./_receivers.ts";

const PUBLIC_URL = "https://relay.example.test";
const SECRET = "whsec-0123456789abcdef-test";

/** A test relay with a credential vault (webhook and Slack secrets are sealed with it). */
async function vaultedRelay(opts: Parameters<typeof testRelay>[0] = {}): Promise<TestRelay> {
  const relay = await testRelay(opts);
  relay.deps.vault = await vaultFromKeys([random(32)], random);
  relay.deps.loopbackHttpNotifications = true; // the receivers here are on loopback, over plain http
  return relay;
}

async function escalate(relay: TestRelay, app: TestAppliance, over: Record<string, unknown> = {}): Promise<string> {
  const entry = {
    outbox_seq: 1,
    type: "escalation" as const,
    body: {
      escalation_id: newId("esc", random),
      incident_id: newId("inc", random),
      host_id: "frontdesk-pc",
      check: "linux.failed_services",
      severity: "high" as const,
      reason: "[l2_offline] no L1 rule matched; patient SSN 123-45-6789 in a unit description",
      created_at: isoTime(relay.clock.now()),
      attempts: 1,
      ...over,
    },
  };
  const r = await relay.db.transaction((tx) => ingestEscalation(tx, { id: app.id, site_id: app.siteId }, entry, relay.deps));
  return r.escalation_id;
}

async function addChannel(relay: TestRelay, user: TestUser, body: Record<string, unknown>): Promise<string> {
  const res = await relay.app.request("/api/channels", userInit(user, "POST", body));
  const json = (await res.json()) as { channel_id: string };
  assert.is(res.status, 201, JSON.stringify(json));
  return json.channel_id;
}

function scheduler(relay: TestRelay): EscalationScheduler {
  // A long interval: the tests drive ticks themselves (the first automatic tick runs at start).
  return startEscalationScheduler(relay.deps, { notify: { fetch }, intervalMs: 3_600_000 });
}

test("a new escalation reaches every channel covering the site: staff e-mail, a PHI-free clinic e-mail, signed webhook, Slack, and syslog over UDP and TCP; staff channels name the host as it reported itself, with its id", async () => {
  const smtp = await smtpSink();
  const hook = await httpReceiver(SECRET);
  const slack = await httpReceiver(null);
  const rsyslog = await startRsyslog({ udp: true });
  const relay = await vaultedRelay({ publicUrl: PUBLIC_URL });
  const mailer = smtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: "alerts@relay.example.test" });
  relay.deps.mailer = mailer;
  let job: EscalationScheduler | null = null;
  try {
    const admin = await asUser(relay, "msp_admin");
    const app = await enrolledAppliance(relay);
    await addChannel(relay, admin, { type: "email", name: "NOC", scope: "msp", to: ["noc@msp.example.test"] });
    await addChannel(relay, admin, { type: "email", name: "Clinic inbox", scope: "site", site_id: relay.siteId, audience: "client", to: ["frontdesk@clinic.example.test"] });
    await addChannel(relay, admin, { type: "webhook", name: "PSA", scope: "msp", url: `${hook.url}/osiris`, secret: SECRET });
    await addChannel(relay, admin, { type: "slack", name: "Slack", scope: "site", site_id: relay.siteId, url: `${slack.url}/services/T000/B000/XXXX` });
    await addChannel(relay, admin, { type: "syslog", name: "SIEM udp", scope: "msp", host: "127.0.0.1", port: rsyslog.ports.udp, transport: "udp", facility: "local3" });
    await addChannel(relay, admin, { type: "syslog", name: "SIEM tcp", scope: "msp", host: "127.0.0.1", port: rsyslog.ports.tcp, transport: "tcp" });

    // The name the appliance reported for the host (its inventory), as escalation tickets show it.
    await relay.db.execute({
      sql: "INSERT INTO site_hosts (site_id, host_id, appliance_id, hostname, platform, os_version, reachable, seen_at) VALUES (?, 'frontdesk-pc', ?, 'FRONT-DESK-PC', 'linux', NULL, 1, ?)",
      args: [relay.siteId, app.id, isoTime(relay.clock.now())],
    });
    const id = await escalate(relay, app);
    job = scheduler(relay);
    const report = await job.tick();
    await waitFor(() => smtp.messages.length >= 2 && hook.received.length >= 1 && slack.received.length >= 1);
    assert.is(report?.deliveries.failed, 0);

    const staff = smtp.messages.find((m) => m.to.includes("noc@msp.example.test"))!;
    assert.is(staff.subject, "[HIGH] Escalation opened at Main Street: Not met: No background programs have crashed — FRONT-DESK-PC");
    assert.match(staff.text, /Host:\s+FRONT-DESK-PC \(id frontdesk-pc\)/);
    assert.match(staff.text, new RegExp(`${PUBLIC_URL}/dashboard/escalations/${id}`));

    const client = smtp.messages.find((m) => m.to.includes("frontdesk@clinic.example.test"))!;
    assert.match(client.text, new RegExp(`${PUBLIC_URL.replace(/\./g, "\\.")}/portal`), "points to the portal");
    for (const detail of ["Main Street", "Test Clinic", "frontdesk-pc", "FRONT-DESK-PC", "linux.failed_services", "background programs", "123-45-6789", id]) {
      assert.not.ok(client.subject.includes(detail) || client.text.includes(detail), `the clinic e-mail carries ${detail}`);
    }

    const w = hook.received[0]!;
    assert.ok(w.signatureValid, "the HMAC over the raw body matches the channel secret");
    assert.is(w.path, "/osiris");
    assert.is(w.headers["x-osiris-event"], "escalation.opened");
    const event = w.json as { event: string; delivery_id: string; escalation: { id: string; priority: string; reason: string; title: string; host_id: string; host_name: string }; links: { dashboard: string } };
    assert.is(event.escalation.id, id);
    assert.equal([event.escalation.title, event.escalation.host_name, event.escalation.host_id], ["Not met: No background programs have crashed — FRONT-DESK-PC", "FRONT-DESK-PC", "frontdesk-pc"]);
    assert.is(event.escalation.priority, "high");
    assert.is(w.headers["x-osiris-delivery"], event.delivery_id);
    assert.match(event.escalation.reason, /\[REDACTED:ssn\]/, "the appliance's reason was scrubbed again");

    assert.match((slack.received[0]!.json as { text: string }).text, /^\[HIGH\] Escalation opened at Main Street: Not met: No background programs have crashed — FRONT-DESK-PC \(host id frontdesk-pc\): /);

    const syslog = await rsyslog.received(2);
    assert.equal(syslog.map((m) => m.input).sort(), ["imtcp", "imudp"]);
    for (const m of syslog) {
      assert.is(m.app, "osiris-relay");
      assert.is(m.msgid, "escalation.opened");
      assert.match(m.sd, new RegExp(`escalation="${id}"`));
      assert.match(m.msg, /Escalation opened at Main Street: Not met: No background programs have crashed — FRONT-DESK-PC: /);
      assert.not.match(m.raw, /123-45-6789/);
    }
    assert.is(syslog.find((m) => m.input === "imudp")!.pri, String(19 * 8 + 3), "local3.err for a high-priority ticket");

    assert.is(await count(relay.db, "notification_deliveries", "status = 'sent'"), 6);
    // A second tick sends nothing again.
    await job.tick();
    assert.is(hook.received.length, 1);
  } finally {
    await job?.stop();
    mailer.close();
    await relay.close();
    await Promise.all([smtp.close(), hook.close(), slack.close(), rsyslog.stop()]);
  }
});

test("a failing webhook is retried with backoff until it answers, a 4xx is final, and the delivery log says so without secrets", async () => {
  const flaky = await httpReceiver(SECRET, (i) => (i < 2 ? 503 : 200));
  const gone = await httpReceiver(SECRET, () => 410);
  const relay = await vaultedRelay();
  let job: EscalationScheduler | null = null;
  try {
    const admin = await asUser(relay, "msp_admin");
    const app = await enrolledAppliance(relay);
    const flakyId = await addChannel(relay, admin, { type: "webhook", name: "flaky", scope: "msp", url: `${flaky.url}/hook?token=url-secret-42`, secret: SECRET });
    const goneId = await addChannel(relay, admin, { type: "webhook", name: "gone", scope: "msp", url: gone.url, secret: SECRET });
    await escalate(relay, app);
    job = scheduler(relay);
    await job.tick();
    assert.is(flaky.received.length, 1);
    assert.is(gone.received.length, 1);
    await job.tick();
    assert.is(flaky.received.length, 1, "not before the backoff has passed");
    relay.clock.t += DELIVERY_POLICY.baseDelayMs;
    await job.tick();
    assert.is(flaky.received.length, 2, "second attempt after the first backoff");
    relay.clock.t += 2 * DELIVERY_POLICY.baseDelayMs;
    await job.tick();
    assert.is(flaky.received.length, 3);
    assert.is(gone.received.length, 1, "a 410 is not retried");
    assert.ok(flaky.received.every((r) => r.signatureValid));
    assert.equal(new Set(flaky.received.map((r) => r.headers["x-osiris-delivery"])).size, 1, "one delivery id across attempts");

    const log = async (id: string) => ((await (await relay.app.request(`/api/channels/${id}/deliveries`, userInit(admin))).json()) as { deliveries: { status: string; attempts: number; last_error: string | null; last_status: number | null }[] }).deliveries;
    assert.equal((await log(flakyId)).map((d) => [d.status, d.attempts, d.last_status]), [["sent", 3, 200]]);
    assert.equal((await log(goneId)).map((d) => [d.status, d.attempts, d.last_error]), [["failed", 1, "the receiver answered HTTP 410"]]);
    const listed = JSON.stringify(await (await relay.app.request("/api/channels", userInit(admin))).json());
    for (const secret of [SECRET, "url-secret-42"]) assert.not.ok(listed.includes(secret), `the channel list shows ${secret}`);
    const audit = JSON.stringify((await relay.db.execute("SELECT details FROM audit_log WHERE action = 'channel.create'")).rows);
    assert.not.ok(audit.includes(SECRET) || audit.includes("url-secret-42"), "the audit log holds no secret");
  } finally {
    await job?.stop();
    await relay.close();
    await flaky.close();
    await gone.close();
  }
});

test("an unreachable webhook gives up after the last attempt, and plain http to a non-loopback host is refused when the channel is added", async () => {
  const relay = await vaultedRelay();
  let job: EscalationScheduler | null = null;
  try {
    const admin = await asUser(relay, "msp_admin");
    const insecure = await relay.app.request("/api/channels", userInit(admin, "POST", { type: "webhook", name: "x", scope: "msp", url: "http://hooks.example.com/x", secret: SECRET }));
    assert.is(insecure.status, 400);
    const app = await enrolledAppliance(relay);
    const dead = await httpReceiver(SECRET);
    const url = dead.url;
    await dead.close(); // nothing listens there any more
    await addChannel(relay, admin, { type: "webhook", name: "dead", scope: "msp", url, secret: SECRET });
    await escalate(relay, app);
    job = scheduler(relay);
    for (let i = 0; i < DELIVERY_POLICY.maxAttempts + 2; i++) {
      await job.tick();
      relay.clock.t += DELIVERY_POLICY.maxDelayMs;
    }
    const rows = await relay.db.execute("SELECT status, attempts, last_error FROM notification_deliveries");
    assert.equal([rows.rows[0]!["status"], rows.rows[0]!["attempts"]], ["failed", DELIVERY_POLICY.maxAttempts]);
    assert.match(String(rows.rows[0]!["last_error"]), /ECONNREFUSED|fetch failed/);
  } finally {
    await job?.stop();
    await relay.close();
  }
});

test("a loopback http channel added while the relay allowed it is refused at send once the relay no longer does: nothing reaches the receiver", async () => {
  const relay = await vaultedRelay();
  const hook = await httpReceiver(SECRET);
  let job: EscalationScheduler | null = null;
  try {
    const admin = await asUser(relay, "msp_admin");
    await addChannel(relay, admin, { type: "webhook", name: "local", scope: "msp", url: `${hook.url}/osiris`, secret: SECRET });
    relay.deps.loopbackHttpNotifications = false; // restarted without --allow-loopback-http-notifications
    await escalate(relay, await enrolledAppliance(relay));
    job = scheduler(relay);
    await job.tick();
    const rows = await relay.db.execute("SELECT status, last_error FROM notification_deliveries");
    assert.equal(rows.rows.map((r) => [r["status"], r["last_error"]]), [["failed", "refused to send: the channel URL must use https: plain http to loopback is allowed only when the relay is started with --allow-loopback-http-notifications"]]);
    assert.is(hook.received.length, 0);
  } finally {
    await job?.stop();
    await hook.close();
    await relay.close();
  }
});

test.run();
