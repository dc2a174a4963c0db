import { test } from "uvu";
import * as assert from "uvu/assert";
import { vaultFromKeys } from "../credentials/vault.ts";
import { asUser, random, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { startSmtpSink } from "../mail/_smtp-sink.ts";

/**
 * A test relay with a credential vault (webhook and Slack secrets are sealed with it) and SMTP (a real server
 * on loopback: e-mail channels are refused without it). `close()` stops both.
 */
async function vaultedRelay(opts: Parameters<typeof testRelay>[0] = {}): Promise<TestRelay> {
  const relay = await testRelay(opts);
  relay.deps.vault = await vaultFromKeys([random(32)], random);
  const smtp = await startSmtpSink();
  relay.deps.mailer = smtp.mailer;
  const close = relay.close.bind(relay);
  relay.close = async () => (await close(), await smtp.close());
  return relay;
}

async function post(relay: TestRelay, user: Parameters<typeof userInit>[0], body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await relay.app.request("/api/channels", userInit(user, "POST", body));
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test("channels: MSP admins add them at any level, partner admins only for their partner and its sites; each sees only its own; secrets are never shown", async () => {
  const relay = await vaultedRelay();
  try {
    const env = { clock: relay.clock, random };
    const p1 = await createPartner(relay.db, { msp_id: relay.mspId, name: "Reseller One" }, env);
    const p2 = await createPartner(relay.db, { msp_id: relay.mspId, name: "Reseller Two" }, env);
    const org1 = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: p1.id, name: "P1 Clinic" }, env);
    const site1 = await createSite(relay.db, { org_id: org1.id, name: "P1 Site" }, env);
    const admin = await asUser(relay, "msp_admin");
    const padmin = await asUser(relay, "partner_admin", { partner_id: p1.id });
    const hook = { type: "webhook", name: "hook", url: "https://hooks.example.test/osiris", secret: "0123456789abcdef-secret" };

    const msp = await post(relay, admin, { ...hook, scope: "msp" });
    assert.is(msp.status, 201);
    assert.equal(msp.json["config"], { type: "webhook", origin: "https://hooks.example.test" });
    assert.is(msp.json["has_secret"], true);
    assert.not.match(JSON.stringify(msp.json), /0123456789abcdef-secret|\/osiris/);
    const stored = String((await relay.db.execute("SELECT secret FROM notification_channels")).rows[0]!["secret"]);
    assert.not.match(stored, /0123456789abcdef-secret|hooks\.example/, "the secret is stored encrypted");
    assert.match(stored, /"key_id":"[0-9a-f]{16}"/);

    assert.is((await post(relay, padmin, { ...hook, scope: "msp" })).status, 403, "a partner cannot add MSP-wide channels");
    assert.is((await post(relay, padmin, { ...hook, scope: "partner", partner_id: p2.id })).status, 403, "nor another partner's");
    assert.is((await post(relay, padmin, { ...hook, scope: "site", site_id: relay.siteId })).status, 403, "nor a site it does not serve");
    const own = await post(relay, padmin, { ...hook, scope: "partner", partner_id: p1.id });
    assert.is(own.status, 201);
    const ownSite = await post(relay, padmin, { type: "email", name: "front desk", scope: "site", site_id: site1.id, audience: "client", to: ["desk@p1clinic.example.test"] });
    assert.is(ownSite.status, 201);
    assert.is(ownSite.json["digest"], "daily", "clinic channels get a daily digest by default");

    const list = async (u: Parameters<typeof userInit>[0]) => ((await (await relay.app.request("/api/channels", userInit(u))).json()) as { channels: { channel_id: string }[] }).channels.map((c) => c.channel_id).sort();
    assert.equal(await list(admin), [msp.json["channel_id"], own.json["channel_id"], ownSite.json["channel_id"]].sort() as string[]);
    assert.equal(await list(padmin), [own.json["channel_id"], ownSite.json["channel_id"]].sort() as string[]);
    assert.is((await relay.app.request("/api/channels", userInit(await asUser(relay, "msp_tech")))).status, 403);

    assert.is((await relay.app.request(`/api/channels/${msp.json["channel_id"]}`, userInit(padmin, "DELETE"))).status, 404, "a partner cannot touch the MSP's channel");
    assert.is((await relay.app.request(`/api/channels/${ownSite.json["channel_id"]}`, userInit(padmin, "DELETE"))).status, 204);
    assert.is((await relay.app.request(`/api/channels/${ownSite.json["channel_id"]}`, userInit(padmin, "DELETE"))).status, 404, "already deleted");
    assert.equal(await list(padmin), [own.json["channel_id"]] as string[]);
    const audit = await relay.db.execute("SELECT action, actor_role FROM audit_log WHERE action LIKE 'channel.%' ORDER BY seq");
    assert.equal(audit.rows.map((r) => [r["action"], r["actor_role"]]), [["channel.create", "msp_admin"], ["channel.create", "partner_admin"], ["channel.create", "partner_admin"], ["channel.delete", "partner_admin"]]);
  } finally {
    await relay.close();
  }
});

test("a channel that could never deliver is refused (503): one with a secret without a credential vault, e-mail without SMTP", async () => {
  const relay = await testRelay();
  const smtp = await startSmtpSink();
  try {
    const admin = await asUser(relay, "msp_admin");
    const hook = await relay.app.request("/api/channels", userInit(admin, "POST", { type: "slack", name: "s", scope: "msp", url: "https://hooks.slack.example/T/B/X" }));
    assert.is(hook.status, 503);
    assert.is(((await hook.json()) as { error: { code: string } }).error.code, "vault_unavailable");
    const email = { type: "email", name: "e", scope: "msp", to: ["noc@msp.example.test"] };
    const noSmtp = await relay.app.request("/api/channels", userInit(admin, "POST", email));
    assert.is(noSmtp.status, 503);
    const err = ((await noSmtp.json()) as { error: { code: string; message: string } }).error;
    assert.is(err.code, "mail_unavailable");
    assert.match(err.message, /started without --smtp-url\): an e-mail channel could never deliver/);
    assert.is((await relay.db.execute("SELECT COUNT(*) AS n FROM notification_channels")).rows[0]!["n"], 0, "nothing stored");
    relay.deps.mailer = smtp.mailer;
    assert.is((await relay.app.request("/api/channels", userInit(admin, "POST", email))).status, 201, "with SMTP configured it is added");
  } finally {
    await relay.close();
    await smtp.close();
  }
});

test("a webhook or Slack URL over plain http to loopback is refused when added, unless the relay was started to allow it", async () => {
  const relay = await vaultedRelay();
  try {
    const admin = await asUser(relay, "msp_admin");
    const hook = { type: "webhook", name: "local", scope: "msp", url: "http://127.0.0.1:9/osiris", secret: "0123456789abcdef-secret" };
    for (const body of [hook, { type: "slack", name: "local slack", scope: "msp", url: "http://[::1]:9/services/T/B/X" }]) {
      const refused = await relay.app.request("/api/channels", userInit(admin, "POST", body));
      assert.is(refused.status, 400, JSON.stringify(body));
      const e = ((await refused.json()) as { error: { code: string; message: string } }).error;
      assert.equal([e.code, e.message], ["schema", "url: must use https: plain http to loopback is allowed only when the relay is started with --allow-loopback-http-notifications"]);
    }
    assert.is((await relay.db.execute("SELECT COUNT(*) AS n FROM notification_channels")).rows[0]!["n"], 0, "nothing stored");
    relay.deps.loopbackHttpNotifications = true;
    assert.is((await relay.app.request("/api/channels", userInit(admin, "POST", hook))).status, 201, "allowed by the operator, it is added");
    const elsewhere = await relay.app.request("/api/channels", userInit(admin, "POST", { ...hook, name: "remote", url: "http://hooks.example.test/osiris" }));
    assert.is(elsewhere.status, 400, "plain http anywhere but loopback stays refused");
  } finally {
    await relay.close();
  }
});

test("channel input is validated at the boundary, naming the field", async () => {
  const relay = await vaultedRelay();
  try {
    const admin = await asUser(relay, "msp_admin");
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ type: "email", name: "x", scope: "msp", audience: "client", to: ["a@b.example"] }, /audience: client e-mail channels must be site channels/],
      [{ type: "email", name: "x", scope: "msp", to: [] }, /to: must be at least 1 items/],
      [{ type: "webhook", name: "x", scope: "msp", url: "https://h.example/x", secret: "short" }, /secret: must be at least 16 characters, got 5 characters/],
      [{ type: "slack", name: "x", scope: "msp", url: "ftp://h.example/x" }, /url: must use https/],
      [{ type: "syslog", name: "x", scope: "site", host: "siem.example" }, /site_id: required for a site channel/],
      [{ type: "pager", name: "x", scope: "msp" }, /type/],
    ];
    for (const [body, message] of cases) {
      const res = await relay.app.request("/api/channels", userInit(admin, "POST", body));
      assert.is(res.status, 400, JSON.stringify(body));
      assert.match(((await res.json()) as { error: { message: string } }).error.message, message);
    }
  } finally {
    await relay.close();
  }
});

test.run();
