/**
 * The `luks-status` helper action and the `luks.unencrypted_volumes` fact through it.
 *
 * Real parts: the action runs the REAL `lsblk` of this machine (a Debian VM whose disk is not encrypted), the
 * REAL systemctl answers "no helper here", and the catalogue's real check evaluates the fact. This machine has
 * no device-mapper in its kernel, so no crypt device can be made here: the encrypted cases use a STAND-IN
 * runner that prints what lsblk and `cryptsetup status` print on a LUKS appliance (reconstructed from the
 * tree in fixtures/facts/appliance-pass.json and cryptsetup 2.7's output format — not recorded).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { evaluateCheck } from "../../protocol/catalogue/mod.ts";
import { FactsBuilder, type Gather } from "../checks/mod.ts";
import type { TargetRef } from "../engine/types.ts";
import { isHelperAction } from "./actions.ts";
import { createHelperClient } from "./client.ts";
import { createCommandRunner, type CommandResult, type CommandRunner } from "./command.ts";
import { DEFAULT_HELPER_PATHS, type HelperDeps } from "./context.ts";
import { HelperError } from "./errors.ts";
import { unencryptedVolumes, withHelperLuksFacts } from "./luks-facts.ts";
import { LSBLK_ARGV, parseBlockDevices } from "./luks.ts";
import { readResult } from "./result.ts";
import { runHelperAction } from "./run-helper.ts";

const exec = promisify(execFile);
const uid = process.getuid?.() ?? 0;
const SELF: TargetRef = { id: "appliance", name: "This appliance", platform: "appliance", collector: "local", simulated: false };
/** What the unprivileged daemon's own probe reports under PrivateDevices=true. */
const PRIVATE_DEVICES = "lsblk could not describe /dev/mapper/osiris-data (for /var/lib/osiris)";
const unprivileged: Gather = async () => new FactsBuilder().missing("luks.unencrypted_volumes", PRIVATE_DEVICES).set("disk.max_used_percent", 40).build();

const ok = (stdout: string, exitCode = 0): CommandResult => ({ exitCode, stdout, stderr: "", durationMs: 1 });

/** STAND-IN (reconstructed, see the header): a LUKS2 data volume on NVMe, root and /boot plain, zram swap. */
const LUKS_APPLIANCE_LSBLK = JSON.stringify({
  blockdevices: [
    { name: "zram0", type: "disk", mountpoints: ["[SWAP]"] },
    {
      name: "nvme0n1", type: "disk", mountpoints: [null],
      children: [
        { name: "nvme0n1p1", type: "part", mountpoints: ["/boot"] },
        { name: "nvme0n1p2", type: "part", mountpoints: ["/", "/nix/store"] },
        { name: "nvme0n1p3", type: "part", mountpoints: [null], children: [{ name: "osiris-data", type: "crypt", mountpoints: ["/var/lib/osiris"] }] },
      ],
    },
  ],
});
const CRYPTSETUP_STATUS = "/dev/mapper/osiris-data is active and is in use.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n  keysize: 512 bits\n  key location: keyring\n  device:  /dev/nvme0n1p3\n  sector size:  512\n  offset:  32768 sectors\n  size:    250034176 sectors\n  mode:    read/write\n";

function standIn(lsblk: string, status = CRYPTSETUP_STATUS): { run: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (argv) => {
      calls.push([...argv]);
      if (argv.join(" ") === LSBLK_ARGV.join(" ")) return ok(lsblk);
      if (argv[0] === "cryptsetup" && argv[1] === "status") return argv[2] === "osiris-data" ? ok(status) : ok("", 4);
      return { exitCode: 127, stdout: "", stderr: `${argv[0]}: not found\n`, durationMs: 1 };
    },
  };
}

let resultDir = "";
test.before(async () => {
  resultDir = join(await mkdtemp(join(tmpdir(), "osiris-luks-")), "helper");
});
test.after(async () => rm(join(resultDir, ".."), { recursive: true, force: true }));

function deps(run: CommandRunner): HelperDeps {
  return {
    run,
    now: () => Date.now(),
    sleep: async () => undefined,
    paths: { ...DEFAULT_HELPER_PATHS, resultDir },
    readState: () => Promise.reject(new HelperError("store", "luks-status reads no signed state")),
  };
}

test("luks-status runs the real lsblk of this machine and reports its unencrypted root filesystem", async () => {
  const { result, path } = await runHelperAction("luks-status", deps(createCommandRunner()));
  assert.is(result.outcome, "success", result.detail);
  // What lsblk says here, asked independently.
  const real = JSON.parse((await exec("lsblk", ["--json", "--output", "NAME,TYPE,MOUNTPOINTS"])).stdout) as { blockdevices: { name: string; mountpoints: (string | null)[] }[] };
  const rootDevice = real.blockdevices.find((d) => d.mountpoints.includes("/"));
  assert.ok(rootDevice, "this machine's root is a whole disk in lsblk");
  const root = result.luks?.volumes.find((v) => v.mount === "/");
  assert.equal(root, { mount: "/", device: rootDevice.name, encrypted: false, crypt_name: null, crypt_type: null });
  assert.match(result.detail, /on an encrypted device; not encrypted: .*\//);
  assert.equal(result.commands.map((c) => c.argv), [[...LSBLK_ARGV]], "no crypt device here, so cryptsetup was not asked");
  assert.equal(await readResult(resultDir, "luks-status", { ownerUid: uid }), result, `the result file ${path} holds what was returned`);
});

test("a LUKS2 data volume is reported encrypted with its type; root, /boot and swap are not (stand-in lsblk and cryptsetup)", async () => {
  const s = standIn(LUKS_APPLIANCE_LSBLK);
  const { result } = await runHelperAction("luks-status", deps(s.run));
  assert.is(result.outcome, "success", result.detail);
  assert.equal(result.luks?.volumes, [
    { mount: "/", device: "nvme0n1p2", encrypted: false, crypt_name: null, crypt_type: null },
    { mount: "/boot", device: "nvme0n1p1", encrypted: false, crypt_name: null, crypt_type: null },
    { mount: "/nix/store", device: "nvme0n1p2", encrypted: false, crypt_name: null, crypt_type: null },
    { mount: "/var/lib/osiris", device: "osiris-data", encrypted: true, crypt_name: "osiris-data", crypt_type: "LUKS2" },
    { mount: "[SWAP]", device: "zram0", encrypted: false, crypt_name: null, crypt_type: null },
  ]);
  assert.equal(s.calls, [[...LSBLK_ARGV], ["cryptsetup", "status", "osiris-data"]]);
});

test("a crypt mapping that is gone when cryptsetup is asked (exit 4) is not counted as encrypted", async () => {
  const s = standIn(LUKS_APPLIANCE_LSBLK.replaceAll("osiris-data", "osiris-old"));
  const { result } = await runHelperAction("luks-status", deps(s.run));
  assert.equal(result.luks?.volumes.find((v) => v.mount === "/var/lib/osiris"), { mount: "/var/lib/osiris", device: "osiris-old", encrypted: false, crypt_name: null, crypt_type: null });
});

test("LVM over one encrypted and one plain physical volume is not encrypted", () => {
  const lv = { name: "vg-data", type: "lvm", mountpoints: ["/var/lib/osiris"] };
  const doc = JSON.stringify({
    blockdevices: [
      { name: "sda", type: "disk", mountpoints: [null], children: [{ name: "sda1", type: "part", mountpoints: [null], children: [{ name: "luks-1", type: "crypt", mountpoints: [null], children: [lv] }] }] },
      { name: "sdb", type: "disk", mountpoints: [null], children: [{ name: "sdb1", type: "part", mountpoints: [null], children: [lv] }] },
    ],
  });
  assert.equal(parseBlockDevices(doc), [{ mount: "/var/lib/osiris", device: "vg-data", encrypted: false, crypt_name: null }]);
  assert.equal(parseBlockDevices(doc.replace('{"name":"sdb1","type":"part","mountpoints":[null],"children"', '{"name":"sdb1","type":"crypt","mountpoints":[null],"children"')), [
    { mount: "/var/lib/osiris", device: "vg-data", encrypted: true, crypt_name: "luks-1" },
  ]);
});

test("hostile lsblk output fails the action and never reaches cryptsetup's argv", async () => {
  for (const [doc, why] of [
    [LUKS_APPLIANCE_LSBLK.replace('"osiris-data"', '"x; rm -rf /"'), /device name that is not one/],
    [LUKS_APPLIANCE_LSBLK.replace('"/var/lib/osiris"', '"/var/lib/osiris\\nroot"'), /mount point that is not an absolute path/],
    ["not json", /lsblk printed no JSON/],
    ['{"devices": []}', /without a blockdevices array/],
  ] as const) {
    const s = standIn(doc);
    const { result } = await runHelperAction("luks-status", deps(s.run));
    assert.is(result.outcome, "failed");
    assert.match(result.detail, why);
    assert.is(result.luks, undefined);
    assert.not.ok(s.calls.some((c) => c[0] === "cryptsetup"), JSON.stringify(s.calls));
  }
});

test("configured volumes map to the filesystem holding them, as findmnt --target does", () => {
  const v = (mount: string, encrypted: boolean) => ({ mount, device: "d", encrypted, crypt_name: encrypted ? "c" : null, crypt_type: null });
  const reported = [v("/", false), v("/var/lib/osiris", true), v("/var/lib/osiris-old", false), v("[SWAP]", true)];
  assert.equal(unencryptedVolumes(["/var/lib/osiris", "/var/lib/osiris/db", "/var/lib/osiris-old/x", "/srv"], reported), ["/srv", "/var/lib/osiris-old/x"]);
  assert.equal(unencryptedVolumes(["/var/lib/osiris"], []), ["/var/lib/osiris"], "nothing reported holds it: not encrypted");
});

test("without the helper, the fact stays unavailable with the reason (real systemctl), so the check says error", async () => {
  const helper = createHelperClient({ run: createCommandRunner(), now: () => Date.now(), resultDir: "/nonexistent/osiris-helper" });
  const g = await withHelperLuksFacts(unprivileged, { helper })(SELF, { timeoutMs: 20_000 });
  assert.match(g.unavailable["luks.unencrypted_volumes"] ?? "", /^helper unavailable: .*; the daemon cannot see block devices itself \(PrivateDevices\)$/);
  assert.is((g.facts["disk"] as Record<string, unknown>)["max_used_percent"], 40, "other facts untouched");
  assert.is(evaluateCheck("appliance.luks_volumes", g.facts).status, "error");
});

/** A stand-in for systemd that runs the helper action in-process when its unit is started. */
function systemdRunning(d: HelperDeps): { run: CommandRunner; started: string[] } {
  const started: string[] = [];
  return {
    started,
    run: async (argv) => {
      const m = /^osiris-helper@(.+)\.service$/.exec(argv[4] ?? "");
      if (argv[0] !== "systemctl" || !m || !isHelperAction(m[1])) throw new Error(`unexpected command ${argv.join(" ")}`);
      started.push(m[1]);
      const { result } = await runHelperAction(m[1], d);
      return ok("", result.exit_code === 0 ? 0 : 1);
    },
  };
}

test("with the helper on this machine (real lsblk, no LUKS), /var/lib/osiris is reported unencrypted and the check fails", async () => {
  const systemd = systemdRunning(deps(createCommandRunner()));
  const helper = createHelperClient({ run: systemd.run, now: () => Date.now(), resultDir, resultOwnerUid: uid });
  const g = await withHelperLuksFacts(unprivileged, { helper })(SELF, { timeoutMs: 20_000 });
  assert.equal(g.facts["luks"], { unencrypted_volumes: ["/var/lib/osiris"] });
  assert.equal(g.unavailable, {});
  assert.equal(systemd.started, ["luks-status"]);
  assert.is(evaluateCheck("appliance.luks_volumes", g.facts).status, "fail");
});

test("with the helper on a LUKS appliance (stand-in lsblk), the check passes; a script that could see the devices itself is trusted", async () => {
  const systemd = systemdRunning(deps(standIn(LUKS_APPLIANCE_LSBLK).run));
  const helper = createHelperClient({ run: systemd.run, now: () => Date.now(), resultDir, resultOwnerUid: uid });
  const g = await withHelperLuksFacts(unprivileged, { helper })(SELF, { timeoutMs: 20_000 });
  assert.equal(g.facts["luks"], { unencrypted_volumes: [] });
  assert.is(evaluateCheck("appliance.luks_volumes", g.facts).status, "pass");
  const asRoot: Gather = async () => new FactsBuilder().set("luks.unencrypted_volumes", ["/var/lib/osiris"]).build();
  const kept = await withHelperLuksFacts(asRoot, { helper })(SELF, { timeoutMs: 20_000 });
  assert.equal(kept.facts["luks"], { unencrypted_volumes: ["/var/lib/osiris"] });
  assert.equal(systemd.started, ["luks-status"], "the helper was not started for the second gather");
});

test.run();
