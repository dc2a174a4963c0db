import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, count, enrolledAppliance, errorOf, jsonInit, random, T0, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { API_KEY_DEFAULT_DAYS, API_KEY_MAX_DAYS } from "./api-keys.ts";
import { createPartner } from "../tenants/tenants.ts";
import { startSmtpSink } from "../mail/_smtp-sink.ts";
import { LOCKOUT_MS, MAGIC_LINK_TTL_MS, MAX_FAILED_LOGINS } from "./login.ts";
import { totpCode } from "./totp.ts";
import { CONTENT_SECURITY_POLICY } from "../app.ts";

async function login(relay: TestRelay, email: string, password: string, totp_code?: string): Promise<Response> {
  return relay.app.request("/api/auth/login", jsonInit("POST", { email, password, ...(totp_code ? { totp_code } : {}) }));
}

/** The session cookie (name=value) from a login answer. */
function cookieOf(res: Response): string {
  const set = res.headers.get("set-cookie") ?? "";
  return set.split(";")[0]!;
}

async function withRelay(fn: (relay: TestRelay) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    await fn(relay);
  } finally {
    await relay.close();
  }
}

test("login sets an HttpOnly SameSite=Strict session cookie and answers the user and a CSRF token", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const res = await login(relay, admin.email, admin.password);
    assert.is(res.status, 200);
    const set = res.headers.get("set-cookie") ?? "";
    assert.match(set, /^osiris_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const body = (await res.json()) as { user: { email: string; role: string }; csrf_token: string };
    assert.is(body.user.email, admin.email);
    assert.is(body.user.role, "msp_admin");
    assert.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    const me = await relay.app.request("/api/auth/session", { headers: { Cookie: cookieOf(res) } });
    assert.is(me.status, 200);
    assert.is(((await me.json()) as { csrf_token: string }).csrf_token, body.csrf_token);
  }));

test("the cookie is marked Secure when the relay is served over HTTPS", () =>
  withRelay(async (relay) => {
    relay.deps.secureCookies = true;
    const admin = await asUser(relay, "msp_admin");
    const res = await login(relay, admin.email, admin.password);
    assert.match(res.headers.get("set-cookie") ?? "", /; Secure$/);
  }));

test("a wrong password and an unknown e-mail get the same answer; no cookie is set", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const wrong = await login(relay, admin.email, "not the password at all");
    const unknown = await login(relay, "nobody@example.test", "not the password at all");
    for (const res of [wrong, unknown]) {
      assert.is(res.status, 401);
      assert.is(res.headers.get("set-cookie"), null);
      const err = await errorOf(res);
      assert.is(err.code, "login_failed");
      assert.is(err.message, "E-mail or password is wrong");
    }
  }));

test(`after ${MAX_FAILED_LOGINS} wrong passwords the account is locked for 15 minutes, even for the right password`, () =>
  withRelay(async (relay) => {
    const tech = await asUser(relay, "msp_tech");
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) assert.is((await login(relay, tech.email, "wrong password here")).status, 401);
    const locking = await login(relay, tech.email, "wrong password here");
    assert.is(locking.status, 423);
    const locked = await login(relay, tech.email, tech.password);
    assert.is(locked.status, 423);
    assert.is((await errorOf(locked)).code, "account_locked");
    assert.ok(Number(locked.headers.get("retry-after")) > 0, "423 carries Retry-After");
    relay.clock.t += LOCKOUT_MS + 1000;
    assert.is((await login(relay, tech.email, tech.password)).status, 200);
  }));

test("TOTP: once enabled, login needs a current code, and the same code is refused a second time", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const setup = await relay.app.request("/api/auth/totp/setup", userInit(admin, "POST"));
    assert.is(setup.status, 200);
    const { secret, otpauth_uri, qr_svg } = (await setup.json()) as { secret: string; otpauth_uri: string; qr_svg: string };
    assert.match(otpauth_uri, /^otpauth:\/\/totp\/OsirisCare:/);
    assert.match(qr_svg, /^<svg/);
    const bad = await relay.app.request("/api/auth/totp/enable", userInit(admin, "POST", { code: "000000" === totpCode(secret, relay.clock.t) ? "111111" : "000000" }));
    assert.is(bad.status, 400);
    const enable = await relay.app.request("/api/auth/totp/enable", userInit(admin, "POST", { code: totpCode(secret, relay.clock.t) }));
    assert.is(enable.status, 204);
    relay.clock.t += 30_000;
    const noCode = await login(relay, admin.email, admin.password);
    assert.is(noCode.status, 401);
    assert.is((await errorOf(noCode)).code, "totp_required");
    const code = totpCode(secret, relay.clock.t);
    assert.is((await login(relay, admin.email, admin.password, code)).status, 200);
    const replay = await login(relay, admin.email, admin.password, code);
    assert.is(replay.status, 401, "a code is good once");
    const again = await relay.app.request("/api/auth/totp/setup", userInit(admin, "POST"));
    assert.is(again.status, 403, "a session cannot replace (and so turn off) an enabled second factor");
    assert.is((await login(relay, admin.email, admin.password)).status, 401, "TOTP is still required");
  }));

test("a change without the session's CSRF token is refused with 403 and changes nothing", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const body = { email: "new.tech@example.test", name: "New Tech", role: "msp_tech", password: "a long enough password" };
    const noCsrf = await relay.app.request("/api/users", { method: "POST", headers: { Cookie: admin.headers["Cookie"]!, "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.is(noCsrf.status, 403);
    assert.is((await errorOf(noCsrf)).code, "csrf_invalid");
    const users = (await (await relay.app.request("/api/users", userInit(admin))).json()) as { users: { email: string }[] };
    assert.not.ok(users.users.some((u) => u.email === "new.tech@example.test"));
    assert.is((await relay.app.request("/api/users", userInit(admin, "POST", body))).status, 201);
  }));

test("logging out ends the session at once: the old cookie gets 401 session_expired", () =>
  withRelay(async (relay) => {
    const viewer = await asUser(relay, "client_viewer");
    assert.is((await relay.app.request("/api/auth/logout", userInit(viewer, "POST"))).status, 204);
    const after = await relay.app.request("/api/auth/session", userInit(viewer));
    assert.is(after.status, 401);
    assert.is((await errorOf(after)).code, "session_expired");
  }));

test("a session ends after 2 hours idle", () =>
  withRelay(async (relay) => {
    const tech = await asUser(relay, "msp_tech");
    relay.clock.t += 2 * 3600_000 + 1;
    assert.is((await relay.app.request("/api/auth/session", userInit(tech))).status, 401);
  }));

test("a role a route does not list gets 403 forbidden naming the role", () =>
  withRelay(async (relay) => {
    const viewer = await asUser(relay, "client_viewer");
    const res = await relay.app.request("/api/users", userInit(viewer));
    assert.is(res.status, 403);
    const err = await errorOf(res);
    assert.is(err.code, "forbidden");
    assert.match(err.message, /client_viewer/);
  }));

test("partner API keys: shown once, work as Bearer, never reach another partner, and fail with 401 once revoked", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "partner_admin");
    const partnerId = admin.principal.partner_id!;
    const other = await createPartner(relay.db, { msp_id: relay.mspId, name: "Other Partner" }, { clock: relay.clock, random });
    const created = await relay.app.request(`/api/partners/${partnerId}/api-keys`, userInit(admin, "POST", { name: "automation", role: "partner_admin" }));
    assert.is(created.status, 201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    assert.match(key, /^osk_/);
    const listed = await relay.app.request(`/api/partners/${partnerId}/api-keys`, userInit(admin));
    assert.is(listed.status, 200);
    assert.not.match(await listed.text(), key.slice(4), "the key text is never listed");
    const bearer = { headers: { Authorization: `Bearer ${key}` } };
    assert.is((await relay.app.request(`/api/partners/${partnerId}/branding`, bearer)).status, 200, "the key works as Bearer");
    assert.is((await relay.app.request(`/api/partners/${other.id}/branding`, bearer)).status, 404, "never for another partner");
    assert.is((await relay.app.request(`/api/api-keys/${id}/revoke`, userInit(admin, "POST"))).status, 204);
    const revoked = await relay.app.request(`/api/partners/${partnerId}/branding`, bearer);
    assert.is(revoked.status, 401);
    assert.is((await errorOf(revoked)).code, "api_key_revoked");
  }));

test("MSP API keys act with an MSP role across the MSP's tenants, only msp_admin makes them, and revoking ends them", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const tech = await asUser(relay, "msp_tech");
    assert.is((await relay.app.request("/api/api-keys", userInit(tech, "POST", { name: "x" }))).status, 403);
    const created = await relay.app.request("/api/api-keys", userInit(admin, "POST", { name: "assistant" }));
    assert.is(created.status, 201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    const bad = await relay.app.request("/api/api-keys", userInit(admin, "POST", { name: "x", role: "partner_tech" }));
    assert.is(bad.status, 400, "an MSP key takes an MSP role");
    const audit = await relay.app.request("/api/audit-log", { headers: { Authorization: `Bearer ${key}` } });
    assert.is(audit.status, 200, "an msp_tech key reads what MSP technicians read");
    assert.is((await relay.app.request("/api/users", { headers: { Authorization: `Bearer ${key}` } })).status, 403, "and nothing an admin alone may do");
    const listed = (await (await relay.app.request("/api/api-keys", userInit(admin))).json()) as { api_keys: { id: string; role: string; partner_id: string | null }[] };
    assert.equal(listed.api_keys.map((k) => [k.id, k.role, k.partner_id]), [[id, "msp_tech", null]]);
    assert.is((await relay.app.request(`/api/api-keys/${id}/revoke`, userInit(admin, "POST"))).status, 204);
    assert.is((await relay.app.request("/api/audit-log", { headers: { Authorization: `Bearer ${key}` } })).status, 401);
    assert.is((await relay.app.request(`/api/api-keys/${id}/revoke`, userInit(admin, "POST"))).status, 204, "revoking again is harmless");
    assert.is(await count(relay.db, "audit_log", "action = 'api_key.revoke' AND target = ?", [id]), 1, "and audited once");
  }));

test(`API keys expire: after ${API_KEY_DEFAULT_DAYS} days unless expires_in_days (1 to ${API_KEY_MAX_DAYS}) says otherwise; listed with expires_at; then refused with 401 api_key_expired`, () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const create = async (body: Record<string, unknown>) => relay.app.request("/api/api-keys", userInit(admin, "POST", body));
    const made = async (body: Record<string, unknown>) => (await (await create(body)).json()) as { id: string; key: string; expires_at: string };
    const DAY = 86_400_000;
    const standard = await made({ name: "standard" });
    assert.is(standard.expires_at, new Date(T0 + API_KEY_DEFAULT_DAYS * DAY).toISOString());
    const week = await made({ name: "a week", expires_in_days: 7, scope: "assistant" });
    assert.is(week.expires_at, new Date(T0 + 7 * DAY).toISOString());
    for (const bad of [0, API_KEY_MAX_DAYS + 1, 1.5, "30", null]) {
      const res = await create({ name: "bad", expires_in_days: bad });
      assert.is(res.status, 400, `expires_in_days ${JSON.stringify(bad)}`);
      assert.match((await errorOf(res)).message, "expires_in_days");
    }
    // A key from before keys expired (expires_at NULL) keeps working: it is listed as never expiring.
    const legacy = await made({ name: "legacy" });
    await relay.db.execute({ sql: "UPDATE api_keys SET expires_at = NULL WHERE id = ?", args: [legacy.id] });
    const listed = (await (await relay.app.request("/api/api-keys", userInit(admin))).json()) as { api_keys: { name: string; expires_at: string | null }[] };
    assert.equal(listed.api_keys.map((k) => [k.name, k.expires_at]), [["standard", standard.expires_at], ["a week", week.expires_at], ["legacy", null]]);

    const call = (key: string) => relay.app.request("/api/audit-log", { headers: { Authorization: `Bearer ${key}` } });
    relay.clock.t = T0 + 7 * DAY - 1;
    assert.is((await call(standard.key)).status, 200);
    relay.clock.t = T0 + 7 * DAY;
    const expired = await call(week.key);
    assert.is(expired.status, 401);
    assert.is(expired.headers.get("www-authenticate"), 'Bearer realm="osiris-relay"');
    const err = await errorOf(expired);
    assert.is(err.code, "api_key_expired");
    assert.is(err.message, `This API key expired at ${week.expires_at}: an administrator can create a new one (keys are replaced, not extended)`);
    assert.is((await call(standard.key)).status, 200, "the 90-day key still works on day 7");
    relay.clock.t = T0 + API_KEY_DEFAULT_DAYS * DAY;
    assert.is((await errorOf(await call(standard.key))).code, "api_key_expired");
    assert.is((await call(legacy.key)).status, 200, "a key without an expiry still works");
  }));

test("no API key takes a person's decision (approving proposals, users, keys); an assistant key may only call the MCP endpoint", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const tech = await asUser(relay, "msp_tech");
    const appliance = await enrolledAppliance(relay);
    const keyOf = async (body: unknown) => {
      const res = await relay.app.request("/api/api-keys", userInit(admin, "POST", body));
      assert.is(res.status, 201);
      return { headers: { Authorization: `Bearer ${((await res.json()) as { key: string }).key}`, "content-type": "application/json" } };
    };
    const apiKey = await keyOf({ name: "PSA sync", role: "msp_admin" });
    const assistant = await keyOf({ name: "Ann – Claude Desktop", scope: "assistant" });
    const proposed = await relay.app.request(`/api/sites/${relay.siteId}/approvals`, userInit(tech, "POST", { appliance_id: appliance.id, type: "force_scan", params: {}, reason: "recheck" }));
    assert.is(proposed.status, 201);
    const { id } = (await proposed.json()) as { id: string };
    const listed = (await (await relay.app.request(`/api/sites/${relay.siteId}/approvals`, userInit(admin))).json()) as { approvals: { id: string; order_title: string; requested_by: string }[] };
    assert.equal(listed.approvals.map((a) => [a.id, a.order_title, a.requested_by]), [[id, "Scan now", tech.principal.name]], "the reviewer sees what and who in words");

    const approveByKey = await relay.app.request(`/api/approvals/${id}/approve`, { method: "POST", body: "{}", ...apiKey });
    assert.is(approveByKey.status, 403, "even an msp_admin key cannot approve");
    assert.match((await errorOf(approveByKey)).message, /Only a signed-in person may use POST \/api\/approvals\/:approval_id\/approve/);
    for (const [path, body] of [["/api/users", { email: "new.admin@example.test", name: "New", role: "msp_admin", password: "a long enough password" }], ["/api/api-keys", { name: "another" }]] as const) {
      assert.is((await relay.app.request(path, { method: "POST", body: JSON.stringify(body), ...apiKey })).status, 403, `POST ${path} by a key`);
    }
    assert.is((await relay.app.request("/api/audit-log", apiKey)).status, 200, "an api key still reads with its role");
    const lower = { headers: { Authorization: apiKey.headers.Authorization.replace(/^Bearer/, "bearer") } };
    assert.is((await relay.app.request("/api/audit-log", lower)).status, 200, "the scheme name is case-insensitive (RFC 9110)");

    const sites = await relay.app.request("/api/sites", assistant);
    assert.is(sites.status, 403);
    assert.match((await errorOf(sites)).message, /AI assistant's key: it may only call the MCP endpoint/);
    const order = await relay.app.request(`/api/sites/${relay.siteId}/orders`, { method: "POST", body: JSON.stringify({ appliance_id: appliance.id, type: "force_scan", params: {} }), ...assistant });
    assert.is(order.status, 403, "an assistant key cannot send an order");
    const mcp = await relay.app.request("/api/mcp", { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }), headers: { ...assistant.headers, accept: "application/json, text/event-stream" } });
    assert.is(mcp.status, 200, "but it reaches the MCP tools");

    assert.is((await relay.app.request(`/api/approvals/${id}/approve`, userInit(admin, "POST", {}))).status, 200, "a person approves");
    assert.is((await count(relay.db, "approval_requests", "id = ? AND state = 'approved'", [id])), 1);
    const partnerAdmin = await asUser(relay, "partner_admin");
    const partnerAssistant = await relay.app.request(`/api/partners/${partnerAdmin.principal.partner_id}/api-keys`, userInit(partnerAdmin, "POST", { name: "x", scope: "assistant" }));
    assert.is(partnerAssistant.status, 400, "the MCP endpoint takes no partner key: no partner assistant keys");
  }));

test("a new user's password must not be blank or one repeated character, and a role takes only its own tenant field", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const create = (body: Record<string, unknown>) => relay.app.request("/api/users", userInit(admin, "POST", { email: `u${Math.random()}@example.test`, name: "U", role: "msp_tech", ...body }));
    for (const password of [" ".repeat(12), "a".repeat(16), "ab".repeat(8)]) {
      const res = await create({ password });
      assert.is(res.status, 400, JSON.stringify(password));
      assert.match((await errorOf(res)).message, /password: must use at least 4 different characters/);
    }
    assert.is((await create({ password: "correct horse battery" })).status, 201);
    const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "P" }, { clock: relay.clock, random });
    const mixed = await create({ role: "client_viewer", org_id: relay.orgId, partner_id: partner.id, password: "correct horse battery" });
    assert.is(mixed.status, 400);
    assert.match((await errorOf(mixed)).message, /partner_id: a clinic user's partner is its organisation's/);
    const partnerWithOrg = await create({ role: "partner_tech", partner_id: partner.id, org_id: relay.orgId, password: "correct horse battery" });
    assert.is(partnerWithOrg.status, 400);
    assert.match((await errorOf(partnerWithOrg)).message, /org_id: role partner_tech belongs to a partner/);
    // This relay has no SMTP: a clinic user without a password could never sign in.
    const noLink = await create({ role: "client_viewer", org_id: relay.orgId });
    assert.is(noLink.status, 503);
    assert.match((await errorOf(noLink)).message, /sends no e-mail .* a user without a password could never sign in: give them a password/);
    assert.is((await create({ role: "client_viewer", org_id: relay.orgId, password: "correct horse battery" })).status, 201, "with a password they can");
  }));

test("every answer carries the security headers, errors included", () =>
  withRelay(async (relay) => {
    for (const res of [await relay.app.request("/healthz"), await relay.app.request("/api/users"), await relay.app.request("/nope")]) {
      assert.is(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
      assert.not.match(CONTENT_SECURITY_POLICY, /unsafe-inline/);
      assert.is(res.headers.get("x-content-type-options"), "nosniff");
      assert.is(res.headers.get("referrer-policy"), "no-referrer");
    }
  }));

test("the audit log records logins and user changes, and each tenant sees only its own", () =>
  withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    await login(relay, admin.email, admin.password);
    await relay.app.request("/api/users", userInit(admin, "POST", { email: "owner@clinic.test", name: "Owner", role: "client_owner", org_id: relay.orgId, password: "correct horse battery" }));
    const owner = await asUser(relay, "client_owner");
    const seen = (await (await relay.app.request("/api/audit-log", userInit(admin))).json()) as { entries: { action: string; actor_email: string }[] };
    assert.ok(seen.entries.some((e) => e.action === "user.login" && e.actor_email === admin.email));
    assert.ok(seen.entries.some((e) => e.action === "user.create"));
    for (const query of ["limit=abc", "limit=0", "limit=501", "before=garbage", "before=0"]) {
      const bad = await relay.app.request(`/api/audit-log?${query}`, userInit(admin));
      assert.is(bad.status, 400, query);
      assert.match((await errorOf(bad)).message, /^(limit|before): /);
    }
    const page = (await (await relay.app.request("/api/audit-log?limit=1", userInit(admin))).json()) as { entries: { seq: number }[] };
    assert.is(page.entries.length, 1);
    const next = (await (await relay.app.request(`/api/audit-log?limit=1&before=${page.entries[0]!.seq}`, userInit(admin))).json()) as { entries: { seq: number }[] };
    assert.ok(next.entries[0]!.seq < page.entries[0]!.seq, "the next page is older");
    const partner = await asUser(relay, "partner_tech");
    const theirs = (await (await relay.app.request("/api/audit-log", userInit(partner))).json()) as { entries: unknown[] };
    assert.is(theirs.entries.length, 0, "a partner does not see the MSP's actions on an organisation it does not serve");
    assert.ok(owner);
  }));

/** The text of a quoted-printable mail body (soft breaks joined, =XX decoded). */
function quotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("magic link: a client user gets a single-use link by real SMTP that names no clinic; unknown addresses get nothing", async () => {
  const smtp = await startSmtpSink("portal@relay.example.test");
  const relay = await testRelay({ publicUrl: "https://relay.example.test" });
  relay.deps.mailer = smtp.mailer;
  try {
    const viewer = await asUser(relay, "client_viewer");
    const unknown = await relay.app.request("/api/auth/magic-link", jsonInit("POST", { email: "stranger@example.test" }));
    const known = await relay.app.request("/api/auth/magic-link", jsonInit("POST", { email: viewer.email }));
    assert.is(unknown.status, 202);
    assert.is(known.status, 202);
    await waitFor(() => smtp.mail.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.is(smtp.mail.length, 1, "only the known client user gets mail");
    const mail = quotedPrintable(smtp.mail[0]!);
    assert.match(mail, new RegExp(`To: ${viewer.email.replace(/[.]/g, "\\.")}`));
    assert.not.match(mail, /Test Clinic|Main Street/, "the e-mail names no clinic");
    const token = /https:\/\/relay\.example\.test\/login#magic=([A-Za-z0-9_-]{43})/.exec(mail)?.[1];
    assert.ok(token, "the mail carries the sign-in link");
    const first = await relay.app.request("/api/auth/magic-link/consume", jsonInit("POST", { token }));
    assert.is(first.status, 200);
    assert.match(first.headers.get("set-cookie") ?? "", /^osiris_session=/);
    const again = await relay.app.request("/api/auth/magic-link/consume", jsonInit("POST", { token }));
    assert.is(again.status, 401);
    assert.match((await errorOf(again)).message, /already used/);

    await relay.app.request("/api/auth/magic-link", jsonInit("POST", { email: viewer.email }));
    await waitFor(() => smtp.mail.length >= 2);
    const late = /magic=([A-Za-z0-9_-]{43})/.exec(quotedPrintable(smtp.mail[1]!))?.[1];
    relay.clock.t += MAGIC_LINK_TTL_MS + 1;
    const expired = await relay.app.request("/api/auth/magic-link/consume", jsonInit("POST", { token: late }));
    assert.is(expired.status, 401);
    assert.match((await errorOf(expired)).message, /expired/);
    const mangled = await relay.app.request("/api/auth/magic-link/consume", jsonInit("POST", { token: `${late}xyz` }));
    assert.is(mangled.status, 400);
    const refusal = await mangled.text();
    assert.match(refusal, /token: expected the token from the e-mailed link/);
    assert.not.ok(refusal.includes(late!), "a 400 never repeats the token it refused");
  } finally {
    await relay.close();
    await smtp.close();
  }
});

test("magic link on a relay without e-mail: a 503 that says so (for any address), not a promise of a link", async () => {
  const relay = await testRelay({ publicUrl: "https://relay.example.test" });
  try {
    const viewer = await asUser(relay, "client_viewer");
    for (const email of [viewer.email, "stranger@example.test"]) {
      const res = await relay.app.request("/api/auth/magic-link", jsonInit("POST", { email }));
      assert.is(res.status, 503);
      const e = await errorOf(res);
      assert.equal([e.code, /no e-mail set up/.test(e.message)], ["mail_unavailable", true]);
    }
    assert.is((await relay.db.execute("SELECT count(*) AS n FROM magic_links")).rows[0]!["n"], 0);
  } finally {
    await relay.close();
  }
});

test("MSP staff cannot use magic links: the request answers 202 and sends nothing", async () => {
  const smtp = await startSmtpSink("portal@relay.example.test");
  const relay = await testRelay({ publicUrl: "https://relay.example.test" });
  relay.deps.mailer = smtp.mailer;
  try {
    const admin = await asUser(relay, "msp_admin");
    assert.is((await relay.app.request("/api/auth/magic-link", jsonInit("POST", { email: admin.email }))).status, 202);
    await new Promise((r) => setTimeout(r, 300));
    assert.is(smtp.mail.length, 0);
  } finally {
    await relay.close();
    await smtp.close();
  }
});

test.run();
