/**
 * End to end: the MSP pins a system on the REAL relay (HTTP on loopback, a signed-in MSP admin), the REAL
 * appliance daemon (Appliance.open on the lab clinic, its libSQL store) pulls the signed config, and the root
 * helper's `switch-pinned` (runHelperAction, exactly what `osiris appliance helper switch-pinned` runs, reading
 * the daemon's store file) acts on exactly that store path. The Nix and systemd commands are a STAND-IN
 * (helpers/_test-appliance.ts `fakeNixos`): this machine has no Nix store to switch and no systemd as PID 1.
 * Forged, another appliance's and older configs are injected by a man in the middle (wrapped fetch).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner } from "../../protocol/crypto.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { asUser, enrolledAppliance, overHttp, userInit } from "../../relay/_testing.ts";
import type { Config } from "../config/index.ts";
import { Appliance } from "../daemon/appliance.ts";
import { APPLIANCE_CONFIG_SCHEMA, readSignedState, runHelperAction, signApplianceConfig, type HelperDeps } from "../helpers/index.ts";
import { fakeNixos, storePath, type FakeNixos } from "../helpers/_test-appliance.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog, type FetchProbe, type LoopbackRelay } from "./_testing.ts";

const RUNNING = storePath("running");
const PINNED = storePath("pinned");
const PINNED_2 = storePath("newer");
const EVIL = storePath("evil");

interface World {
  lr: LoopbackRelay;
  app: Appliance;
  config: Config;
  probe: FetchProbe;
  log: ReturnType<typeof recordingLog>;
  nixos: FakeNixos;
  helper: HelperDeps;
  /** PUT /api/appliances/:id/config as a signed-in MSP admin, over HTTP. */
  pin(applianceId: string, body: unknown): Promise<{ version: number; changed: boolean }>;
}

async function withWorld(fn: (w: World) => Promise<void>): Promise<void> {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-config-e2e-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const log = recordingLog();
  const probe = fetchProbe();
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log, fetch: probe.fetch });
  try {
    const nixos = await fakeNixos(dir, [RUNNING]);
    let t = lr.relay.clock.now();
    const helper: HelperDeps = {
      run: nixos.run,
      now: () => (t += 1000),
      sleep: async (ms) => void (t += ms),
      paths: { resultDir: nixos.resultDir, currentSystem: nixos.currentSystem, systemProfile: nixos.systemProfile, tmpDir: nixos.tmpDir },
      // What the CLI wires: the signed state read from the daemon's own store file.
      readState: () => readSignedState(config.database, { trustFile: join(dir, "helper-trust.json") }),
    };
    const admin = await asUser(lr.relay, "msp_admin");
    const pin = async (applianceId: string, body: unknown) => {
      const res = await fetch(`${lr.url}/api/appliances/${applianceId}/config`, userInit(admin, "PUT", body));
      assert.is(res.status, 200, await res.clone().text());
      return (await res.json()) as { version: number; changed: boolean };
    };
    await fn({ lr, app, config, probe, log, nixos, helper, pin });
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const nixCalls = (n: FakeNixos) => n.calls.filter((c) => c[0] !== "systemctl");

/** Rewrites the pull answers' `appliance_config` to `envelope` (a man in the middle). */
function tamper(probe: FetchProbe, envelope: Envelope): void {
  probe.intercept = async (path, _init, send) => {
    if (path !== "/api/sync/pull") return undefined;
    const res = await send();
    const body = (await res.json()) as Record<string, unknown>;
    return new Response(JSON.stringify({ ...body, appliance_config: envelope }), { status: res.status, headers: { "content-type": "application/json" } });
  };
}

async function relayEnvelope(lr: LoopbackRelay, applianceId: string, version: number): Promise<Envelope> {
  const rs = await lr.relay.db.execute({ sql: "SELECT envelope FROM appliance_configs WHERE appliance_id = ? AND version = ?", args: [applianceId, version] });
  return JSON.parse(String(rs.rows[0]!["envelope"])) as Envelope;
}

test("the MSP pins a system, the daemon pulls the signed config, and switch-pinned switches to exactly that store path", async () => {
  await withWorld(async ({ app, helper, nixos, pin }) => {
    const id = app.status().appliance_id;
    let r = await runHelperAction("switch-pinned", helper);
    assert.is(r.result.outcome, "refused", "nothing pinned yet");

    const first = await pin(id, { pinned_system: PINNED });
    assert.is(first.version, 1);
    assert.is(first.changed, true);
    assert.is((await app.sync!.client.sync()).pull.appliance_config_installed, 1);
    r = await runHelperAction("switch-pinned", helper);
    assert.is(r.result.outcome, "success", r.result.detail);
    assert.equal(nixCalls(nixos), [
      ["nix-store", "--realise", PINNED],
      ["nix-env", "-p", nixos.systemProfile, "--set", PINNED],
      [`${PINNED}/bin/switch-to-configuration`, "switch"],
    ]);
    assert.is(await nixos.current(), PINNED);
    assert.match(r.result.detail, /pinned by config v1/);

    // A new pin reaches the helper only through the next pull.
    assert.is((await pin(id, { pinned_system: PINNED_2 })).version, 2);
    nixos.calls.length = 0;
    assert.is((await runHelperAction("switch-pinned", helper)).result.outcome, "unchanged", "v1 is still what the appliance holds");
    await app.sync!.client.sync();
    r = await runHelperAction("switch-pinned", helper);
    assert.is(r.result.outcome, "success", r.result.detail);
    assert.equal(nixCalls(nixos)[0], ["nix-store", "--realise", PINNED_2]);
    assert.is(await nixos.current(), PINNED_2);
    assert.match(r.result.detail, /pinned by config v2/);
  });
});

test("forged, another appliance's and older configs are refused by the daemon; switch-pinned keeps to the pin in force", async () => {
  await withWorld(async ({ lr, app, probe, log, nixos, helper, pin }) => {
    const id = app.status().appliance_id;
    await pin(id, { pinned_system: PINNED });
    await pin(id, { pinned_system: PINNED_2 });
    assert.is((await app.sync!.client.sync()).pull.appliance_config_installed, 2);

    const other = await enrolledAppliance(lr.relay, overHttp(lr.url));
    await pin(other.id, { pinned_system: EVIL });
    const forged = await signApplianceConfig(
      { schema: APPLIANCE_CONFIG_SCHEMA, appliance_id: id, version: 99, issued_at: "2026-11-27T12:00:00.000Z", pinned_system: EVIL, av_binary_sha256: null, firewall_baseline: null },
      createSigner(random(32)),
    );
    const cases: [string, Envelope, string][] = [
      ["forged", forged, "unknown_key"],
      ["another appliance's", await relayEnvelope(lr, other.id, 1), "wrong_target"],
      ["older", await relayEnvelope(lr, id, 1), "stale_version"],
    ];
    for (const [what, envelope, code] of cases) {
      tamper(probe, envelope);
      assert.is((await app.sync!.client.sync()).pull.appliance_config_installed, null, what);
      assert.is(log.find("appliance_config_refused").at(-1)?.fields["code"], code, what);
    }
    assert.is(log.find("appliance_config_refused").length, 3);
    probe.intercept = null;

    const r = await runHelperAction("switch-pinned", helper);
    assert.is(r.result.outcome, "success", r.result.detail);
    assert.match(r.result.detail, /pinned by config v2/);
    assert.is(await nixos.current(), PINNED_2);
    const touched = nixCalls(nixos).flat().join(" ");
    assert.not.match(touched, /evil/, "the forged and foreign pins never reached a command");
    assert.not.ok(touched.includes(PINNED), "nor did the replayed older pin");
  });
});

test.run();
