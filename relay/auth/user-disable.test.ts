/**
 * Disabling users (POST /api/users/:user_id/disable) cannot lock an MSP out: nobody disables their own
 * account, and the MSP's last active MSP admin stays (the guard is part of the UPDATE, so two admins
 * disabling each other at once leave one). A refusal is a 409 naming the reason, changes nothing and is not
 * audited. A disabled user's API keys stop working with them. GET /api/users says when each user last
 * signed in.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, count, errorOf, jsonInit, random, testRelay, userInit, type TestRelay, type TestUser } from "../_testing.ts";
import { createMsp, createOrganisation, createPartner } from "../tenants/tenants.ts";

/** Each test gets a fresh relay (closed after it). */
let relay: TestRelay;
test.before.each(async () => {
  relay = await testRelay();
});
test.after.each(async () => {
  await relay.close();
});

const disable = async (by: TestUser | { key: string }, userId: string): Promise<Response> =>
  relay.app.request(`/api/users/${userId}/disable`, "key" in by ? { method: "POST", headers: { Authorization: `Bearer ${by.key}` } } : userInit(by, "POST"));

/** Whether the user's session still answers (a disabled user's does not). */
async function signedIn(user: TestUser): Promise<boolean> {
  return (await relay.app.request("/api/auth/session", userInit(user))).status === 200;
}

const disableAudits = (): Promise<number> => count(relay.db, "audit_log", "action = ?", ["user.disable"]);

test("an MSP admin cannot disable their own account: 409 naming the reason, still signed in, nothing audited", async () => {
  const admin = await asUser(relay, "msp_admin");
  await asUser(relay, "msp_admin");
  const res = await disable(admin, admin.id);
  assert.is(res.status, 409);
  const err = await errorOf(res);
  assert.is(err.code, "user_change_refused");
  assert.is(err.details?.["reason"], "self");
  assert.match(err.message, /your own account/);
  assert.ok(await signedIn(admin), "the admin's session still works");
  assert.is(await count(relay.db, "users", "id = ? AND disabled = 0", [admin.id]), 1);
  assert.is(await disableAudits(), 0);
});

test("an API key disables nobody (a person's decision), and stops working once its maker is disabled", async () => {
  const first = await asUser(relay, "msp_admin");
  const second = await asUser(relay, "msp_admin");
  const made = await relay.app.request("/api/api-keys", userInit(first, "POST", { name: "automation", role: "msp_admin" }));
  const { key } = (await made.json()) as { key: string };
  for (const target of [first.id, second.id]) {
    const byKey = await disable({ key }, target);
    assert.is(byKey.status, 403);
    assert.match((await errorOf(byKey)).message, /Only a signed-in person may use POST \/api\/users\/:user_id\/disable/);
  }
  assert.is(await disableAudits(), 0);
  assert.is((await disable(second, first.id)).status, 204);
  assert.is(await disableAudits(), 1);
  // The disabled admin's key is refused everywhere, and cannot disable the admin who is left.
  const sites = await relay.app.request("/api/sites", { headers: { Authorization: `Bearer ${key}` } });
  assert.is(sites.status, 401);
  const err = await errorOf(sites);
  assert.is(err.code, "api_key_revoked");
  assert.is(err.details?.["reason"], "owner_disabled");
  assert.match(err.message, new RegExp(`owner \\(${first.email.replaceAll(".", "\\.")}\\) has been disabled`));
  assert.is((await disable({ key }, second.id)).status, 401);
  assert.ok(await signedIn(second), "the last admin keeps their session");
  assert.is(await count(relay.db, "users", "id = ? AND disabled = 0", [second.id]), 1);
  assert.is(await disableAudits(), 1, "nothing else changed");
});

test("two MSP admins disabling each other at the same moment: exactly one succeeds and one admin stays", async () => {
  const a = await asUser(relay, "msp_admin");
  const b = await asUser(relay, "msp_admin");
  const answers = await Promise.all([disable(a, b.id), disable(b, a.id)]);
  assert.equal(answers.map((r) => r.status).sort(), [204, 409]);
  assert.is(await count(relay.db, "users", "msp_id = ? AND role = 'msp_admin' AND disabled = 0", [relay.mspId]), 1);
  assert.is(await disableAudits(), 1);
});

test("disabling another admin while one remains works: their session ends, it is audited once, a repeat changes nothing", async () => {
  const admin = await asUser(relay, "msp_admin");
  const other = await asUser(relay, "msp_admin");
  const tech = await asUser(relay, "msp_tech");
  for (const u of [other, tech]) {
    assert.is((await disable(admin, u.id)).status, 204);
    assert.not.ok(await signedIn(u), `${u.role}'s session ends at once`);
  }
  assert.is(await disableAudits(), 2);
  assert.is((await disable(admin, tech.id)).status, 204, "disabling a disabled user is not an error");
  assert.is(await disableAudits(), 2, "…and not a second change");
});

test("a user of another MSP is not found, and stays enabled", async () => {
  const admin = await asUser(relay, "msp_admin");
  const otherMsp = await createMsp(relay.db, { name: "Other MSP" }, { clock: relay.clock, random });
  const foreign = await asUser(relay, "msp_tech", { msp_id: otherMsp.id });
  const res = await disable(admin, foreign.id);
  assert.is(res.status, 404);
  assert.ok(await signedIn(foreign));
});

test("GET /api/users says when each user last signed in, and never for a user who has not", async () => {
  const admin = await asUser(relay, "msp_admin");
  const password = "a long enough password";
  assert.is((await relay.app.request("/api/users", userInit(admin, "POST", { email: "new.tech@example.test", name: "New Tech", role: "msp_tech", password }))).status, 201);
  const lastLogin = async (email: string) => {
    const { users } = (await (await relay.app.request("/api/users", userInit(admin))).json()) as { users: { email: string; last_login_at: string | null }[] };
    return users.find((u) => u.email === email)?.last_login_at;
  };
  assert.is(await lastLogin("new.tech@example.test"), null);
  relay.clock.t += 3600_000;
  assert.is((await relay.app.request("/api/auth/login", jsonInit("POST", { email: "new.tech@example.test", password }))).status, 200);
  assert.is(await lastLogin("new.tech@example.test"), new Date(relay.clock.t).toISOString());
  assert.is(await lastLogin(admin.email), new Date(relay.clock.t - 3600_000).toISOString());
});

test("a partner admin disables their partner's staff and their clinics' users, a clinic owner their clinic's users; nobody else's (404)", async () => {
  const env = { clock: relay.clock, random };
  const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Bayside IT" }, env);
  const other = await createPartner(relay.db, { msp_id: relay.mspId, name: "Other IT" }, env);
  const clinic = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner.id, name: "Lakeside" }, env);
  const partnerAdmin = await asUser(relay, "partner_admin", { partner_id: partner.id });
  const partnerTech = await asUser(relay, "partner_tech", { partner_id: partner.id });
  const clinicViewer = await asUser(relay, "client_viewer", { org_id: clinic.id });
  const strangers = [await asUser(relay, "partner_tech", { partner_id: other.id }), await asUser(relay, "msp_tech"), await asUser(relay, "client_viewer")];
  for (const s of strangers) assert.is((await disable(partnerAdmin, s.id)).status, 404, `${s.role} of another tenant`);
  assert.is((await disable(partnerAdmin, partnerTech.id)).status, 204);
  assert.is((await disable(partnerAdmin, clinicViewer.id)).status, 204);
  assert.not.ok(await signedIn(partnerTech), "their sessions ended");
  assert.not.ok(await signedIn(clinicViewer));
  assert.is(await disableAudits(), 2);

  const owner = await asUser(relay, "client_owner", { org_id: clinic.id });
  const colleague = await asUser(relay, "client_viewer", { org_id: clinic.id });
  assert.is((await disable(owner, partnerAdmin.id)).status, 404, "a clinic owner disables no partner staff");
  assert.is((await disable(owner, colleague.id)).status, 204);
  assert.is((await disable(partnerTech, owner.id)).status, 401, "a disabled user's session is gone");
});

test.run();
