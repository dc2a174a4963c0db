/**
 * The Linux gatherer for real: its script run on this Debian machine through the ssh transport against a
 * throwaway OpenSSH server on loopback (appliance/collect/_test-sshd.ts), and through the local transport;
 * plus the parser's handling of each tool's output format.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { memoryPinStore } from "../../collect/pins.ts";
import { createLocalTransport } from "../../collect/local.ts";
import { createSshTransport } from "../../collect/ssh.ts";
import { sshdMissing, startSshd, type TestSshd } from "../../collect/_test-sshd.ts";
import type { Transport } from "../../collect/transport.ts";
import type { TargetRef } from "../../engine/types.ts";
import { shellSettings } from "./_raw.ts";
import { createLinuxGatherer, linuxScript, nftFiltersInput, parseOpensslDate, parseSystemdTimestamp, sshdOptions } from "./linux.ts";

const missing = sshdMissing();
if (missing) throw new Error(`The Linux gatherer tests need a real sshd: ${missing}`);

/** The script takes about a second here; generous for a loaded CI machine. */
const GATHER_TIMEOUT_MS = 60_000;
const clock = { now: () => Date.now() };
const target: TargetRef = { id: "debian-vm", name: "Debian VM", platform: "linux", collector: "ssh", simulated: false };
let sshd: TestSshd;
let ssh: Transport;

test.before(async () => {
  sshd = await startSshd("none");
  ssh = createSshTransport({ host: "127.0.0.1", port: sshd.port, username: "root", auth: { kind: "key", privateKey: sshd.userKey }, pins: memoryPinStore() });
});
test.after(async () => {
  await ssh?.close();
  await sshd?.stop();
});

const section = (facts: Record<string, unknown>, name: string) => facts[name] as Record<string, unknown>;

test("the script gathers this Debian host's facts over real ssh, matching what the machine says itself", async () => {
  const gather = createLinuxGatherer(ssh, { clock, role: "server" });
  const { facts, unavailable } = await gather(target, { timeoutMs: GATHER_TIMEOUT_MS });
  assert.is(section(facts, "host")["role"], "server");
  assert.is(section(facts, "sshd")["installed"], true);
  assert.ok(["yes", "no", "prohibit-password", "forced-commands-only"].includes(String(section(facts, "sshd")["permit_root_login"])));
  assert.is(section(facts, "files")["group_mode"], (statSync("/etc/group").mode & 0o777).toString(8).padStart(3, "0"));
  const syncookies = Number(execFileSync("cat", ["/proc/sys/net/ipv4/tcp_syncookies"], { encoding: "utf8" }).trim());
  assert.is(section(facts, "kernel")["tcp_syncookies"], syncookies);
  assert.type(section(facts, "disk")["max_used_percent"], "number");
  assert.ok(Array.isArray(section(facts, "accounts")["uid0"]));
  // This VM does not run systemd: the facts only systemd knows are reported as unavailable, with the reason.
  if (!statSync("/run/systemd/system", { throwIfNoEntry: false })) assert.match(unavailable["services.failed_units"] ?? "", /systemd is not running/);
});

test("the same script through the local transport gives the same sshd, file and kernel facts", async () => {
  const local = createLocalTransport();
  try {
    const viaSsh = await createLinuxGatherer(ssh, { clock })(target, { timeoutMs: GATHER_TIMEOUT_MS });
    const viaLocal = await createLinuxGatherer(local, { clock })(target, { timeoutMs: GATHER_TIMEOUT_MS });
    assert.equal(section(viaLocal.facts, "kernel"), section(viaSsh.facts, "kernel"));
    assert.is(section(viaLocal.facts, "files")["passwd_mode"], section(viaSsh.facts, "files")["passwd_mode"]);
    assert.is(section(viaLocal.facts, "sshd")["password_authentication"], section(viaSsh.facts, "sshd")["password_authentication"]);
  } finally {
    await local.close();
  }
});

test("a host without an inventory role leaves host.role unavailable rather than guessing", async () => {
  const { unavailable } = await createLinuxGatherer(ssh, { clock })(target, { timeoutMs: GATHER_TIMEOUT_MS });
  assert.match(unavailable["host.role"] ?? "", /no role/);
});

test("the script is valid POSIX sh (dash -n) and carries settings only as validated single-quoted words", () => {
  const script = linuxScript({ certPaths: ["/srv/tls/*.crt"], backupUnit: "borgbackup-job-nas.service" });
  execFileSync("dash", ["-n"], { input: script });
  assert.ok(script.includes("OSIRIS_CERT_GLOBS='/srv/tls/*.crt'"));
  for (const bad of ["/etc/x'; rm -rf / #", "/etc/$(id)", "/etc/a b", "/etc/`id`", "/etc/x\nid"]) {
    assert.throws(() => linuxScript({ certPaths: [bad] }), (e: unknown) => e instanceof RangeError);
  }
  assert.throws(() => linuxScript({ certPaths: ["relative/cert.pem"] }), (e: unknown) => e instanceof RangeError && /absolute/.test(e.message));
  assert.throws(() => linuxScript({ backupUnit: "x; reboot" }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => shellSettings({ lower: "x" }), (e: unknown) => e instanceof RangeError);
});

test("sshd_config fallback: first value wins, Match blocks are ignored, unset options take OpenSSH defaults", () => {
  const conf = ["# comment", "PermitRootLogin no", "PermitRootLogin yes", "ChallengeResponseAuthentication no", "Match User backup", "  PasswordAuthentication no"].join("\n");
  assert.equal(sshdOptions(conf, true), { permitrootlogin: "no", kbdinteractiveauthentication: "no", passwordauthentication: "yes" });
  assert.is(sshdOptions("permitrootlogin without-password\n", false)["permitrootlogin"], "prohibit-password");
});

test("nftables filters input only with a drop policy or a rule on an input-hook chain", () => {
  const chain = (policy: string) => ({ chain: { family: "inet", table: "f", name: "in", hook: "input", policy } });
  assert.is(nftFiltersInput({ nftables: [chain("drop")] }), true);
  assert.is(nftFiltersInput({ nftables: [chain("accept")] }), false);
  assert.is(nftFiltersInput({ nftables: [chain("accept"), { rule: { family: "inet", table: "f", chain: "in", expr: [] } }] }), true);
  assert.is(nftFiltersInput({ nftables: [chain("accept"), { rule: { family: "inet", table: "f", chain: "out", expr: [] } }] }), false);
  assert.is(nftFiltersInput("Error: syntax"), undefined);
});

test("dates from openssl and systemctl parse as UTC, malformed ones do not", () => {
  assert.is(parseOpensslDate("notAfter=Nov 27 23:13:32 2027 GMT"), Date.UTC(2027, 10, 27, 23, 13, 32));
  assert.is(parseOpensslDate("notAfter=Feb  3 01:02:03 2030 GMT"), Date.UTC(2030, 1, 3, 1, 2, 3));
  assert.is(parseOpensslDate("notAfter=Foo 27 23:13:32 2027 GMT"), undefined);
  assert.is(parseSystemdTimestamp("Wed 2026-11-25 02:00:03 UTC"), Date.UTC(2026, 10, 25, 2, 0, 3));
  assert.is(parseSystemdTimestamp("n/a"), undefined);
});

test.run();
