/**
 * The daemon's side: starting `osiris-helper@<action>.service` and reading its result, and the appliance step
 * runner that sends root steps there.
 *
 * This machine has systemctl but systemd is not PID 1, so the "no helper here" case runs the REAL systemctl.
 * Where systemd would start the unit, a STAND-IN for systemd (`fakeSystemd`) runs the real helper code
 * (runHelperAction) in-process with the fake NixOS layout of _test-appliance.ts, then answers as systemctl
 * does; the unit-not-found and polkit messages are systemd 252's wording, written here by hand.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { chmod, writeFile } from "node:fs/promises";
import { isoTime } from "../../protocol/ids.ts";
import type { StepRequest, StepRunner, TargetRef } from "../engine/types.ts";
import { fakeNixos, helperDeps, NOW, storePath, testAppliance, type FakeNixos, type TestAppliance } from "./_test-appliance.ts";
import { isHelperAction } from "./actions.ts";
import { createHelperClient, unavailableReason } from "./client.ts";
import { createCommandRunner, type CommandResult, type CommandRunner } from "./command.ts";
import type { HelperDeps } from "./context.ts";
import { HELPER_RESULT_SCHEMA, resultPath } from "./result.ts";
import { runHelperAction } from "./run-helper.ts";
import { createHelperStepRunner } from "./step-runner.ts";

const uid = process.getuid?.() ?? 0;
const SELF: TargetRef = { id: "appliance", name: "This appliance", platform: "appliance", collector: "local", simulated: false };
const PINNED = storePath("pinned");
const S1 = storePath("one");

/** systemd stand-in: `systemctl start --wait osiris-helper@X.service` runs the real helper action X. */
function fakeSystemd(deps: HelperDeps, calls: string[][] = []): CommandRunner {
  return async (argv) => {
    calls.push([...argv]);
    const m = /^osiris-helper@(.+)\.service$/.exec(argv[4] ?? "");
    if (argv[0] === "systemctl" && argv[2] === "start" && m && isHelperAction(m[1])) {
      const { result } = await runHelperAction(m[1], deps);
      if (result.exit_code === 0) return { exitCode: 0, stdout: "", stderr: "", durationMs: 5 };
      return { exitCode: 1, stdout: "", stderr: `Job for ${argv[4]} failed because the control process exited with error code.\nSee "systemctl status ${argv[4]}" and "journalctl -xeu ${argv[4]}" for details.\n`, durationMs: 5 };
    }
    return deps.run(argv, { timeoutMs: 1000 });
  };
}

async function setup(fn: (app: TestAppliance, nixos: FakeNixos, deps: HelperDeps) => Promise<void>): Promise<void> {
  const app = await testAppliance();
  try {
    const nixos = await fakeNixos(app.dir, [S1]);
    await fn(app, nixos, helperDeps(app, nixos));
  } finally {
    await app.close();
  }
}

const recorder = (): StepRunner & { steps: string[] } => {
  const steps: string[] = [];
  return { steps, runStep: async (t, s) => (steps.push(`${t.id}:${s.action}`), { ok: true, detail: "inner ran it" }) };
};
const step = (action: string, params: StepRequest["params"] = {}): StepRequest => ({ action, params, timeoutMs: 60_000 });

test("on a machine where systemd is not running the helper (via the real systemctl) is reported unavailable, with why", async () => {
  const client = createHelperClient({ run: createCommandRunner(), now: () => Date.now(), resultDir: "/nonexistent/osiris-helper" });
  const inv = await client.invoke("firewall-snapshot", { timeoutMs: 20_000 });
  assert.is(inv.status, "unavailable");
  // Here: not booted with systemd. On a systemd machine without the NixOS module: the unit is not installed.
  assert.match(inv.status === "unavailable" ? inv.reason : "", /^helper unavailable: (systemd is not running on this machine|osiris-helper@firewall-snapshot\.service is not installed)/);
});

test("unavailableReason recognises systemctl's unit-not-found and polkit refusals, and not an ordinary unit failure", () => {
  const unit = "osiris-helper@journal-vacuum.service";
  assert.match(String(unavailableReason(unit, 5, `Failed to start ${unit}: Unit ${unit} not found.\n`)), /is not installed/);
  assert.match(String(unavailableReason(unit, 4, `Failed to start ${unit}: Access denied\n`)), /polkit does not let this user start/);
  assert.match(String(unavailableReason(unit, 127, "systemctl: not found\n")), /systemctl is not installed/);
  assert.is(unavailableReason(unit, 1, `Job for ${unit} failed because the control process exited with error code.\n`), null);
});

test("the client starts exactly `systemctl --no-ask-password start --wait osiris-helper@<action>.service` and returns the helper's result", async () => {
  await setup(async (app, nixos, deps) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    const calls: string[][] = [];
    const client = createHelperClient({ run: fakeSystemd(deps, calls), now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const inv = await client.invoke("switch-pinned", { timeoutMs: 60_000 });
    assert.equal(calls[0], ["systemctl", "--no-ask-password", "start", "--wait", "osiris-helper@switch-pinned.service"]);
    assert.is(inv.status, "done");
    if (inv.status === "done") assert.is(inv.result.outcome, "success", inv.result.detail);
  });
});

test("a unit that failed but left a fresh result returns that result (the result, not the exit code, tells what happened)", async () => {
  await setup(async (app, nixos, deps) => {
    await app.pin({ version: 1, pinned_system: PINNED });
    nixos.unhealthy.add(PINNED);
    const client = createHelperClient({ run: fakeSystemd(deps), now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const inv = await client.invoke("switch-pinned", { timeoutMs: 60_000 });
    assert.is(inv.status, "done");
    if (inv.status === "done") assert.is(inv.result.outcome, "reverted");
  });
});

test("a result left by an earlier run is not taken for this one", async () => {
  await setup(async (_app, nixos) => {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(nixos.resultDir, { recursive: true, mode: 0o750 });
    const old = { schema: HELPER_RESULT_SCHEMA, action: "journal-vacuum", started_at: isoTime(NOW - 3_600_000), finished_at: isoTime(NOW - 3_599_000), outcome: "success", detail: "old", exit_code: 0, commands: [] };
    await writeFile(resultPath(nixos.resultDir, "journal-vacuum"), JSON.stringify(old), { mode: 0o640 });
    const failing: CommandRunner = async (): Promise<CommandResult> => ({ exitCode: 1, stdout: "", stderr: "Job for osiris-helper@journal-vacuum.service failed because a timeout was exceeded.\n", durationMs: 3 });
    const client = createHelperClient({ run: failing, now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const inv = await client.invoke("journal-vacuum", { timeoutMs: 60_000 });
    assert.is(inv.status, "failed");
    assert.match(inv.status === "failed" ? inv.reason : "", /failed \(exit 1\) but its result is from an earlier run/);
  });
});

test("a unit that succeeded without a result (or with one the daemon could have written) is a failure, not a success", async () => {
  await setup(async (_app, nixos) => {
    const ok: CommandRunner = async () => ({ exitCode: 0, stdout: "", stderr: "", durationMs: 3 });
    const client = createHelperClient({ run: ok, now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    let inv = await client.invoke("collect-garbage", { timeoutMs: 60_000 });
    assert.is(inv.status, "failed");
    assert.match(inv.status === "failed" ? inv.reason : "", /succeeded but left no usable result: No helper result/);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(nixos.resultDir, { recursive: true });
    await writeFile(resultPath(nixos.resultDir, "collect-garbage"), "{}");
    await chmod(resultPath(nixos.resultDir, "collect-garbage"), 0o666);
    inv = await client.invoke("collect-garbage", { timeoutMs: 60_000 });
    assert.match(inv.status === "failed" ? inv.reason : "", /lets others write it/);
  });
});

test("the step runner sends switch_generation to the helper unit and reports its result as the step outcome", async () => {
  await setup(async (app, nixos, deps) => {
    await app.pin({ version: 4, pinned_system: PINNED });
    const inner = recorder();
    const helper = createHelperClient({ run: fakeSystemd(deps), now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const runner = createHelperStepRunner({ inner, helper, run: nixos.run, now: deps.now, sleep: deps.sleep, stateDir: app.stateDir });
    const out = await runner.runStep(SELF, step("nixos.switch_generation", { target: "pinned" }));
    assert.ok(out.ok, out.detail);
    assert.match(out.detail, /^osiris-helper@switch-pinned\.service success: switched from generation 1 to 2 \(pinned by config v4\)/);
    assert.is(await nixos.current(), PINNED);
    assert.equal(inner.steps, [], "the sh runner was not used");

    const back = await runner.runStep(SELF, step("nixos.switch_generation", { target: "previous" }));
    assert.ok(back.ok, back.detail);
    assert.is(await nixos.current(), S1);
  });
});

test("the step runner reports a refused helper as a failed step with the helper's reason", async () => {
  await setup(async (_app, nixos, deps) => {
    const helper = createHelperClient({ run: fakeSystemd(deps), now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const runner = createHelperStepRunner({ inner: recorder(), helper, run: nixos.run, now: deps.now, sleep: deps.sleep, stateDir: "/" });
    const out = await runner.runStep(SELF, step("nft.restore_baseline"));
    assert.is(out.ok, false);
    assert.match(out.detail, /^osiris-helper@firewall-baseline\.service refused: no baseline loaded: the relay has not sent a signed appliance config/);
  });
});

test("the step runner says which size the helper used when the step asked for another", async () => {
  await setup(async (_app, nixos, deps) => {
    const helper = createHelperClient({ run: fakeSystemd(deps), now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: uid });
    const runner = createHelperStepRunner({ inner: recorder(), helper, run: nixos.run, now: deps.now, sleep: deps.sleep, stateDir: "/" });
    const out = await runner.runStep(SELF, step("journal.vacuum", { max_size_mb: 500 }));
    assert.ok(out.ok, out.detail);
    assert.match(out.detail, /\[used journal_max_mb=1024 from catalogue .* defaults, not the step's 500\]/);
    assert.ok(nixos.calls.some((c) => c.join(" ") === "journalctl --vacuum-size=1024M"));
  });
});

test("on a machine without the helper units, a root step fails clearly as 'helper unavailable' (real systemctl)", async () => {
  const inner = recorder();
  const helper = createHelperClient({ run: createCommandRunner(), now: () => Date.now(), resultDir: "/nonexistent/osiris-helper" });
  const runner = createHelperStepRunner({ inner, helper, run: createCommandRunner(), now: () => Date.now(), sleep: async () => undefined, stateDir: "/" });
  const out = await runner.runStep(SELF, step("nix.collect_garbage", { keep_generations: 3 }));
  assert.is(out.ok, false);
  assert.match(out.detail, /^nix\.collect_garbage: helper unavailable: /);
  assert.equal(inner.steps, []);
});

test("other steps and other targets go to the inner runner unchanged", async () => {
  const inner = recorder();
  const helper = createHelperClient({ run: async () => assert.unreachable("the helper must not be started") as never, now: () => NOW, resultDir: "/x" });
  const runner = createHelperStepRunner({ inner, helper, run: createCommandRunner(), now: () => NOW, sleep: async () => undefined, stateDir: "/" });
  await runner.runStep(SELF, step("systemd.restart", { unit: "clamav-daemon.service" }));
  await runner.runStep({ ...SELF, id: "srv1", platform: "linux", collector: "ssh" }, step("journal.vacuum", { max_size_mb: 100 }));
  assert.equal(inner.steps, ["appliance:systemd.restart", "srv1:journal.vacuum"]);
});

test("the health step is checked by the daemon itself: systemd running, its unit active, the store writable", async () => {
  await setup(async (app, nixos, deps) => {
    const helper = createHelperClient({ run: nixos.run, now: () => NOW, resultDir: nixos.resultDir });
    const healthy = createHelperStepRunner({ inner: recorder(), helper, run: nixos.run, now: deps.now, sleep: deps.sleep, stateDir: app.stateDir });
    const ok = await healthy.runStep(SELF, step("nixos.health_check", { timeout_s: 30 }));
    assert.ok(ok.ok, ok.detail);
    assert.is(ok.detail, "system running, osiris-appliance.service active, store writable");

    const missing = createHelperStepRunner({ inner: recorder(), helper, run: nixos.run, now: deps.now, sleep: deps.sleep, stateDir: join(app.dir, "gone") });
    const bad = await missing.runStep(SELF, step("nixos.health_check", { timeout_s: 10 }));
    assert.is(bad.ok, false);
    assert.match(bad.detail, /not healthy after 10 s: the store directory .*gone is not writable/);

    nixos.unhealthy.add(S1);
    const degraded = await healthy.runStep(SELF, step("nixos.health_check", { timeout_s: 10 }));
    assert.match(degraded.detail, /not healthy after 10 s: system state degraded/);
  });
});

test.run();
