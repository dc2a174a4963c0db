/**
 * switch-pinned / switch-previous against a real appliance store (temp libSQL file, enrolled, pinned relay
 * key, signed appliance config) and a fake NixOS file layout. The Nix and systemd commands are a STAND-IN
 * (_test-appliance.ts `fakeNixos`): this machine has no Nix store to switch and no systemd as PID 1, so no
 * real nixos-rebuild / switch-to-configuration runs here; the stand-in records each argv and applies its
 * effect to the fake profile and /run/current-system links.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, generateKeyPair } from "../../protocol/crypto.ts";
import { fakeNixos, helperDeps, storePath, testAppliance, type FakeNixos, type TestAppliance } from "./_test-appliance.ts";
import { readResult } from "./result.ts";
import { runHelperAction } from "./run-helper.ts";

const S1 = storePath("one");
const S2 = storePath("two");
const PINNED = storePath("pinned");
const uid = process.getuid?.() ?? 0;

async function setup(systems: string[], fn: (app: TestAppliance, nixos: FakeNixos) => Promise<void>): Promise<void> {
  const app = await testAppliance();
  try {
    await fn(app, await fakeNixos(app.dir, systems));
  } finally {
    await app.close();
  }
}

const nixCalls = (n: FakeNixos) => n.calls.filter((c) => c[0] !== "systemctl");

test("switch-pinned switches to the system pinned in the signed config, checks health, and records both generations", async () => {
  await setup([S1], async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    const { result, path } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.outcome, "success", result.detail);
    assert.is(result.exit_code, 0);
    assert.equal(nixCalls(nixos), [
      ["nix-store", "--realise", PINNED],
      ["nix-env", "-p", nixos.systemProfile, "--set", PINNED],
      [`${PINNED}/bin/switch-to-configuration`, "switch"],
    ]);
    assert.ok(nixos.calls.some((c) => c.join(" ") === "systemctl is-system-running"), "the health check ran");
    assert.is(await nixos.current(), PINNED);
    assert.equal(result.system, { from_system: S1, to_system: PINNED, from_generation: 1, to_generation: 2 });
    assert.is(result.params?.["health_timeout_s"], 180, "the catalogue's default without a signed rule set");
    assert.match(result.detail, /switched from generation 1 to 2 \(pinned by config v1\)/);
    assert.ok(path.startsWith(nixos.resultDir));
    assert.equal(await readResult(nixos.resultDir, "switch-pinned", { ownerUid: uid }), result, "the daemon reads back exactly what was written");
  });
});

test("switch-pinned takes the system from the store, never from its caller: a tampered pin in the store is refused, nothing runs", async () => {
  await setup([S1], async (app, nixos) => {
    const stranger = createSigner(generateKeyPair(new Uint8Array(32).fill(99)).secretKey);
    await app.pin({ version: 7, pinned_system: storePath("evil") }, stranger);
    const { result } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.outcome, "refused");
    assert.is(result.exit_code, 3);
    assert.match(result.detail, /does not verify: key_id: .* is not a trusted key/);
    assert.equal(nixos.calls, [], "no nix command ran");
    assert.is(await nixos.current(), S1);
  });
});

test("switch-pinned refuses when the relay has sent no appliance config or the config pins no system", async () => {
  await setup([S1], async (app, nixos) => {
    let { result } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.outcome, "refused");
    assert.match(result.detail, /has not sent a signed appliance config/);
    await app.pin({ version: 1, pinned_system: null });
    ({ result } = await runHelperAction("switch-pinned", helperDeps(app, nixos)));
    assert.is(result.outcome, "refused");
    assert.match(result.detail, /config v1 pins no system/);
    assert.equal(nixos.calls, []);
  });
});

test("switch-pinned is unchanged (exit 0, nothing run) when the pinned system already runs", async () => {
  await setup([S1, PINNED], async (app, nixos) => {
    await app.pin({ version: 3, pinned_system: PINNED });
    const { result } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.outcome, "unchanged");
    assert.is(result.exit_code, 0);
    assert.equal(nixos.calls, []);
  });
});

test("switch-pinned rolls back by itself when the new system is unhealthy; switch-previous afterwards does nothing", async () => {
  await setup([S1], async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    nixos.unhealthy.add(PINNED);
    const deps = helperDeps(app, nixos);
    const { result } = await runHelperAction("switch-pinned", deps);
    assert.is(result.outcome, "reverted", result.detail);
    assert.is(result.exit_code, 1);
    assert.is(await nixos.current(), S1, "back on the system that ran before");
    assert.equal(nixCalls(nixos).slice(-2), [
      ["nix-env", "-p", nixos.systemProfile, "--set", S1],
      [`${S1}/bin/switch-to-configuration`, "switch"],
    ]);
    assert.match(result.detail, /not healthy after 180 s: system state degraded/);
    assert.equal(result.system, { from_system: S1, to_system: S1, from_generation: 1, to_generation: 3 });

    // The runbook's rollback step (switch_generation target=previous) must not go one generation further back.
    nixos.calls.length = 0;
    const prev = await runHelperAction("switch-previous", deps);
    assert.is(prev.result.outcome, "unchanged", prev.result.detail);
    assert.equal(nixCalls(nixos), []);
    assert.is(await nixos.current(), S1);
  });
});

test("switch-previous returns to the system the last successful switch-pinned started from", async () => {
  await setup([S1], async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    const deps = helperDeps(app, nixos);
    assert.is((await runHelperAction("switch-pinned", deps)).result.outcome, "success");
    const { result } = await runHelperAction("switch-previous", deps);
    assert.is(result.outcome, "success", result.detail);
    assert.is(await nixos.current(), S1);
    assert.match(result.detail, /back to the system before the switch-pinned of/);
  });
});

test("switch-previous without a switch-pinned result goes to the profile's previous generation", async () => {
  await setup([S1, S2], async (app, nixos) => {
    const { result } = await runHelperAction("switch-previous", helperDeps(app, nixos));
    assert.is(result.outcome, "success", result.detail);
    assert.is(await nixos.current(), S1);
    assert.equal(result.system, { from_system: S2, to_system: S1, from_generation: 2, to_generation: 3 });
    assert.equal(await nixos.generations(), [1, 2, 3]);
  });
});

test("switch-pinned that cannot fetch the pinned closure fails without touching the profile", async () => {
  await setup([S1], async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    nixos.failing.add("nix-store");
    const { result } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.outcome, "failed");
    assert.match(result.detail, /cannot fetch the pinned system \(nix-store --realise exited 1\)/);
    assert.equal(nixCalls(nixos), [["nix-store", "--realise", PINNED]]);
    assert.equal(await nixos.generations(), [1]);
    assert.is(result.commands[0]?.exit_code, 1);
    assert.match(result.commands[0]!.output_sha256, /^[0-9a-f]{64}$/);
  });
});

test("the health-check timeout comes from the verified signed rule set when it sets one", async () => {
  await setup([S1], async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    await app.rules([
      { id: "builtin.appliance.nixos_pinned_system", check: "appliance.nixos_pinned_system", platform: "appliance", conditions: [], runbook: "appliance.nixos_switch_pinned", params: { health_timeout_s: 60 }, priority: 10, source: "builtin" },
    ]);
    nixos.unhealthy.add(PINNED);
    const { result } = await runHelperAction("switch-pinned", helperDeps(app, nixos));
    assert.is(result.params?.["health_timeout_s"], 60);
    assert.match(String(result.params?.["params_source"]), /rule builtin\.appliance\.nixos_pinned_system of signed rule set v1/);
    assert.match(result.detail, /not healthy after 60 s/);
  });
});

test.run();
