/**
 * `GET|PUT /api/appliances/:appliance_id/config` in-process: who may read and change an appliance's signed
 * config, what a bad request is told, and that a change is audited and reaches the appliance's next pull.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex } from "../../protocol/encoding.ts";
import { parsePullResponse, PULL_SCHEMA } from "../../protocol/sync.ts";
import { verifyApplianceConfig } from "../../appliance/helpers/signed-config.ts";
import { asUser, count, enrolledAppliance, errorOf, testRelay, userInit, type TestAppliance, type TestRelay } from "../_testing.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";

const PINNED = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.05";

async function withRelay(fn: (relay: TestRelay, a: TestAppliance) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    await fn(relay, await enrolledAppliance(relay));
  } finally {
    await relay.close();
  }
}

test("an MSP admin PUTs a pinned system: 200 with version 1, audited, and the appliance's next pull carries it signed", async () => {
  await withRelay(async (relay, a) => {
    const admin = await asUser(relay, "msp_admin");
    const res = await relay.app.request(`/api/appliances/${a.id}/config`, userInit(admin, "PUT", { pinned_system: PINNED }));
    assert.is(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { version: number; changed: boolean; pinned_system: string; issued_by: string };
    assert.is(body.version, 1);
    assert.is(body.changed, true);
    assert.is(body.pinned_system, PINNED);
    assert.is(body.issued_by, admin.id);

    const log = await relay.app.request("/api/audit-log", userInit(admin));
    const entries = ((await log.json()) as { entries: { action: string; target: string; details: { version: number } }[] }).entries;
    const entry = entries.find((e) => e.action === "appliance.config.set");
    assert.ok(entry, "the change is in the audit log");
    assert.is(entry!.target, a.id);
    assert.is(entry!.details.version, 1);

    const pull = await a.request("POST", "/api/sync/pull", { schema: PULL_SCHEMA, appliance_id: a.id, ruleset_version: null, since: null, appliance_config_version: null });
    const pulled = parsePullResponse(await pull.json());
    const keys = a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
    assert.is((await verifyApplianceConfig(pulled.appliance_config, { relayKeys: keys, applianceId: a.id })).payload.pinned_system, PINNED);
  });
});

test("GET shows the config in force (null before one is set) to MSP and partner staff of the appliance's tenant", async () => {
  await withRelay(async (relay, a) => {
    const tech = await asUser(relay, "msp_tech");
    let res = await relay.app.request(`/api/appliances/${a.id}/config`, userInit(tech));
    assert.is(res.status, 200);
    assert.equal(await res.json(), { appliance_id: a.id, config: null });
    const admin = await asUser(relay, "msp_admin");
    await relay.app.request(`/api/appliances/${a.id}/config`, userInit(admin, "PUT", { pinned_system: PINNED, av_binary_sha256: "b".repeat(64) }));
    res = await relay.app.request(`/api/appliances/${a.id}/config`, userInit(tech));
    const got = (await res.json()) as { config: { version: number; pinned_system: string; av_binary_sha256: string; firewall_baseline: null } };
    assert.is(got.config.version, 1);
    assert.is(got.config.pinned_system, PINNED);
    assert.is(got.config.av_binary_sha256, "b".repeat(64));
    assert.is(got.config.firewall_baseline, null);

    // A partner's staff see the config of an appliance at a clinic sold through that partner.
    const env = { clock: relay.clock, random: (n: number) => crypto.getRandomValues(new Uint8Array(n)) };
    const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Reseller" }, env);
    const org = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner.id, name: "Partner Clinic" }, env);
    const site = await createSite(relay.db, { org_id: org.id, name: "Partner Site", timezone: "UTC" }, env);
    const b = await enrolledAppliance(relay, undefined, site.id);
    const partnerTech = await asUser(relay, "partner_tech", { partner_id: partner.id });
    assert.is((await relay.app.request(`/api/appliances/${b.id}/config`, userInit(partnerTech))).status, 200);
    const outside = await relay.app.request(`/api/appliances/${a.id}/config`, userInit(partnerTech));
    assert.is(outside.status, 404, "another tenant's appliance does not exist for them");
  });
});

test("only an MSP admin may change it: MSP tech, partner admin and client owner are refused (403) and nothing is signed", async () => {
  await withRelay(async (relay, a) => {
    for (const role of ["msp_tech", "partner_admin", "client_owner"] as const) {
      const user = await asUser(relay, role);
      const res = await relay.app.request(`/api/appliances/${a.id}/config`, userInit(user, "PUT", { pinned_system: PINNED }));
      assert.is(res.status, 403, role);
      assert.is((await errorOf(res)).code, "forbidden");
    }
    const viewer = await asUser(relay, "client_viewer");
    assert.is((await relay.app.request(`/api/appliances/${a.id}/config`, userInit(viewer))).status, 403, "clinic users do not read it");
    assert.is(await count(relay.db, "appliance_configs"), 0);
  });
});

test("PUT refusals name the problem: a bad store path (400), no field (400), an unknown appliance (404); nothing is stored", async () => {
  await withRelay(async (relay, a) => {
    const admin = await asUser(relay, "msp_admin");
    const put = (id: string, body: unknown) => relay.app.request(`/api/appliances/${id}/config`, userInit(admin, "PUT", body));
    let res = await put(a.id, { pinned_system: "nixos-25.05" });
    assert.is(res.status, 400);
    let err = await errorOf(res);
    assert.is(err.code, "schema");
    assert.match(err.message, /pinned_system: expected a Nix store path \/nix\/store\/<hash>-<name>/);
    res = await put(a.id, {});
    assert.is(res.status, 400);
    assert.match((await errorOf(res)).message, /give at least one of pinned_system/);
    res = await put("app_unknown000", { pinned_system: PINNED });
    assert.is(res.status, 404);
    assert.is(await count(relay.db, "appliance_configs"), 0);
    assert.is(await count(relay.db, "audit_log", "action = 'appliance.config.set'"), 0);
  });
});

test("the OpenAPI document lists both routes with their callers", async () => {
  await withRelay(async (relay) => {
    const res = await relay.app.request("/api/openapi.json");
    assert.is(res.status, 200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const path = doc.paths["/api/appliances/{appliance_id}/config"];
    assert.ok(path?.["get"] && path["put"], JSON.stringify(Object.keys(doc.paths)).slice(0, 400));
  });
});

test.run();
