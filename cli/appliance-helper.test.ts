/**
 * `osiris appliance helper`: the command line is exactly `<action> --config FILE`; the real CLI process
 * (bin/osiris.js) runs firewall-snapshot with real nft inside a network namespace this test creates (root
 * only; skipped with the reason otherwise), and refuses everything else before anything runs.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readResult } from "../appliance/helpers/index.ts";
import { parseHelperArgs } from "./appliance-helper.ts";

const OSIRIS = fileURLToPath(new URL("../bin/osiris.js", import.meta.url));
const exec = promisify(execFile);
const uid = process.getuid?.() ?? 0;

async function withDir(fn: (dir: string, config: string, results: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-cli-helper-"));
  try {
    await mkdir(join(dir, "state"), { mode: 0o700 });
    const config = join(dir, "appliance.yaml");
    await writeFile(config, `state_dir: ${join(dir, "state")}\n`);
    await fn(dir, config, join(dir, "run/osiris/helper"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the real CLI; `prefix` runs it inside a network namespace. Never rejects: returns code and output. */
async function osiris(args: string[], results: string, prefix: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [...prefix, process.execPath, OSIRIS, ...args];
  try {
    const { stdout, stderr } = await exec(argv[0]!, argv.slice(1), { env: { ...process.env, OSIRIS_HELPER_RESULT_DIR: results, OSIRIS_HELPER_TRUST_FILE: join(results, "..", "trust.json") } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

test("parseHelperArgs accepts exactly one known action and --config once", () => {
  assert.equal(parseHelperArgs(["switch-pinned", "--config", "/etc/osiris/appliance.yaml"]), { action: "switch-pinned", config: "/etc/osiris/appliance.yaml" });
  assert.equal(parseHelperArgs(["--config=/c.yaml", "collect-garbage"]), { action: "collect-garbage", config: "/c.yaml" });
  assert.equal(parseHelperArgs(["--help"]), { help: true });
  const refused: [string[], RegExp][] = [
    [["reboot", "--config", "/c"], /unknown action "reboot"; expected one of switch-pinned, switch-previous/],
    [["switch-pinned", "/nix/store/0000000000000000000000000000000a-evil", "--config", "/c"], /exactly one action is accepted, got 2 words/],
    [["switch-pinned", "--config", "/c", "--system", "/nix/store/x"], /Unknown option '--system'/],
    [["firewall-baseline", "--config", "/c", "--config", "/d"], /--config may be given once/],
    [["journal-vacuum"], /--config FILE is required/],
    [["--config", "/c"], /an action is required/],
    [["journal-vacuum", "--config", "/c", "--help"], /--help takes no other arguments/],
  ];
  for (const [args, re] of refused) {
    const r = parseHelperArgs(args);
    assert.ok("error" in r, `${args.join(" ")} must be refused`);
    assert.match("error" in r ? r.error : "", re);
  }
});

test("the CLI refuses an unknown action and any extra argument with exit 2, writing no result", async () => {
  await withDir(async (_dir, config, results) => {
    for (const args of [
      ["appliance", "helper", "rm-rf", "--config", config],
      ["appliance", "helper", "switch-pinned", "/nix/store/0000000000000000000000000000000a-evil", "--config", config],
      ["appliance", "helper", "firewall-snapshot", "--config", config, "--ruleset", "{}"],
    ]) {
      const r = await osiris(args, results);
      assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^osiris appliance helper: .*\nUsage: osiris appliance helper <switch-pinned\|switch-previous\|firewall-snapshot\|firewall-baseline\|journal-vacuum\|collect-garbage\|luks-status> --config FILE/);
    }
    assert.is(await lstat(results).catch(() => null), null, "nothing was written");
  });
});

test("the CLI's switch-pinned reads the store, refuses without a signed pin (exit 3), and leaves the refusal as its result", async () => {
  await withDir(async (_dir, config, results) => {
    const r = await osiris(["appliance", "helper", "switch-pinned", "--config", config], results);
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /^switch-pinned refused: not switched: The appliance store .*appliance\.db does not exist/);
    const result = await readResult(results, "switch-pinned", { ownerUid: uid });
    assert.is(result.outcome, "refused");
    assert.equal(result.commands, []);
    assert.is((await lstat(join(results, "switch-pinned.json"))).mode & 0o777, 0o640);
  });
});

async function netnsSkip(): Promise<string | null> {
  if (uid !== 0) return "not root";
  try {
    await exec("ip", ["netns", "add", `osiris-clih-probe-${process.pid}`]);
    await exec("ip", ["netns", "del", `osiris-clih-probe-${process.pid}`]);
    return null;
  } catch (e) {
    return `ip netns add failed: ${(e as Error).message.split("\n")[0]}`;
  }
}
const skip = await netnsSkip();
if (skip) console.log(`appliance-helper.test.ts: skipping the nft run (${skip})`);

test("the CLI runs firewall-snapshot with real nft (in a network namespace) and leaves a 0640 result", async () => {
  if (skip) return;
  const ns = `osiris-clih-${process.pid}`;
  await exec("ip", ["netns", "add", ns]);
  try {
    await withDir(async (_dir, config, results) => {
      await exec("ip", ["netns", "exec", ns, "nft", "add", "table", "inet", "osiris"]);
      await exec("ip", ["netns", "exec", ns, "nft", "add", "chain", "inet", "osiris", "input", "{ type filter hook input priority 0; policy drop; }"]);
      const r = await osiris(["appliance", "helper", "firewall-snapshot", "--config", config], results, ["ip", "netns", "exec", ns]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, /^firewall-snapshot success: ruleset [0-9a-f]{12}… \(1 tables, 1 chains, 0 rules\) \(result in .*firewall-snapshot\.json\)\n$/);
      assert.equal(await readdir(results), ["firewall-snapshot.json"], "no temporary file left");
      assert.is((await lstat(join(results, "firewall-snapshot.json"))).mode & 0o777, 0o640);
      const result = await readResult(results, "firewall-snapshot", { ownerUid: uid });
      assert.is(result.firewall?.has_chain, true);
      assert.match(String(result.firewall?.ruleset_sha256), /^[0-9a-f]{64}$/);
      assert.equal(result.commands.map((c) => c.argv), [["nft", "-j", "list", "ruleset"]]);
    });
  } finally {
    await exec("ip", ["netns", "del", ns]);
  }
});

test("the CLI runs luks-status with the real lsblk of this machine and leaves its mounts as the result", async () => {
  await withDir(async (_dir, config, results) => {
    const r = await osiris(["appliance", "helper", "luks-status", "--config", config], results);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^luks-status success: \d+ mounted filesystems, \d+ on an encrypted device(; not encrypted: .*)? \(result in .*luks-status\.json\)\n$/);
    const result = await readResult(results, "luks-status", { ownerUid: uid });
    assert.ok(result.luks?.volumes.some((v) => v.mount === "/"), JSON.stringify(result.luks));
    assert.equal(result.commands.map((c) => c.argv[0]), ["lsblk", ...result.commands.slice(1).map(() => "cryptsetup")]);
  });
});

test.run();
