import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex } from "../../protocol/encoding.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { IntegrityError } from "../../protocol/errors.ts";
import { isoTime } from "../../protocol/ids.ts";
import { verifyOrder } from "../../protocol/orders.ts";
import { RULESET_SCHEMA, verifyRuleset } from "../../protocol/ruleset.ts";
import { parsePullResponse, PULL_SCHEMA, type PullResponse } from "../../protocol/sync.ts";
import { enrolledAppliance, errorOf, testRelay, type TestAppliance } from "../_testing.ts";
import { revokeAppliance } from "../enroll/enroll.ts";
import { RelayError } from "../errors.ts";
import { catalogueOrderParams } from "./catalogue-params.ts";
import { issueOrder } from "./issue.ts";
import { publishRuleset } from "./rulesets.ts";

function pinned(a: TestAppliance): TrustedKey[] {
  return a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
}

async function pull(a: TestAppliance, query = ""): Promise<PullResponse> {
  const res = await a.request("GET", `/api/sync/pull${query}`);
  assert.is(res.status, 200, await res.clone().text());
  return parsePullResponse(await res.json());
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.instance(e, RelayError);
    return (e as RelayError).code;
  }
}

test("pull returns the appliance's signed orders, which verifyOrder accepts for that appliance only", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const b = await enrolledAppliance(relay);
    const issued = await issueOrder(relay.db, { appliance_id: a.id, type: "force_scan", params: {}, issued_by: "user_tech0001" }, relay.deps);
    await issueOrder(relay.db, { appliance_id: b.id, type: "force_scan", params: {}, issued_by: "user_tech0001" }, relay.deps);

    const got = await pull(a);
    assert.is(got.orders.length, 1);
    const order = await verifyOrder(got.orders[0], { relayKeys: pinned(a), applianceId: a.id, siteId: a.siteId, now: relay.clock.now(), validateParams: catalogueOrderParams });
    assert.is(order.order_id, issued.order_id);
    assert.is(order.target_appliance_id, a.id);
    assert.is(order.issued_by, "user_tech0001");
    assert.is(order.expires_at, isoTime(relay.clock.now() + 900_000), "the order type's default TTL");
    try {
      await verifyOrder(got.orders[0], { relayKeys: pinned(b), applianceId: b.id, now: relay.clock.now(), validateParams: catalogueOrderParams });
      assert.unreachable("another appliance must refuse it");
    } catch (e) {
      assert.instance(e, IntegrityError);
      assert.is((e as IntegrityError).code, "wrong_target");
    }
    const bOrders = (await pull(b)).orders;
    assert.is(bOrders.length, 1);
    assert.is.not(bOrders[0]!.payload, got.orders[0]!.payload);
  } finally {
    await relay.close();
  }
});

test("orders are handed out again until a result comes back, and never after they expire", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const first = await issueOrder(relay.db, { appliance_id: a.id, type: "force_scan", params: {}, issued_by: "t" }, relay.deps);
    await issueOrder(relay.db, { appliance_id: a.id, type: "update_credentials_now", params: {}, issued_by: "t", ttl_ms: 60_000 }, relay.deps);
    assert.is((await pull(a)).orders.length, 2);
    assert.is((await pull(a)).orders.length, 2, "a lost pull response loses no order");
    relay.clock.t += 60_000;
    assert.is((await pull(a)).orders.length, 1, "the expired one is gone");
    const res = await a.push([{ outbox_seq: 1, type: "order_result", body: { order_id: first.order_id, outcome: "success", detail: "scanned" } }]);
    assert.is(res.status, 200);
    assert.is((await pull(a)).orders.length, 0, "a completed order is not handed out again");
    const row = (await relay.db.execute({ sql: "SELECT status, result FROM orders WHERE id = ?", args: [first.order_id] })).rows[0]!;
    assert.is(row["status"], "done");
    assert.match(String(row["result"]), /"outcome":"success"/);
  } finally {
    await relay.close();
  }
});

test("issueOrder() refuses unknown types, bad params, unknown or revoked appliances and lifetimes over 24 h", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const base = { appliance_id: a.id, issued_by: "t" };
    assert.is(await codeOf(issueOrder(relay.db, { ...base, type: "format_disk", params: {} }, relay.deps)), "schema");
    try {
      await issueOrder(relay.db, { ...base, type: "force_scan", params: { bogus: 1 } }, relay.deps);
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /bogus/);
    }
    assert.is(await codeOf(issueOrder(relay.db, { ...base, type: "force_scan", params: {}, ttl_ms: 25 * 3_600_000 }, relay.deps)), "schema");
    try {
      await issueOrder(relay.db, { ...base, type: "force_scan", params: {}, ttl_ms: 5_000 }, relay.deps);
      assert.unreachable("an order that would expire before the next pull");
    } catch (e) {
      assert.match((e as Error).message, /^ttl: an order lives 60 to 86400 seconds: current value is 5 s$/);
    }
    assert.is(await codeOf(issueOrder(relay.db, { ...base, appliance_id: "app_unknown000", type: "force_scan", params: {} }, relay.deps)), "appliance_unknown");
    await revokeAppliance(relay.deps, a.id, "gone");
    assert.is(await codeOf(issueOrder(relay.db, { ...base, type: "force_scan", params: {} }, relay.deps)), "appliance_revoked");
  } finally {
    await relay.close();
  }
});

test("pull returns the signed rule set only when it is newer than the appliance's", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    assert.is((await pull(a)).ruleset, null);
    const published = await publishRuleset(relay.db, { schema: RULESET_SCHEMA, version: 3, issued_at: isoTime(relay.clock.now()), rules: [] }, relay.relayKey);
    const got = await pull(a);
    const verified = await verifyRuleset(got.ruleset, { relayKeys: pinned(a), currentVersion: null });
    assert.is(verified.payload.version, 3);
    assert.is(verified.hash, published.ruleset_hash);
    assert.ok((await pull(a, "?ruleset_version=2")).ruleset);
    assert.is((await pull(a, "?ruleset_version=3")).ruleset, null);
    assert.is(await codeOf(publishRuleset(relay.db, { schema: RULESET_SCHEMA, version: 3, issued_at: isoTime(relay.clock.now()), rules: [] }, relay.relayKey)), "stale_version");
  } finally {
    await relay.close();
  }
});

test("pull carries the site configuration, the relay keys and the relay's time", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const got = await pull(a);
    assert.equal(got.site_config, {
      site_id: relay.siteId,
      healing_mode: "observe",
      maintenance_windows: [],
      l2_enabled: false,
      deployment_mode: "direct",
      reseller_id: null,
      timezone: "America/Chicago",
      disabled_checks: [],
    });
    assert.equal(got.relay_keys, a.relayKeys);
    assert.is(got.relay_time, "2026-11-27T12:00:00.000Z");
    assert.equal(got.credentials, []);
  } finally {
    await relay.close();
  }
});

test("POST /api/sync/pull takes a PullRequest body and refuses one naming another appliance", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const b = await enrolledAppliance(relay);
    const ok = await a.request("POST", "/api/sync/pull", { schema: PULL_SCHEMA, appliance_id: a.id, ruleset_version: null, since: null });
    assert.is(ok.status, 200);
    parsePullResponse(await ok.json());
    const other = await a.request("POST", "/api/sync/pull", { schema: PULL_SCHEMA, appliance_id: b.id, ruleset_version: null, since: null });
    assert.is(other.status, 403);
    assert.is((await errorOf(other)).code, "appliance_mismatch");
    const bad = await a.request("GET", "/api/sync/pull?ruleset_version=abc");
    assert.is(bad.status, 400);
  } finally {
    await relay.close();
  }
});

test("pull with 'since' leaves out orders issued well before it", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await issueOrder(relay.db, { appliance_id: a.id, type: "force_scan", params: {}, issued_by: "t", ttl_ms: 3_600_000 }, relay.deps);
    relay.clock.t += 20 * 60_000;
    const since = isoTime(relay.clock.now());
    assert.is((await pull(a, `?since=${since}`)).orders.length, 0);
    assert.is((await pull(a)).orders.length, 1);
  } finally {
    await relay.close();
  }
});

test.run();
