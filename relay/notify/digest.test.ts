import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime, newId } from "../../protocol/ids.ts";
import { asUser, enrolledAppliance, random, testRelay, userInit } from "../_testing.ts";
import { ingestEscalation } from "../escalations/escalations.ts";
import { startEscalationScheduler } from "../escalations/scheduler.ts";
import { smtpMailer } from "../mail/mailer.ts";
import { dueDigestKey } from "./digest.ts";
import { smtpSink, waitFor } from "./_receivers.ts";

const HOUR = 60 * 60_000;

test("dueDigestKey() is due from 07:00 local each day (each Monday for weekly), keyed by the local date", () => {
  // 2026-11-27 is a Friday; 12:00Z is 06:00 in Chicago (UTC-6 in November).
  const t = Date.UTC(2026, 10, 27, 12, 0);
  assert.is(dueDigestKey("daily", t, "America/Chicago"), null);
  assert.is(dueDigestKey("daily", t + HOUR, "America/Chicago"), "digest:daily:2026-11-27");
  assert.is(dueDigestKey("daily", t, "Europe/Berlin"), "digest:daily:2026-11-27");
  assert.is(dueDigestKey("weekly", t + HOUR, "America/Chicago"), "digest:weekly:2026-11-23", "the week's Monday");
  const monday6am = Date.UTC(2026, 10, 30, 12, 0);
  assert.is(dueDigestKey("weekly", monday6am, "America/Chicago"), null, "not before 07:00 on Monday");
  assert.is(dueDigestKey("weekly", monday6am + HOUR, "America/Chicago"), "digest:weekly:2026-11-30");
});

test("the clinic gets one PHI-free digest a day by real SMTP: counts by plain category, a portal link, no clinic, host or check", async () => {
  const smtp = await smtpSink();
  const relay = await testRelay({ publicUrl: "https://relay.example.test" });
  const mailer = smtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: "alerts@relay.example.test" });
  relay.deps.mailer = mailer;
  const job = startEscalationScheduler(relay.deps, { notify: { fetch }, intervalMs: 3_600_000 });
  try {
    const admin = await asUser(relay, "msp_admin");
    const created = await relay.app.request("/api/channels", userInit(admin, "POST", { type: "email", name: "Clinic", scope: "site", site_id: relay.siteId, audience: "client", to: ["office@clinic.example.test"] }));
    assert.is(created.status, 201);
    const app = await enrolledAppliance(relay);
    const escalate = (check: string, host: string) =>
      relay.db.transaction((tx) =>
        ingestEscalation(tx, { id: app.id, site_id: app.siteId }, {
          outbox_seq: 1,
          type: "escalation",
          body: { escalation_id: newId("esc", random), incident_id: newId("inc", random), host_id: host, check, severity: "medium", reason: `${check} failed on ${host}`, created_at: isoTime(relay.clock.now()), attempts: 1 },
        }, relay.deps),
      );
    await escalate("appliance.backup_freshness", "dr-patel-laptop");
    await escalate("linux.failed_services", "reception-pc");
    // Two problems the appliance fixed itself, synced as evidence.
    const fixes = await app.makeBundles(2, { kind: "remediation", outcome: "success", check: "linux.failed_services", host_id: "reception-pc" });
    assert.is((await app.push(app.entries(fixes))).status, 200);

    await job.tick(); // 06:00 in Chicago: the two new-ticket notices go out, no digest yet
    await waitFor(() => smtp.messages.length >= 2);
    const notices = smtp.messages.length;
    relay.clock.t += HOUR;
    await job.tick();
    await waitFor(() => smtp.messages.length > notices);
    const digest = smtp.messages.at(-1)!;
    assert.is(digest.subject, "Your daily compliance summary");
    assert.match(digest.text, /Problems fixed automatically: 2/);
    assert.match(digest.text, /Issues handed to your IT provider: 2/);
    assert.match(digest.text, /Issues still open: 2/);
    assert.match(digest.text, /- Backups: 1/);
    assert.match(digest.text, /- System health: 1/);
    assert.match(digest.text, /https:\/\/relay\.example\.test\/portal/);
    for (const detail of ["Test Clinic", "Main Street", "dr-patel-laptop", "reception-pc", "linux.failed_services", "backup_freshness", "Patel"]) {
      assert.not.ok(digest.text.includes(detail) || digest.subject.includes(detail), `the digest carries ${detail}`);
    }
    await job.tick();
    relay.clock.t += 3 * HOUR;
    await job.tick();
    await new Promise((r) => setTimeout(r, 200));
    assert.is(smtp.messages.length, notices + 1, "one digest per day");
    relay.clock.t += 24 * HOUR;
    await job.tick();
    await waitFor(() => smtp.messages.length === notices + 2);
    const next = smtp.messages.at(-1)!.text;
    assert.match(next, /Issues still open: 2/);
    assert.match(next, /Nothing changed in the last day\./);
  } finally {
    await job.stop();
    mailer.close();
    await relay.close();
    await smtp.close();
  }
});

test.run();
