/**
 * The relay client against a real relay app in-process (real libSQL file, real routes), through a fetch
 * that keeps cookies the way a browser does: login, CSRF on changes, error envelopes, "no such route".
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRelayApp } from "../../relay/app.ts";
import { SYNC_ROUTES } from "../../relay/routes.ts";
import { AUTH_ROUTES } from "../../relay/auth/routes.ts";
import { SITE_ROUTES } from "../../relay/sites/routes.ts";
import { asUser, testRelay, type TestRelay } from "../../relay/_testing.ts";
import { RelayApiError, RelayClient } from "./mod.ts";

/** A fetch into the in-process app with a cookie jar (one browser). */
function browserFetch(relay: TestRelay, app = relay.app): typeof fetch {
  let cookie = "";
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (cookie) headers.set("Cookie", cookie);
    const res = await app.request(String(input), { ...init, headers });
    const set = res.headers.get("Set-Cookie");
    if (set) cookie = set.split(";")[0]!;
    return res;
  };
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

test("RelayClient logs in, keeps the CSRF token for changes, and reports a missing login as loginRequired", async () => {
  const relay = await testRelay();
  try {
    const user = await asUser(relay, "msp_admin");
    const client = new RelayClient({ fetch: browserFetch(relay) });
    const before = await rejection(client.session());
    assert.is(before.loginRequired, true);
    const s = await client.login(user.email, user.password);
    assert.is(s.user.role, "msp_admin");
    const cfg = await client.updateSettings(relay.siteId, { healing_mode: "advise" });
    assert.is(cfg.healing_mode, "advise", "the PUT carried the CSRF token");
    const other = new RelayClient({ fetch: browserFetch(relay) });
    await other.login(user.email, user.password);
    other.csrfToken = "wrong";
    assert.is((await rejection(other.updateSettings(relay.siteId, { healing_mode: "observe" }))).code, "csrf_invalid");
    await client.logout();
    assert.is((await rejection(client.fleet())).loginRequired, true);
  } finally {
    await relay.close();
  }
});

test("RelayClient tells a missing feature (no route) from a refused resource, and carries lockout timing", async () => {
  const relay = await testRelay();
  try {
    const user = await asUser(relay, "msp_admin");
    // A relay without the credential routes: the dashboard must show "not available", not an error.
    const small = createRelayApp(relay.deps, [...SYNC_ROUTES, ...AUTH_ROUTES, ...SITE_ROUTES]);
    const client = new RelayClient({ fetch: browserFetch(relay, small) });
    await client.login(user.email, user.password);
    const missing = await rejection(client.credentials(relay.siteId));
    assert.equal([missing.status, missing.noRoute], [404, true]);
    const refused = await rejection(client.site("site_notvisible000000"));
    assert.equal([refused.status, refused.noRoute], [404, false]);
    const bad = await rejection(client.previewWindow(relay.siteId, { rrule: "FREQ=HOURLY", duration: "PT1H" }));
    assert.equal([bad.status, bad.code], [400, "schema"]);
    assert.match(bad.message, /DAILY, WEEKLY/);

    const victim = await asUser(relay, "msp_tech");
    const attacker = new RelayClient({ fetch: browserFetch(relay) });
    let last: RelayApiError | null = null;
    for (let i = 0; i < 5; i++) last = await rejection(attacker.login(victim.email, "not the password"));
    assert.is(last!.code, "account_locked");
    assert.is(last!.status, 423);
    assert.is(last!.retryAfterS, 900);
  } finally {
    await relay.close();
  }
});

test("RelayClient draws a claim code's QR with the code in the body, never in the URL", async () => {
  const relay = await testRelay();
  try {
    const user = await asUser(relay, "msp_admin");
    const urls: string[] = [];
    const inner = browserFetch(relay);
    const client = new RelayClient({ fetch: (input, init) => (urls.push(String(input)), inner(input, init)) });
    await client.login(user.email, user.password);
    const created = await client.createClaimCode(relay.siteId, 3);
    const svg = await client.claimCodeQr(relay.siteId, created.code, "svg");
    assert.is(svg, created.qr_svg);
    const png = (await client.claimCodeQr(relay.siteId, created.code, "png")) as Uint8Array;
    assert.is(png[1], 0x50);
    assert.ok(urls.every((u) => !u.includes(created.code) && !u.includes(created.code.replaceAll("-", ""))), urls.join(" "));
  } finally {
    await relay.close();
  }
});

test.run();
