/**
 * The sh StepRunner against a real OpenSSH server on loopback (appliance/collect/_test-sshd.ts) for actions
 * whose whole effect lands in files, run inside a scratch directory given as `rootDir`; and, for actions that
 * would change this machine (services, kernel parameters), the exact command that would be sent, captured by
 * a recording transport that stands in for a host.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogue } from "../../../protocol/catalogue/mod.ts";
import { memoryPinStore } from "../../collect/pins.ts";
import { createSshTransport } from "../../collect/ssh.ts";
import { sshdMissing, startSshd, type TestSshd } from "../../collect/_test-sshd.ts";
import type { Command, RunResult, Transport } from "../../collect/transport.ts";
import type { TargetRef } from "../../engine/types.ts";
import { createShStepRunner, shStepCommand } from "./sh-runner.ts";
import { APPLIANCE_ACTIONS, LINUX_ACTIONS, MACOS_ACTIONS, STEP_PRELUDE } from "./sh-actions.ts";

const missing = sshdMissing();
if (missing) throw new Error(`The sh step runner tests need a real sshd: ${missing}`);

const host: TargetRef = { id: "nas", name: "NAS", platform: "linux", collector: "ssh", simulated: false };
let sshd: TestSshd;
let ssh: Transport;
const root = mkdtempSync(join(tmpdir(), "osiris-steps-"));

test.before(async () => {
  sshd = await startSshd("none");
  ssh = createSshTransport({ host: "127.0.0.1", port: sshd.port, username: "root", auth: { kind: "key", privateKey: sshd.userKey }, pins: memoryPinStore() });
});
test.after(async () => {
  await ssh?.close();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Stand-in for a host: records every command and answers with a fixed result. */
function recording(result: Partial<RunResult> = {}): Transport & { sent: Command[] } {
  const sent: Command[] = [];
  return {
    kind: "ssh",
    target: "ssh root@stand-in:22",
    sent,
    async run(cmd) {
      sent.push(cmd);
      return { stdout: "done", stderr: "", exitCode: 0, durationMs: 1, ...result };
    },
    async close() {},
  };
}

const runner = () => createShStepRunner({ transportFor: () => ssh, rootDir: root });
const step = (action: string, params: Record<string, string | number | boolean> = {}) => ({ action, params, timeoutMs: 30_000 });

test("every sh action of the catalogue has a script, and every script is valid POSIX sh", () => {
  for (const [platform, scripts] of [["linux", LINUX_ACTIONS], ["appliance", APPLIANCE_ACTIONS], ["macos", MACOS_ACTIONS]] as const) {
    for (const rb of catalogue.listRunbooks().filter((r) => r.platform === platform)) {
      for (const s of [...rb.steps, ...rb.rollback]) assert.ok(scripts[s.action] !== undefined, `${rb.id}: ${s.action} has no ${platform} script`);
    }
    for (const script of Object.values(scripts)) execFileSync("dash", ["-n"], { input: `${STEP_PRELUDE}${script}\n`, stdio: ["pipe", "ignore", "pipe"] });
  }
});

test("sshd.set_option over real ssh writes the drop-in and puts the Include line first in sshd_config", async () => {
  mkdirSync(join(root, "etc/ssh"), { recursive: true });
  writeFileSync(join(root, "etc/ssh/sshd_config"), "PermitRootLogin yes\nUsePAM yes\n");
  const out = await runner().runStep(host, step("sshd.set_option", { option: "PermitRootLogin", value: "no" }));
  assert.ok(out.ok, out.detail);
  assert.is(out.detail, "PermitRootLogin no set in /etc/ssh/sshd_config.d/00-osiris.conf");
  assert.is(readFileSync(join(root, "etc/ssh/sshd_config.d/00-osiris.conf"), "utf8"), "PermitRootLogin no\n");
  assert.is(readFileSync(join(root, "etc/ssh/sshd_config"), "utf8").split("\n")[0], "Include /etc/ssh/sshd_config.d/*.conf");
  const again = await runner().runStep(host, step("sshd.set_option", { option: "PermitRootLogin", value: "prohibit-password" }));
  assert.ok(again.ok, again.detail);
  assert.is(readFileSync(join(root, "etc/ssh/sshd_config.d/00-osiris.conf"), "utf8"), "PermitRootLogin prohibit-password\n", "replaced, not appended twice");
  assert.is(readFileSync(join(root, "etc/ssh/sshd_config"), "utf8").match(/^Include/gm)?.length, 1, "the Include line is added once");
});

test("sshd.remove_option over real ssh takes back only its own option", async () => {
  await runner().runStep(host, step("sshd.set_option", { option: "PasswordAuthentication", value: "no" }));
  const out = await runner().runStep(host, step("sshd.remove_option", { option: "PermitRootLogin" }));
  assert.ok(out.ok, out.detail);
  assert.is(readFileSync(join(root, "etc/ssh/sshd_config.d/00-osiris.conf"), "utf8"), "PasswordAuthentication no\n");
});

test("file.chmod over real ssh sets owner and mode; a missing file fails unless missing_ok", async () => {
  writeFileSync(join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n");
  chmodSync(join(root, "etc/shadow"), 0o666);
  const out = await runner().runStep(host, step("file.chmod", { path: "/etc/shadow", mode: "640" }));
  assert.ok(out.ok, out.detail);
  assert.is((statSync(join(root, "etc/shadow")).mode & 0o777).toString(8), "640");
  assert.is(statSync(join(root, "etc/shadow")).uid, 0);
  const absent = await runner().runStep(host, step("file.chmod", { path: "/etc/gshadow", mode: "640" }));
  assert.is(absent.ok, false);
  assert.match(absent.detail, /\/etc\/gshadow does not exist/);
  const tolerated = await runner().runStep(host, step("file.chmod", { path: "/etc/gshadow", mode: "640", missing_ok: true }));
  assert.ok(tolerated.ok, tolerated.detail);
});

test("sysctl.snapshot over real ssh saves the current kernel values, and a restore without one fails", async () => {
  const noSnap = await runner().runStep(host, step("sysctl.restore_snapshot"));
  assert.is(noSnap.ok, false);
  assert.match(noSnap.detail, /no sysctl snapshot was taken/);
  const out = await runner().runStep(host, step("sysctl.snapshot"));
  assert.ok(out.ok, out.detail);
  const saved = readFileSync(join(root, "var/lib/osiris/snapshots/sysctl"), "utf8");
  const live = readFileSync("/proc/sys/net/ipv4/tcp_syncookies", "utf8").trim();
  assert.ok(saved.includes(`net.ipv4.tcp_syncookies=${live}\n`), saved);
});

test("parameters travel only as environment variables; the script text is the fixed one", () => {
  const cmd = shStepCommand("linux", { action: "sysctl.set", params: { key: "net.ipv4.tcp_syncookies", value: 1 } });
  assert.ok(typeof cmd === "object" && "program" in cmd);
  assert.is(cmd.program, "env");
  assert.equal(cmd.args.slice(0, 3), ["OSIRIS_ROOT=", "OSIRIS_P_KEY=net.ipv4.tcp_syncookies", "OSIRIS_P_VALUE=1"]);
  assert.equal(cmd.args.slice(3, 5), ["sh", "-c"]);
  assert.is(cmd.args[5], `${STEP_PRELUDE}${LINUX_ACTIONS["sysctl.set"]}\n`);
  assert.not.ok(cmd.args[5]!.includes("tcp_syncookies=1"));
});

test("invalid parameters are refused before anything is sent", async () => {
  const t = recording();
  const r = createShStepRunner({ transportFor: () => t });
  for (const bad of [
    step("sshd.set_option", { option: "PermitRootLogin", value: "no; reboot" }),
    step("sysctl.set", { key: "kernel.panic", value: 1 }),
    step("systemd.restart", { unit: "ssh.service; rm -rf /" }),
    step("shell.exec", { cmd: "id" }),
  ]) {
    const out = await r.runStep(host, bad);
    assert.is(out.ok, false, bad.action);
    assert.match(out.detail, /^refused: /);
  }
  assert.is(t.sent.length, 0);
});

test("service actions send systemctl through the fixed script with the unit in the environment (recorded, not run)", async () => {
  const t = recording({ stdout: "restic-backups-nas.service restarted and active\n" });
  const out = await createShStepRunner({ transportFor: () => t }).runStep(host, step("systemd.restart", { unit: "restic-backups-nas.service" }));
  assert.equal(out, { ok: true, detail: "restic-backups-nas.service restarted and active" });
  const cmd = t.sent[0]!;
  assert.ok("program" in cmd && cmd.args.includes("OSIRIS_P_UNIT=restic-backups-nas.service"));
  assert.ok("program" in cmd && cmd.args.some((a) => a.includes('systemctl restart -- "$U"')));
});

test("a failing script is ok:false with its last line; a transport error is ok:false with the code", async () => {
  const failing = recording({ stdout: "neither chrony nor systemd-timesyncd is installed\n", exitCode: 1 });
  const out = await createShStepRunner({ transportFor: () => failing }).runStep(host, step("timesync.enable"));
  assert.equal(out, { ok: false, detail: "timesync.enable failed (exit 1): neither chrony nor systemd-timesyncd is installed" });
  const down: Transport = { kind: "ssh", target: "x", run: async () => { const { CollectError } = await import("../../collect/errors.ts"); throw new CollectError("unreachable", "ssh x: connection refused"); }, close: async () => {} };
  const gone = await createShStepRunner({ transportFor: () => down }).runStep(host, step("timesync.enable"));
  assert.is(gone.ok, false);
  assert.match(gone.detail, /did not complete: unreachable: ssh x: connection refused/);
});

test("the appliance's firewall restore refuses an unverified baseline and passes a verified one in the environment", async () => {
  const t = recording();
  const ruleset = JSON.stringify({ nftables: [{ flush: { ruleset: null } }] });
  const appliance: TargetRef = { id: "appliance", name: "appliance", platform: "appliance", collector: "local", simulated: false };
  const cmd = shStepCommand("appliance", { action: "nft.restore_baseline", params: {} }, { appliance: { firewallBaseline: () => ({ rulesetJson: ruleset, verified: true }) } });
  assert.ok(typeof cmd === "object" && "program" in cmd && cmd.args.includes("OSIRIS_BASELINE_VERIFIED=1") && cmd.args.includes(`OSIRIS_BASELINE_RULESET=${ruleset}`));
  const bad = await createShStepRunner({ transportFor: () => t, appliance: { pinnedSystem: () => "/etc/passwd" } }).runStep(appliance, step("nixos.switch_generation", { target: "pinned" }));
  assert.is(bad.ok, false);
  assert.match(bad.detail, /not a Nix store path/);
  assert.is(t.sent.length, 0);
  assert.ok(existsSync(root));
});

test("the appliance's unprivileged daemon runs its steps through polkit; a Linux host without root or sudo is refused up front", () => {
  if (process.getuid?.() !== 0) throw new Error("this test drops to an unprivileged user with setpriv: run it as root (CI does)");
  /** Runs a step's exact command as `nobody` (no sudo rights), as the hardened daemon runs. */
  const asNobody = (platform: "appliance" | "linux") => {
    const cmd = shStepCommand(platform, { action: "systemd.restart", params: { unit: "osiris-no-such-unit.service" } });
    if (typeof cmd === "string" || !("program" in cmd)) throw new Error(`not an argument vector: ${JSON.stringify(cmd)}`);
    try {
      return { code: 0, out: execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", cmd.program, ...cmd.args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }) };
    } catch (e) {
      const err = e as { status: number; stdout: string };
      return { code: err.status, out: err.stdout };
    }
  };
  const appliance = asNobody("appliance");
  assert.is(appliance.code, 1, appliance.out);
  assert.match(appliance.out, /systemctl restart osiris-no-such-unit\.service failed/, "the step went on to systemctl (polkit decides), and says what failed");
  const linux = asNobody("linux");
  assert.is(linux.code, 3);
  assert.match(linux.out, /needs root or passwordless sudo on this host/);
});

test.run();
