/**
 * The sync client and the signed appliance config, against the REAL relay on loopback (appliance/sync/_testing.ts):
 * a config the MSP sets arrives with the next pull, is verified with the pinned relay keys and stored; a forged,
 * another appliance's or an older one is refused (logged once, like a refused rule set) and the one in force
 * stays. Tampering is injected through the wrapped fetch (a man in the middle rewriting the pull answer). The
 * "old relay" is the same wrapped fetch answering exactly what a relay without this feature answers (400
 * `schema` naming the unknown field) — a stand-in, since no older relay build exists in this tree.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner } from "../../protocol/crypto.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { errorEnvelope } from "../../protocol/sync.ts";
import { setApplianceConfig } from "../../relay/enroll/appliance-config.ts";
import { APPLIANCE_CONFIG_SCHEMA, readApplianceConfig, signApplianceConfig } from "../helpers/index.ts";
import { loopbackRelay, random, syncFixture, type LoopbackRelay, type SyncFixture } from "./_testing.ts";

const PINNED = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.05";
const PINNED_2 = "/nix/store/1a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.11";
const EVIL = "/nix/store/ea1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-evil";

async function withSync(fn: (lr: LoopbackRelay, a: SyncFixture) => Promise<void>): Promise<void> {
  const lr = await loopbackRelay();
  const a = await syncFixture(lr);
  try {
    await fn(lr, a);
  } finally {
    await a.close();
    await lr.close();
  }
}

const idOf = (a: SyncFixture) => a.identity.appliance_id!;

async function inForce(a: SyncFixture): Promise<{ version: number; pinned_system: string | null } | null> {
  const stored = await readApplianceConfig(a.store, { relayKeys: a.identity.relayKeys, applianceId: idOf(a) });
  if (stored.status === "invalid") throw new Error(stored.reason);
  return stored.status === "verified" ? { version: stored.config.payload.version, pinned_system: stored.config.payload.pinned_system } : null;
}

/** The envelope the relay stored for `applianceId` at `version`. */
async function relayEnvelope(lr: LoopbackRelay, applianceId: string, version: number): Promise<Envelope> {
  const rs = await lr.relay.db.execute({ sql: "SELECT envelope FROM appliance_configs WHERE appliance_id = ? AND version = ?", args: [applianceId, version] });
  return JSON.parse(String(rs.rows[0]!["envelope"])) as Envelope;
}

/** Rewrites every pull answer's `appliance_config` to `envelope` (a man in the middle). */
function replacePulledConfig(a: SyncFixture, envelope: Envelope): void {
  a.probe.intercept = async (path, _init, send) => {
    if (path !== "/api/sync/pull") return undefined;
    const res = await send();
    const body = (await res.json()) as Record<string, unknown>;
    return new Response(JSON.stringify({ ...body, appliance_config: envelope }), { status: res.status, headers: { "content-type": "application/json" } });
  };
}

/** The JSON bodies of the pulls sent so far (captured by an intercept that forwards them). */
function recordPullBodies(a: SyncFixture): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [];
  a.probe.intercept = async (path, init) => {
    if (path === "/api/sync/pull") bodies.push(JSON.parse(String(init.body)) as Record<string, unknown>);
    return undefined;
  };
  return bodies;
}

test("a config the MSP sets arrives with the next pull, verified and stored; later pulls report its version and are not sent it again", async () => {
  await withSync(async (lr, a) => {
    const bodies = recordPullBodies(a);
    assert.is((await a.client.pull()).appliance_config_installed, null, "nothing set yet");
    assert.is(bodies[0]!["appliance_config_version"], null, "the pull says none is in force");
    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED }, "cli:test");
    const r = await a.client.pull();
    assert.is(r.appliance_config_installed, 1);
    assert.equal(await inForce(a), { version: 1, pinned_system: PINNED });
    assert.is(a.log.find("appliance_config_installed").length, 1);
    const again = await a.client.pull();
    assert.is(again.appliance_config_installed, null);
    assert.is(bodies.at(-1)!["appliance_config_version"], 1);

    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED_2 }, "cli:test");
    assert.is((await a.client.sync()).pull.appliance_config_installed, 2, "a full sync round delivers it too");
    assert.equal(await inForce(a), { version: 2, pinned_system: PINNED_2 });
  });
});

test("a config not signed by a pinned relay key is refused and logged once; the one in force stays", async () => {
  await withSync(async (lr, a) => {
    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED }, "cli:test");
    await a.client.pull();
    const stranger = createSigner(random(32));
    const forged = await signApplianceConfig({ schema: APPLIANCE_CONFIG_SCHEMA, appliance_id: idOf(a), version: 9, issued_at: "2026-11-27T12:00:00.000Z", pinned_system: EVIL, av_binary_sha256: null, firewall_baseline: null }, stranger);
    replacePulledConfig(a, forged);
    assert.is((await a.client.pull()).appliance_config_installed, null);
    assert.is((await a.client.pull()).appliance_config_installed, null);
    const refused = a.log.find("appliance_config_refused");
    assert.is(refused.length, 1, "logged once, not at every pull");
    assert.is(refused[0]!.level, "error");
    assert.is(refused[0]!.fields["code"], "unknown_key");
    assert.equal(await inForce(a), { version: 1, pinned_system: PINNED });
  });
});

test("another appliance's config (signed by the relay for it) is refused as wrong_target; nothing is stored", async () => {
  await withSync(async (lr, a) => {
    const b = await syncFixture(lr);
    try {
      await setApplianceConfig(lr.relay.deps, idOf(b), { pinned_system: EVIL }, "cli:test");
      replacePulledConfig(a, await relayEnvelope(lr, idOf(b), 1));
      assert.is((await a.client.pull()).appliance_config_installed, null);
      assert.is(a.log.find("appliance_config_refused")[0]?.fields["code"], "wrong_target");
      assert.is(await inForce(a), null);
      assert.is((await b.client.pull()).appliance_config_installed, 1, "its own appliance takes it");
    } finally {
      await b.close();
    }
  });
});

test("an older version replayed is refused as stale_version: a signed pin cannot roll the appliance back", async () => {
  await withSync(async (lr, a) => {
    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED }, "cli:test");
    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED_2 }, "cli:test");
    await a.client.pull();
    assert.equal(await inForce(a), { version: 2, pinned_system: PINNED_2 });
    replacePulledConfig(a, await relayEnvelope(lr, idOf(a), 1));
    assert.is((await a.client.pull()).appliance_config_installed, null);
    assert.is(a.log.find("appliance_config_refused")[0]?.fields["code"], "stale_version");
    assert.equal(await inForce(a), { version: 2, pinned_system: PINNED_2 });
  });
});

test("a relay that predates appliance configs (refuses the field) is pulled from without it, and not asked again", async () => {
  await withSync(async (lr, a) => {
    let withField = 0;
    a.probe.intercept = async (path, init) => {
      if (path !== "/api/sync/pull" || !String(init.body).includes("appliance_config_version")) return undefined;
      withField++;
      const old = errorEnvelope("schema", "appliance_config_version: unknown field", { what: "pull request", path: "value", problems: ["appliance_config_version: unknown field"] });
      return new Response(JSON.stringify(old), { status: 400, headers: { "content-type": "application/json" } });
    };
    await setApplianceConfig(lr.relay.deps, idOf(a), { pinned_system: PINNED }, "cli:test");
    const r = await a.client.pull();
    assert.is(r.appliance_config_installed, null);
    assert.is(r.site_config, "changed", "the rest of the pull is applied (the first site configuration)");
    await a.client.pull();
    assert.is(withField, 1, "asked once");
    assert.is(a.log.find("relay_without_appliance_config").length, 1);
  });
});

test.run();
