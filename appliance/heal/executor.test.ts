import { test } from "uvu";
import * as assert from "uvu/assert";
import { catalogue, defaultsOf, type Json } from "../../protocol/catalogue/mod.ts";
import { FakeClock, StandInHost, WIN, type StepEffect } from "./_test-fakes.ts";
import { executeRunbook, resolveSteps, type ExecuteInput } from "./executor.ts";

// Stand-in host (not the lab): Windows facts the catalogue's real evaluator reads.
const firewallOff = () => ({ firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } });
const screenLockOff = () => ({ screenlock: { timeout_s: 0 } });

const enableFirewall: StepEffect = (facts) => {
  facts.firewall = { domain_enabled: true, private_enabled: true, public_enabled: true };
  return { ok: true, detail: "all profiles enabled" };
};

function run(runbookId: string, host: StandInHost, over: Partial<ExecuteInput> = {}) {
  const runbook = catalogue.getRunbook(runbookId);
  return executeRunbook({
    target: WIN,
    runbook,
    params: defaultsOf(runbook.params_schema) as { [name: string]: Json },
    checkId: runbook.check,
    runner: host,
    recheck: host.recheck,
    clock: new FakeClock(),
    ...over,
  });
}

test("executeRunbook() reports success only when the re-run check passes", async () => {
  const host = new StandInHost(firewallOff(), { "powershell.script:firewall.enable_all_profiles": enableFirewall });
  const r = await run("windows.enable_firewall_profiles", host);
  assert.is(r.outcome, "success");
  assert.is(r.recheck?.status, "pass");
  assert.is(host.rechecks, 1);
  assert.equal(r.steps.map((s) => [s.id, s.phase, s.ok]), [["enable", "step", true]]);
});

test("executeRunbook() reports failed when every step says ok but the check still fails and there is no rollback", async () => {
  const host = new StandInHost(firewallOff()); // a runner that reports ok and changes nothing
  const r = await run("windows.enable_firewall_profiles", host);
  assert.is(r.outcome, "failed");
  assert.is(r.rollback, "none");
  assert.is(r.recheck?.status, "fail");
  assert.match(r.detail, /re-check still fails/);
});

test("executeRunbook() runs the rollback steps and reports reverted when the check still fails", async () => {
  const host = new StandInHost(screenLockOff());
  const r = await run("windows.set_screen_lock", host);
  assert.is(r.outcome, "reverted");
  assert.is(r.rollback, "ok");
  assert.equal(r.steps.map((s) => `${s.phase}:${s.id}`), ["step:snapshot", "step:set", "rollback:restore"]);
  assert.equal(host.calls.at(-1), { target: WIN.id, action: "powershell.script", params: { script: "screenlock.restore_snapshot" } });
});

test("executeRunbook() stops at a failing, throwing or hanging step, rolls back, and reports failed", async () => {
  const table: [string, StepEffect][] = [
    ["reports ok: false", () => ({ ok: false, detail: "access denied" })],
    ["throws", () => "throw"],
    ["hangs past the time budget", () => "hang"],
  ];
  for (const [name, effect] of table) {
    const host = new StandInHost(screenLockOff(), { "powershell.script:screenlock.set_timeout": effect });
    const r = await run("windows.set_screen_lock", host, { timeoutMs: 50 });
    assert.is(r.outcome, "failed", name);
    assert.is(r.rollback, "ok", name);
    assert.is(host.rechecks, 0, `${name}: no re-check after a failed step`);
    assert.equal(r.steps.map((s) => `${s.phase}:${s.id}:${s.ok}`), ["step:snapshot:true", "step:set:false", "rollback:restore:true"], name);
  }
});

test("executeRunbook() reports failed (rollback failed) when the rollback itself fails", async () => {
  const host = new StandInHost(screenLockOff(), { "powershell.script:screenlock.restore_snapshot": () => ({ ok: false, detail: "snapshot missing" }) });
  const r = await run("windows.set_screen_lock", host);
  assert.is(r.outcome, "failed");
  assert.is(r.rollback, "failed");
  assert.match(r.detail, /rollback failed/);
});

test("executeRunbook() treats a re-check that errors, throws or answers for another check as unverified: failed, no rollback", async () => {
  const table: [string, StandInHost["recheckOverride"]][] = [
    ["re-check throws", () => "throw"],
    ["re-check errors", (c) => ({ check: c, status: "error", expected: [], actual: {}, controls: [], reason: "facts not collected" })],
    ["re-check is for another check", () => ({ check: "windows.rdp_nla", status: "pass", expected: [], actual: {}, controls: [], reason: null })],
  ];
  for (const [name, override] of table) {
    const host = new StandInHost(screenLockOff());
    host.recheckOverride = override;
    const r = await run("windows.set_screen_lock", host);
    assert.is(r.outcome, "failed", name);
    assert.is(r.rollback, "not_needed", name);
    assert.match(r.detail, /unverified/, name);
  }
});

test("executeRunbook() runs nothing when the parameters do not resolve or fail a step action's schema", async () => {
  const table: [string, { [name: string]: Json }, RegExp][] = [
    ["missing parameter", {}, /parameter timeout_s has no value/],
    ["out of the action's bounds", { timeout_s: 5 }, /'timeout_s' must be at least 60/],
    ["shell text where an integer belongs", { timeout_s: "600; Remove-Item C:\\ -Recurse" }, /'timeout_s' must be an integer/],
  ];
  for (const [name, params, message] of table) {
    const host = new StandInHost(screenLockOff());
    const r = await run("windows.set_screen_lock", host, { params });
    assert.is(r.outcome, "failed", name);
    assert.is(host.calls.length, 0, `${name}: no step ran`);
    assert.match(r.detail, message, name);
  }
});

test("resolveSteps() resolves every catalogue runbook's steps and rollback with its default parameters", () => {
  for (const runbook of catalogue.listRunbooks()) {
    const params = defaultsOf(runbook.params_schema) as { [name: string]: Json };
    for (const steps of [runbook.steps, runbook.rollback]) {
      const r = resolveSteps(runbook, steps, params);
      assert.ok(r.ok, `${runbook.id}: ${r.ok ? "" : r.problems.join("; ")}`);
    }
  }
});

test("executeRunbook() keeps step details short and scrubbed of secrets", async () => {
  const host = new StandInHost(firewallOff(), {
    "powershell.script:firewall.enable_all_profiles": () => ({ ok: false, detail: `failed for user admin password=Hunter2Hunter2 ${"x".repeat(2000)}` }),
  });
  const r = await run("windows.enable_firewall_profiles", host);
  const detail = r.steps[0]!.detail;
  assert.not.match(detail, /Hunter2/);
  assert.ok(detail.length <= 240);
});

test.run();
