import { test } from "uvu";
import * as assert from "uvu/assert";
import { vaultFromKeys } from "../credentials/vault.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { asUser, count, enrolledAppliance, random, testRelay, userInit, type TestAppliance, type TestRelay } from "../_testing.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { createMsp } from "../tenants/tenants.ts";
import { httpReceiver } from "../notify/_receivers.ts";
import { CLEARED_BY, ingestEscalation } from "./escalations.ts";
import { incident } from "../sites/_fixtures.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { MAX_RENOTIFY_PER_SLA, priorityOf, SLA } from "./priority.ts";
import { startEscalationScheduler, takeLease } from "./scheduler.ts";
import { slaStep } from "./sla-step.ts";

const HOUR = 60 * 60_000;

/** A test relay with a credential vault (webhook and Slack secrets are sealed with it). */
async function vaultedRelay(opts: Parameters<typeof testRelay>[0] = {}): Promise<TestRelay> {
  const relay = await testRelay(opts);
  relay.deps.vault = await vaultFromKeys([random(32)], random);
  return relay;
}

function entry(relay: TestRelay, over: Record<string, unknown> = {}) {
  return {
    outbox_seq: 1,
    type: "escalation" as const,
    body: {
      escalation_id: newId("esc", random),
      incident_id: newId("inc", random),
      host_id: "ws01",
      check: "appliance.backup_freshness",
      severity: "medium" as const,
      reason: "[failure_budget] backup job failed 3 times",
      created_at: isoTime(relay.clock.now()),
      attempts: 3,
      ...over,
    },
  };
}

const ingest = (relay: TestRelay, app: TestAppliance, e: ReturnType<typeof entry>) => relay.db.transaction((tx) => ingestEscalation(tx, { id: app.id, site_id: app.siteId }, e, relay.deps));

test("priorityOf() starts at the severity and raises encryption, backup and antivirus to at least high", () => {
  assert.is(priorityOf("low", "services"), "low");
  assert.is(priorityOf("medium", "network"), "medium");
  assert.is(priorityOf("low", "encryption"), "high");
  assert.is(priorityOf("medium", "backup"), "high");
  assert.is(priorityOf("low", "antivirus"), "high");
  assert.is(priorityOf("critical", "backup"), "critical", "never lowered");
  assert.is(priorityOf("medium", null), "medium");
  for (const p of ["low", "medium", "high", "critical"] as const) assert.ok(SLA[p].responseMs < SLA[p].resolutionMs, p);
  assert.ok(SLA.critical.responseMs < SLA.high.responseMs && SLA.high.responseMs < SLA.medium.responseMs && SLA.medium.responseMs < SLA.low.responseMs);
});

test("slaStep() notifies once per missed target per interval, at most MAX_RENOTIFY_PER_SLA times, and one notice after an outage", () => {
  const s = { status: "open" as const, priority: "high" as const, response_due_ms: 0, resolution_due_ms: 24 * HOUR, response_renotified: 0, resolution_renotified: 0 };
  assert.is(slaStep(s, -1).notify, null);
  const first = slaStep(s, 0);
  assert.equal([first.notify, first.response_renotified, first.next_renotify_at], ["response", 1, HOUR]);
  const late = slaStep(s, 10 * HOUR);
  assert.equal([late.notify, late.response_renotified], ["response", MAX_RENOTIFY_PER_SLA], "one notice, the counter jumps");
  assert.is(late.next_renotify_at, 24 * HOUR, "next is the resolution target");
  const acked = slaStep({ ...s, status: "acknowledged" }, 2 * HOUR);
  assert.equal([acked.notify, acked.next_renotify_at], [null, 24 * HOUR], "an acknowledged ticket is not chased for a response");
  assert.is(slaStep({ ...s, status: "resolved" }, 48 * HOUR).next_renotify_at, null);
});

test("push ingest: a replayed escalation changes nothing; the site is the appliance's, never the body's", async () => {
  const relay = await testRelay();
  try {
    const app = await enrolledAppliance(relay);
    const e = entry(relay);
    const first = await ingest(relay, app, e);
    const again = await ingest(relay, app, e);
    assert.is(first.created, true);
    assert.equal([again.escalation_id, again.replay, again.created], [first.escalation_id, true, false]);
    const rows = await relay.db.execute("SELECT site_id, priority, category, reports, response_due_at, resolution_due_at FROM escalations");
    assert.is(rows.rows.length, 1);
    const r = rows.rows[0]!;
    assert.equal([r["site_id"], r["priority"], r["category"], r["reports"]], [relay.siteId, "high", "backup", 1], "a medium backup failure is high priority");
    assert.is(r["response_due_at"], isoTime(relay.clock.now() + SLA.high.responseMs));
    assert.is(r["resolution_due_at"], isoTime(relay.clock.now() + SLA.high.resolutionMs));
  } finally {
    await relay.close();
  }
});

test("push ingest: when the appliance reports the incident resolved, its open and acknowledged tickets are resolved by the appliance and stop paging; another site's ticket for the same incident id is untouched", async () => {
  const relay = await testRelay();
  try {
    const app = await enrolledAppliance(relay);
    const other = await enrolledAppliance(relay, undefined, (await createSite(relay.db, { org_id: relay.orgId, name: "Annex" }, { clock: relay.clock, random })).id);
    const inc = incident({ check: "windows.defender_realtime", host_id: "ws01", at: relay.clock.now() });
    const push = async (a: TestAppliance, type: "escalation" | "incident", body: unknown) => {
      const res = await a.push([{ outbox_seq: ++a.outboxSeq, type, body } as OutboxEntry]);
      assert.is(res.status, 200, await res.text());
    };
    await push(app, "escalation", entry(relay, { incident_id: inc.incident_id }).body);
    await push(other, "escalation", entry(relay, { incident_id: inc.incident_id }).body);
    const tech = await asUser(relay, "msp_tech");
    const [mine] = (await relay.db.execute({ sql: "SELECT id FROM escalations WHERE site_id = ?", args: [relay.siteId] })).rows;
    assert.is((await relay.app.request(`/api/escalations/${mine!["id"]}/acknowledge`, userInit(tech, "POST", { note: "looking" }))).status, 200);

    relay.clock.t += 10 * 60_000;
    await push(app, "incident", { ...inc, status: "open", updated_at: isoTime(relay.clock.now()) });
    assert.is(await count(relay.db, "escalations", "site_id = ? AND status <> 'resolved'", [relay.siteId]), 1, "an incident still open leaves its ticket open");
    const resolvedAt = isoTime(relay.clock.now());
    await push(app, "incident", { ...inc, status: "resolved", updated_at: resolvedAt, resolved_at: resolvedAt });

    const row = (await relay.db.execute({ sql: "SELECT status, resolved_by, resolution_note, acknowledged_by, next_renotify_at FROM escalations WHERE id = ?", args: [mine!["id"]!] })).rows[0]!;
    assert.equal([row["status"], row["resolved_by"], row["acknowledged_by"], row["next_renotify_at"]], ["resolved", CLEARED_BY, tech.id, null]);
    assert.match(String(row["resolution_note"]), new RegExp(`^Cleared: the appliance saw the check pass again at ${resolvedAt}`));
    assert.is(await count(relay.db, "escalations", "site_id <> ? AND status = 'open'", [relay.siteId]), 1, "the other site's ticket stays open");
  } finally {
    await relay.close();
  }
});

test("routes: viewers list the tickets of their tenant only; staff acknowledge and resolve with notes (audited); clinic users cannot", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const app = await enrolledAppliance(relay);
    const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Reseller" }, env);
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner.id, name: "Partner Clinic" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Elm Street" }, env);
    const app2 = await enrolledAppliance(relay, undefined, site2.id);
    const mine = (await ingest(relay, app, entry(relay))).escalation_id;
    relay.clock.t += 1000;
    const theirs = (await ingest(relay, app2, entry(relay, { check: "linux.failed_services", severity: "low" }))).escalation_id;

    const ids = async (user: Parameters<typeof userInit>[0], path = "/api/escalations") => {
      const res = await relay.app.request(path, userInit(user));
      assert.is(res.status, 200, path);
      return ((await res.json()) as { escalations: { escalation_id: string }[] }).escalations.map((e) => e.escalation_id);
    };
    const admin = await asUser(relay, "msp_admin");
    const ptech = await asUser(relay, "partner_tech", { partner_id: partner.id });
    const owner = await asUser(relay, "client_owner");
    assert.equal(await ids(admin), [theirs, mine], "MSP staff see every tenant, newest first");
    assert.equal(await ids(ptech), [theirs], "a partner sees its clinics only");
    assert.equal(await ids(owner), [mine], "a clinic sees its own");
    assert.equal(await ids(owner, `/api/sites/${relay.siteId}/escalations`), [mine]);
    assert.is((await relay.app.request(`/api/sites/${site2.id}/escalations`, userInit(owner))).status, 404);
    const other = await createMsp(relay.db, { name: "Other MSP" }, env);
    assert.equal(await ids(await asUser(relay, "msp_admin", { msp_id: other.id })), []);

    assert.is((await relay.app.request(`/api/escalations/${mine}/acknowledge`, userInit(owner, "POST", {}))).status, 403);
    assert.is((await relay.app.request(`/api/escalations/${mine}/acknowledge`, userInit(ptech, "POST", {}))).status, 404, "not the partner's ticket");
    const ack = await relay.app.request(`/api/escalations/${mine}/acknowledge`, userInit(admin, "POST", { note: "looking at the backup job" }));
    assert.is(ack.status, 200);
    const acked = (await ack.json()) as { status: string; acknowledged_by: string; acknowledge_note: string };
    assert.equal([acked.status, acked.acknowledged_by, acked.acknowledge_note], ["acknowledged", admin.id, "looking at the backup job"]);
    const twice = await relay.app.request(`/api/escalations/${mine}/acknowledge`, userInit(admin, "POST", {}));
    assert.is(twice.status, 409);
    assert.is(((await twice.json()) as { error: { code: string } }).error.code, "escalation_state");
    assert.is((await relay.app.request(`/api/escalations/${mine}/resolve`, userInit(admin, "POST", {}))).status, 400, "a resolution needs a note");
    const resolved = await relay.app.request(`/api/escalations/${mine}/resolve`, userInit(admin, "POST", { note: "restic repository password rotated; job green" }));
    assert.is(resolved.status, 200);
    assert.is(((await resolved.json()) as { status: string }).status, "resolved");
    assert.is((await relay.app.request(`/api/escalations/${theirs}/resolve`, userInit(ptech, "POST", { note: "restarted" }))).status, 200, "a partner resolves its own clinic's ticket without acknowledging first");
    assert.equal(await ids(admin, "/api/escalations?active=true"), []);
    const audit = await relay.db.execute("SELECT action, target FROM audit_log WHERE action LIKE 'escalation.%' ORDER BY seq");
    assert.equal(audit.rows.map((r) => [r["action"], r["target"]]), [["escalation.acknowledge", mine], ["escalation.resolve", mine], ["escalation.resolve", theirs]]);
    // A new report for a resolved incident opens a new ticket.
    const reopened = await ingest(relay, app, entry(relay, { incident_id: (await relay.db.execute({ sql: "SELECT incident_id FROM escalations WHERE id = ?", args: [mine] })).rows[0]!["incident_id"] }));
    assert.is(reopened.created, true);
  } finally {
    await relay.close();
  }
});

test("SLA: an unacknowledged ticket is re-notified when its response target passes; acknowledging stops that; a missed resolution is re-notified until resolved", async () => {
  const hook = await httpReceiver("sla-secret-0123456789");
  const relay = await vaultedRelay();
  relay.deps.loopbackHttpNotifications = true; // the receiver is on loopback, over plain http
  const job = startEscalationScheduler(relay.deps, { notify: { fetch }, intervalMs: 3_600_000 });
  try {
    const admin = await asUser(relay, "msp_admin");
    const app = await enrolledAppliance(relay);
    const created = await relay.app.request("/api/channels", userInit(admin, "POST", { type: "webhook", name: "PSA", scope: "msp", url: hook.url, secret: "sla-secret-0123456789" }));
    assert.is(created.status, 201);
    const id = (await ingest(relay, app, entry(relay))).escalation_id; // high: respond in 1 h, resolve in 24 h
    const events = () => hook.received.map((r) => { const j = r.json as { event: string; sla: string | null }; return j.sla ? `${j.event}:${j.sla}` : j.event; });
    await job.tick();
    assert.equal(events(), ["escalation.opened"]);
    relay.clock.t += SLA.high.responseMs - 1;
    await job.tick();
    assert.equal(events(), ["escalation.opened"], "not before the target");
    relay.clock.t += 1;
    await job.tick();
    assert.equal(events(), ["escalation.opened", "escalation.sla_missed:response"]);
    relay.clock.t += SLA.high.renotifyEveryMs / 2;
    await job.tick();
    assert.is(events().length, 2, "not again before the interval");
    relay.clock.t += SLA.high.renotifyEveryMs / 2;
    await job.tick();
    assert.equal(events().slice(2), ["escalation.sla_missed:response"], "again one interval later");
    // Sessions idle out while the test clock jumps hours: sign in afresh.
    const ack = await relay.app.request(`/api/escalations/${id}/acknowledge`, userInit(await asUser(relay, "msp_tech"), "POST"));
    assert.is(ack.status, 200);
    await job.tick();
    relay.clock.t += 5 * SLA.high.renotifyEveryMs;
    await job.tick();
    assert.equal(events().slice(3), ["escalation.acknowledged"], "no more response notices once acknowledged");
    relay.clock.t = Date.parse((await relay.db.execute({ sql: "SELECT resolution_due_at FROM escalations WHERE id = ?", args: [id] })).rows[0]!["resolution_due_at"] as string) + 1;
    await job.tick();
    assert.equal(events().slice(4), ["escalation.sla_missed:resolution"]);
    assert.is((await relay.app.request(`/api/escalations/${id}/resolve`, userInit(await asUser(relay, "msp_tech"), "POST", { note: "fixed" }))).status, 200);
    relay.clock.t += 10 * SLA.high.renotifyEveryMs;
    await job.tick();
    assert.equal(events().slice(5), ["escalation.resolved"]);
    const listed = (await (await relay.app.request("/api/escalations", userInit(await asUser(relay, "msp_tech")))).json()) as { escalations: { response_overdue: boolean; resolution_overdue: boolean }[] };
    assert.equal([listed.escalations[0]!.response_overdue, listed.escalations[0]!.resolution_overdue], [true, true]);
    assert.is(await count(relay.db, "notification_deliveries", "status <> 'sent'"), 0);
  } finally {
    await job.stop();
    await relay.close();
    await hook.close();
  }
});

test("the job lease: a second relay process does not run the job while the first holds it, and takes over once it lapses", async () => {
  const relay = await testRelay();
  try {
    const now = relay.clock.now();
    assert.is(await takeLease(relay.db, "job_a", now, 60_000), true);
    assert.is(await takeLease(relay.db, "job_b", now + 1_000, 60_000), false);
    assert.is(await takeLease(relay.db, "job_a", now + 2_000, 60_000), true, "the holder renews");
    assert.is(await takeLease(relay.db, "job_b", now + 62_001, 60_000), true, "taken over after expiry");
  } finally {
    await relay.close();
  }
});


test("routes: a ticket carries the catalogue title of its check and the name its appliance reported for the host, beside their ids", async () => {
  const relay = await testRelay();
  try {
    const app = await enrolledAppliance(relay);
    const named = (await ingest(relay, app, entry(relay, { check: "windows.defender_realtime", host_id: "ws01" }))).escalation_id;
    const unnamed = (await ingest(relay, app, entry(relay, { check: "vendor.not_in_catalogue", host_id: "ws02" }))).escalation_id;
    await relay.db.execute({
      sql: "INSERT INTO site_hosts (site_id, host_id, appliance_id, hostname, platform, os_version, reachable, seen_at) VALUES (?, 'ws01', ?, 'FRONT-DESK-01', 'windows', NULL, 1, ?)",
      args: [relay.siteId, app.id, isoTime(relay.clock.now())],
    });
    const tech = await asUser(relay, "msp_tech");
    const res = await relay.app.request("/api/escalations", userInit(tech, "GET"));
    const list = ((await res.json()) as { escalations: { escalation_id: string; check: string; check_title: string | null; host_id: string; host_name: string | null }[] }).escalations;
    const view = (id: string) => list.find((e) => e.escalation_id === id)!;
    assert.equal([view(named).check, view(named).check_title, view(named).host_id, view(named).host_name], ["windows.defender_realtime", "Virus protection is switched on", "ws01", "FRONT-DESK-01"]);
    assert.equal([view(unnamed).check_title, view(unnamed).host_name], [null, null], "no made-up names: the ids stand");
    const acked = await relay.app.request(`/api/escalations/${named}/acknowledge`, userInit(tech, "POST", {}));
    assert.is(((await acked.json()) as { host_name: string }).host_name, "FRONT-DESK-01", "the changed ticket comes back with its names");
  } finally {
    await relay.close();
  }
});

test.run();
