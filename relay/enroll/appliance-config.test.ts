/**
 * setApplianceConfig() and its delivery by pull, in-process against a real relay on a temp libSQL file. The
 * envelopes are checked with the appliance's own verifier (appliance/helpers/signed-config.ts) and the keys the
 * simulated appliance pinned at enrollment.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex } from "../../protocol/encoding.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { parsePullResponse, PULL_SCHEMA, type PullResponse } from "../../protocol/sync.ts";
import { verifyApplianceConfig } from "../../appliance/helpers/signed-config.ts";
import { asUser, count, enrolledAppliance, errorOf, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { revokeAppliance } from "./enroll.ts";
import { currentApplianceConfig, setApplianceConfig } from "./appliance-config.ts";

const PINNED = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.05";
const PINNED_2 = "/nix/store/1a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.11";
const AV = "a".repeat(64);
const BASELINE = {
  nftables: [
    { metainfo: { version: "1.0.9", release_name: "Old Doc Yak #3", json_schema_version: 1 } },
    { table: { family: "inet", name: "filter", handle: 1 } },
    { chain: { family: "inet", table: "filter", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
  ],
};

function pinned(a: TestAppliance): TrustedKey[] {
  return a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.unreachable("expected a rejection");
}

async function pullPost(a: TestAppliance, version: number | null | undefined): Promise<PullResponse & Record<string, unknown>> {
  const body = { schema: PULL_SCHEMA, appliance_id: a.id, ruleset_version: null, since: null, ...(version === undefined ? {} : { appliance_config_version: version }) };
  const res = await a.request("POST", "/api/sync/pull", body);
  assert.is(res.status, 200, await res.clone().text());
  const json = (await res.json()) as Record<string, unknown>;
  return { ...parsePullResponse(json), ...json } as PullResponse & Record<string, unknown>;
}

async function withRelay(fn: (relay: TestRelay, a: TestAppliance) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    await fn(relay, await enrolledAppliance(relay));
  } finally {
    await relay.close();
  }
}

test("setApplianceConfig() signs version 1 for the appliance, which the appliance's own verifier accepts with its pinned keys", async () => {
  await withRelay(async (relay, a) => {
    const admin = await asUser(relay, "msp_admin");
    const r = await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED, firewall_baseline: BASELINE }, admin.principal);
    assert.is(r.version, 1);
    assert.is(r.changed, true);
    assert.is(r.pinned_system, PINNED);
    assert.is(r.av_binary_sha256, null, "a field never given is null");
    assert.match(r.baseline_sha256 ?? "", /^[0-9a-f]{64}$/);
    assert.is(r.issued_by, admin.id);
    const pulled = await pullPost(a, null);
    const verified = await verifyApplianceConfig(pulled.appliance_config, { relayKeys: pinned(a), applianceId: a.id });
    assert.is(verified.payload.version, 1);
    assert.is(verified.payload.pinned_system, PINNED);
    assert.is(verified.hash, r.payload_sha256);
    assert.is(verified.baselineSha256, r.baseline_sha256);
    const audit = await relay.db.execute({ sql: "SELECT action, target, site_id, details FROM audit_log WHERE action = 'appliance.config.set'" });
    assert.is(audit.rows.length, 1, "audited once");
    assert.is(audit.rows[0]!["target"], a.id);
    assert.is(audit.rows[0]!["site_id"], a.siteId);
    assert.equal(JSON.parse(String(audit.rows[0]!["details"]))["changed"], ["pinned_system", "firewall_baseline"]);
  });
});

test("a change keeps the fields it does not name, null clears one, and each real change is the next version", async () => {
  await withRelay(async (relay, a) => {
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED, av_binary_sha256: AV }, "cli:test");
    const v2 = await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED_2 }, "cli:test");
    assert.is(v2.version, 2);
    assert.is(v2.pinned_system, PINNED_2);
    assert.is(v2.av_binary_sha256, AV, "carried over");
    const v3 = await setApplianceConfig(relay.deps, a.id, { av_binary_sha256: null }, "cli:test");
    assert.is(v3.version, 3);
    assert.is(v3.av_binary_sha256, null);
    assert.is(v3.pinned_system, PINNED_2);
    const { changed, ...record } = v3;
    assert.ok(changed);
    assert.equal(await currentApplianceConfig(relay.db, a.id), record, "what GET shows");
  });
});

test("a change that changes nothing signs nothing: same version, changed false", async () => {
  await withRelay(async (relay, a) => {
    const first = await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    const again = await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    assert.is(again.changed, false);
    assert.is(again.version, first.version);
    assert.is(await count(relay.db, "appliance_configs"), 1);
  });
});

test("setApplianceConfig() refuses a malformed change naming the field, and unknown or revoked appliances; nothing is stored", async () => {
  await withRelay(async (relay, a) => {
    const cases: [unknown, RegExp][] = [
      [{ pinned_system: "/etc/nixos" }, /^pinned_system: expected a Nix store path/],
      [{ av_binary_sha256: "ABC" }, /^av_binary_sha256: expected lower-case hex SHA-256/],
      [{ firewall_baseline: { nftables: [{ metainfo: {} }] } }, /firewall_baseline: the firewall baseline must be an `nft -j list ruleset` document with at least one table/],
      [{}, /give at least one of pinned_system, av_binary_sha256, firewall_baseline/],
      [{ pinned_system: PINNED, version: 9 }, /version: unknown field/],
    ];
    for (const [change, re] of cases) {
      const e = await rejection(setApplianceConfig(relay.deps, a.id, change, "cli:test"));
      assert.ok(e instanceof ValidationError && e.code === "schema", `${JSON.stringify(change)} → ${String(e)}`);
      assert.match((e as Error).message, re);
    }
    const unknown = await rejection(setApplianceConfig(relay.deps, "app_unknown000", { pinned_system: PINNED }, "cli:test"));
    assert.ok(unknown instanceof RelayError && unknown.code === "appliance_unknown");
    await revokeAppliance(relay.deps, a.id, "stolen");
    const revoked = await rejection(setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test"));
    assert.ok(revoked instanceof RelayError && revoked.code === "appliance_inactive" && revoked.status === 409, String(revoked));
    assert.is(await count(relay.db, "appliance_configs"), 0);
  });
});

test("stored versions are append-only: UPDATE and DELETE are refused by the database", async () => {
  await withRelay(async (relay, a) => {
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    const upd = await rejection(relay.db.execute({ sql: "UPDATE appliance_configs SET pinned_system = ?", args: [PINNED_2] }));
    assert.match(String(upd), /append-only: UPDATE refused/);
    const del = await rejection(relay.db.execute("DELETE FROM appliance_configs"));
    assert.match(String(del), /append-only: DELETE refused/);
  });
});

test("pull hands out the newest config only when newer than the version the appliance reports", async () => {
  await withRelay(async (relay, a) => {
    assert.is((await pullPost(a, null)).appliance_config, null, "none set yet");
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED_2 }, "cli:test");
    const got = await pullPost(a, null);
    assert.is((await verifyApplianceConfig(got.appliance_config, { relayKeys: pinned(a), applianceId: a.id })).payload.version, 2, "the newest, not every version");
    assert.ok((await pullPost(a, 1)).appliance_config);
    assert.is((await pullPost(a, 2)).appliance_config, null, "in force already");
    assert.is((await pullPost(a, 5)).appliance_config, null, "an appliance ahead of the relay (restored relay database) is not rolled back");
  });
});

test("pull never hands an appliance another appliance's config", async () => {
  await withRelay(async (relay, a) => {
    const b = await enrolledAppliance(relay);
    await setApplianceConfig(relay.deps, b.id, { pinned_system: PINNED }, "cli:test");
    assert.is((await pullPost(a, null)).appliance_config, null);
    const forB = (await pullPost(b, null)).appliance_config;
    const e = await rejection(verifyApplianceConfig(forB, { relayKeys: pinned(a), applianceId: a.id }));
    assert.ok(e instanceof IntegrityError && e.code === "wrong_target", "and a's verifier would refuse b's");
  });
});

test("an appliance that does not report a config version (older appliance) gets no appliance_config field at all", async () => {
  await withRelay(async (relay, a) => {
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    const old = await pullPost(a, undefined);
    assert.not.ok("appliance_config" in old, "its strict parser would refuse an unknown field");
    const res = await a.request("GET", "/api/sync/pull?ruleset_version=1");
    assert.not.ok("appliance_config" in ((await res.json()) as object));
  });
});

test("GET pull takes appliance_config_version in the query (0 = none yet) and refuses a malformed one", async () => {
  await withRelay(async (relay, a) => {
    await setApplianceConfig(relay.deps, a.id, { pinned_system: PINNED }, "cli:test");
    const get = async (q: string) => {
      const res = await a.request("GET", `/api/sync/pull${q}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    assert.ok((await get("?appliance_config_version=0")).body["appliance_config"]);
    assert.is((await get("?appliance_config_version=1")).body["appliance_config"], null);
    const bad = await a.request("GET", "/api/sync/pull?appliance_config_version=-1");
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /^appliance_config_version: expected 0 \(none yet\) or a positive integer, got "-1"/);
  });
});
test.run();
