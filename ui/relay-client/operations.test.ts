/**
 * The relay client's operations methods (device inventory, notification channels, partner billing,
 * escalations, learning decisions) against a real relay app in-process (real libSQL file, real routes,
 * the real credential vault), through a fetch that keeps cookies the way a browser does.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { isoTime } from "../../protocol/ids.ts";
import { asUser, random, testRelay, type TestRelay } from "../../relay/_testing.ts";
import { startSmtpSink } from "../../relay/mail/_smtp-sink.ts";
import { billingFixture, DEC_2 } from "../../relay/billing/_fixture.ts";
import { createCredentialVault } from "../../relay/credentials/create-vault.ts";
import { openEscalation } from "../../relay/escalations/index.ts";
import { runLearningCycle, seedSimulatedHistory } from "../../relay/learning/index.ts";
import { createOrganisation, createSite } from "../../relay/tenants/tenants.ts";
import { RelayApiError, RelayClient } from "./mod.ts";

/** A fetch into the in-process app with a cookie jar (one browser). */
function browserFetch(relay: TestRelay): typeof fetch {
  let cookie = "";
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (cookie) headers.set("Cookie", cookie);
    const res = await relay.app.request(String(input), { ...init, headers });
    const set = res.headers.get("Set-Cookie");
    if (set) cookie = set.split(";")[0]!;
    return res;
  };
}

async function signedIn(relay: TestRelay, role: Parameters<typeof asUser>[1], opts: Parameters<typeof asUser>[2] = {}): Promise<{ client: RelayClient; answers: string[] }> {
  const user = await asUser(relay, role, opts);
  const answers: string[] = [];
  const inner = browserFetch(relay);
  const client = new RelayClient({
    fetch: async (input, init) => {
      const res = await inner(input, init);
      answers.push(await res.clone().text());
      return res;
    },
  });
  await client.login(user.email, user.password);
  return { client, answers };
}

async function rejection(p: Promise<unknown>): Promise<RelayApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RelayApiError) return e;
    throw e;
  }
  throw new Error("expected the call to be refused");
}

test("RelayClient reads a partner's statements, issues one as MSP admin, and links its CSV and PDF; another partner's are refused", async () => {
  const relay = await testRelay();
  try {
    const f = await billingFixture(relay);
    relay.clock.t = DEC_2;
    const { client: msp } = await signedIn(relay, "msp_admin");
    const issued = await msp.issueStatement(f.partnerId, "2026-11");
    assert.equal(issued.totals, { amount_cents: 103834, share_cents: 25959, msp_net_cents: 77875 }, "the hand-computed November statement (relay/billing/compute.test.ts)");
    assert.is((await rejection(msp.issueStatement(f.partnerId, "2026-11"))).status, 409, "a month is issued once");

    const { client: billing } = await signedIn(relay, "partner_billing", { partner_id: f.partnerId });
    const { statements } = await billing.statements(f.partnerId);
    assert.equal(statements.map((s) => [s.id, s.month, s.clinics]), [[issued.id, "2026-11", issued.clinics]]);
    const full = await billing.statement(issued.id);
    assert.equal(full.lines.map((l) => l.org_name), issued.lines.map((l) => l.org_name));
    assert.equal((await billing.revenueShare(f.partnerId)).tiers, [{ min_clinics: 1, share_percent: 20 }, { min_clinics: 3, share_percent: 25 }]);
    const csv = await browserFetch(relay)(billing.statementUrl(issued.id, "csv"), {});
    assert.is(csv.status, 401, "the download link needs the session cookie, like every API call");
    assert.is(billing.statementUrl(issued.id, "pdf"), `/api/statements/${issued.id}/pdf`);

    const { client: stranger } = await signedIn(relay, "partner_billing");
    assert.is((await rejection(stranger.statements(f.partnerId))).status, 404);
    assert.is((await rejection(stranger.statement(issued.id))).status, 404);
  } finally {
    await relay.close();
  }
});

test("RelayClient adds, lists and deletes notification channels; no answer ever carries a channel's secret", async () => {
  const relay = await testRelay();
  const smtp = await startSmtpSink(); // e-mail channels need SMTP configured
  try {
    relay.deps.mailer = smtp.mailer;
    relay.deps.loopbackHttpNotifications = true; // the webhook below is on loopback, over plain http
    relay.deps.vault = await createCredentialVault({ db: relay.db, keyFile: join(relay.dir, "vault.key"), random, log: relay.log });
    const { client, answers } = await signedIn(relay, "msp_admin");
    const secret = "hmac-secret-0123456789abcdef";
    const hook = await client.createChannel({ name: "Ticketing", scope: "site", site_id: relay.siteId, type: "webhook", url: "http://127.0.0.1:9/hook/t0ken-in-path", secret });
    assert.equal([hook.type, hook.has_secret, hook.config], ["webhook", true, { type: "webhook", origin: "http://127.0.0.1:9" }]);
    const mail = await client.createChannel({ name: "On call", scope: "msp", type: "email", to: ["oncall@example.test"], min_priority: "high" });
    assert.equal((await client.channels()).channels.map((c) => c.name).sort(), ["On call", "Ticketing"]);
    const bad = await rejection(client.createChannel({ name: "Short", scope: "msp", type: "webhook", url: "https://hooks.example.test/x", secret: "short" }));
    assert.equal([bad.status, bad.code], [400, "schema"]);
    await client.deleteChannel(mail.channel_id);
    assert.equal((await client.channels()).channels.map((c) => c.channel_id), [hook.channel_id]);
    assert.equal((await client.channelDeliveries(hook.channel_id)).deliveries, []);
    assert.not.ok(answers.some((a) => a.includes(secret) || a.includes("t0ken-in-path")), "no answer carried the secret or the URL");
  } finally {
    await relay.close();
    await smtp.close();
  }
});

test("RelayClient acknowledges and resolves escalations and decides learning candidates, answering the new state", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const opened = await relay.db.transaction((tx) =>
      openEscalation(tx, { site_id: relay.siteId, source: "appliance", source_key: "t:1", appliance_id: null, incident_id: null, host_id: "ws-01", check: "windows.defender_realtime", severity: "low", reason: "still off", attempts: 1, reported_at: isoTime(relay.clock.now()) }, env),
    );
    const { client } = await signedIn(relay, "msp_tech");
    const [listed] = (await client.escalations(relay.siteId, { active: true })).escalations;
    assert.equal([listed?.escalation_id, listed?.priority, listed?.status], [opened.escalation_id, "high", "open"], "antivirus is at least high");
    assert.is((await client.acknowledgeEscalation(opened.escalation_id, "looking")).status, "acknowledged");
    assert.is((await client.resolveEscalation(opened.escalation_id, "turned back on")).resolution_note, "turned back on");
    assert.equal((await client.escalations(undefined, { active: true })).escalations, []);

    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Second clinic" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Second" }, env);
    await seedSimulatedHistory(relay.db, { sites: [relay.siteId, site2.id], now: relay.clock.now() });
    await runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    const { candidates } = await client.learningCandidates("shadow");
    assert.is(candidates.length, 2);
    const approved = await client.decideCandidate(candidates[0]!.id, "approve");
    assert.equal([approved.state, approved.published, typeof approved.ruleset_version], ["active", true, "number"]);
    const detail = await client.learningCandidate(candidates[0]!.id);
    assert.equal(detail.ledger.map((l) => l.to), ["proposed", "shadow", "approved", "active"]);
    assert.is((await rejection(client.decideCandidate(candidates[1]!.id, "reject"))).status, 400, "rejecting needs a reason");
    assert.is((await client.decideCandidate(candidates[1]!.id, "reject", "not here")).state, "retired");
    assert.equal((await client.learningThresholds()).thresholds.min_sites, 2);
  } finally {
    await relay.close();
  }
});

test.run();
