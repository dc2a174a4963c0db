/**
 * firewall-snapshot and firewall-baseline run for real: `nft` (Debian nftables) inside a network namespace
 * each test creates and deletes (`ip netns add` / `ip netns exec NAME nft …`), so the JSON parsing and the
 * baseline hash are checked against real nft output, and the machine's own ruleset is never touched.
 * Needs root (CAP_NET_ADMIN); without it every test here is skipped with the reason printed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createSigner, generateKeyPair } from "../../protocol/crypto.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { rulesetSha256 } from "../checks/mod.ts";
import { createCommandRunner, type CommandRunner } from "./command.ts";
import { fakeNixos, helperDeps, testAppliance, storePath, type TestAppliance } from "./_test-appliance.ts";
import { baselineLoadDocument, parseRuleset } from "./firewall.ts";
import { runHelperAction } from "./run-helper.ts";

const exec = promisify(execFile);
const real = createCommandRunner();
let counter = 0;

const RULESET = `table inet osiris {
  set egress_v4 { type ipv4_addr . inet_proto . inet_service; flags interval; }
  chain input { type filter hook input priority 0; policy drop; ct state established,related accept; iif "lo" accept; tcp dport 8080 accept; limit rate 10/second burst 50 packets log prefix "osiris-drop-in: " level info; }
  chain output { type filter hook output priority 0; policy drop; ct state established,related accept; ip daddr . meta l4proto . th dport @egress_v4 accept; }
}
`;

async function canUseNetns(): Promise<string | null> {
  if ((process.getuid?.() ?? 1) !== 0) return "not root: creating a network namespace needs CAP_SYS_ADMIN and nft needs CAP_NET_ADMIN";
  const name = `osiris-hlp-probe-${process.pid}`;
  try {
    await exec("ip", ["netns", "add", name]);
    await exec("ip", ["netns", "del", name]);
    return null;
  } catch (e) {
    return `ip netns add failed: ${(e as Error).message.split("\n")[0]}`;
  }
}
const skipReason = await canUseNetns();
if (skipReason) console.log(`firewall.test.ts: skipping the nft tests (${skipReason})`);

interface Netns {
  readonly name: string;
  readonly run: CommandRunner;
  nft(...args: string[]): Promise<string>;
}

async function withNetns(fn: (ns: Netns, app: TestAppliance) => Promise<void>): Promise<void> {
  const name = `osiris-hlp-${process.pid}-${++counter}`;
  await exec("ip", ["netns", "add", name]);
  const app = await testAppliance();
  try {
    const run: CommandRunner = (argv, opts) => real(["ip", "netns", "exec", name, ...argv], opts);
    const nft = async (...args: string[]) => (await exec("ip", ["netns", "exec", name, "nft", ...args])).stdout;
    await fn({ name, run, nft }, app);
  } finally {
    await app.close();
    await exec("ip", ["netns", "del", name]);
  }
}

async function loadText(ns: Netns, text: string): Promise<void> {
  const child = execFile("ip", ["netns", "exec", ns.name, "nft", "-f", "-"]);
  child.stdin!.end(text);
  await new Promise<void>((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`nft -f - exited ${code}`)))));
}

const it = (name: string, fn: () => Promise<void>) => test(name, async () => {
  if (skipReason) return;
  await fn();
});

it("firewall-snapshot hashes the real ruleset exactly as the fact and the baseline are hashed", async () => {
  await withNetns(async (ns, app) => {
    await loadText(ns, RULESET);
    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const { result } = await runHelperAction("firewall-snapshot", helperDeps(app, nixos, ns.run));
    assert.is(result.outcome, "success", result.detail);
    const direct = rulesetSha256(JSON.parse(await ns.nft("-j", "list", "ruleset")));
    assert.ok(typeof direct === "string" && /^[0-9a-f]{64}$/.test(direct));
    assert.equal(result.firewall, { ruleset_sha256: direct, has_chain: true });
    assert.equal(result.commands.map((c) => c.argv), [["nft", "-j", "list", "ruleset"]]);
    assert.match(result.detail, /\(1 tables, 2 chains, 6 rules\)/);
  });
});

it("firewall-snapshot of an empty ruleset reports no hash and no chain", async () => {
  await withNetns(async (ns, app) => {
    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const { result } = await runHelperAction("firewall-snapshot", helperDeps(app, nixos, ns.run));
    assert.is(result.outcome, "success");
    assert.equal(result.firewall, { ruleset_sha256: null, has_chain: false });
    assert.match(result.detail, /no ruleset loaded/);
  });
});

it("the hash ignores handles: a reload of the same rules (new handles) hashes the same", async () => {
  await withNetns(async (ns) => {
    await loadText(ns, RULESET);
    const first = await ns.nft("-j", "list", "ruleset");
    await ns.nft("flush", "ruleset");
    await loadText(ns, "table ip other {\n  chain c {\n  }\n}\n"); // shifts the kernel's handle numbers
    await ns.nft("flush", "ruleset");
    await loadText(ns, RULESET);
    const second = await ns.nft("-j", "list", "ruleset");
    assert.is.not(first, second, "nft printed different handles");
    const a = parseRuleset(first);
    const b = parseRuleset(second);
    assert.ok(typeof a !== "string" && typeof b !== "string");
    assert.is(a.ruleset_sha256, b.ruleset_sha256);
  });
});

it("firewall-baseline replaces a tampered ruleset with the signed baseline in one transaction", async () => {
  await withNetns(async (ns, app) => {
    await loadText(ns, RULESET);
    const baseline = JSON.parse(await ns.nft("-j", "list", "ruleset")) as { nftables: JsonObject[] };
    const baselineHash = rulesetSha256(baseline);
    await app.pin({ version: 2, firewall_baseline: baseline });
    // Someone opens a door and adds a table of their own.
    await ns.nft("add", "rule", "inet", "osiris", "input", "tcp", "dport", "22", "accept");
    await loadText(ns, "table ip backdoor {\n  chain c { type filter hook input priority -10; policy accept; }\n}\n");
    assert.is.not(rulesetSha256(JSON.parse(await ns.nft("-j", "list", "ruleset"))), baselineHash);

    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const { result } = await runHelperAction("firewall-baseline", helperDeps(app, nixos, ns.run));
    assert.is(result.outcome, "success", result.detail);
    assert.equal(result.firewall, { ruleset_sha256: baselineHash, has_chain: true, baseline_sha256: baselineHash });
    const text = await ns.nft("list", "ruleset");
    assert.not.match(text, /dport 22/);
    assert.not.match(text, /backdoor/);
    assert.is(rulesetSha256(JSON.parse(await ns.nft("-j", "list", "ruleset"))), baselineHash);
    assert.match(result.detail, /baseline of signed config v2 loaded/);
  });
});

it("firewall-baseline refuses a baseline not signed by a pinned relay key and runs no nft command", async () => {
  await withNetns(async (ns, app) => {
    await loadText(ns, RULESET);
    const before = await ns.nft("-j", "list", "ruleset");
    const stranger = createSigner(generateKeyPair(new Uint8Array(32).fill(42)).secretKey);
    await app.pin({ version: 9, firewall_baseline: { nftables: [{ table: { family: "inet", name: "open", handle: 1 } }] } }, stranger);
    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const { result } = await runHelperAction("firewall-baseline", helperDeps(app, nixos, ns.run));
    assert.is(result.outcome, "refused");
    assert.is(result.exit_code, 3);
    assert.equal(result.commands, []);
    assert.is(await ns.nft("-j", "list", "ruleset"), before);
  });
});

it("a baseline nft rejects changes nothing: the previous ruleset stays loaded and the result says so", async () => {
  await withNetns(async (ns, app) => {
    await loadText(ns, RULESET);
    const before = rulesetSha256(JSON.parse(await ns.nft("-j", "list", "ruleset")));
    // A rule for a chain the baseline never creates: nft refuses the whole transaction, flush included.
    const broken: { nftables: JsonObject[] } = { nftables: [{ table: { family: "inet", name: "osiris", handle: 1 } }, { rule: { family: "inet", table: "osiris", chain: "missing", handle: 2, expr: [{ accept: null }] } }] };
    await app.pin({ version: 1, firewall_baseline: broken });
    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const { result } = await runHelperAction("firewall-baseline", helperDeps(app, nixos, ns.run));
    assert.is(result.outcome, "failed");
    assert.match(result.detail, /nft rejected the baseline of config v1 \(exit 1\).*the previous ruleset stays loaded/);
    assert.is(result.firewall?.ruleset_sha256, before);
    assert.is(rulesetSha256(JSON.parse(await ns.nft("-j", "list", "ruleset"))), before);
  });
});

test("baselineLoadDocument flushes first and drops nft's metainfo", () => {
  const doc = baselineLoadDocument({ nftables: [{ metainfo: { version: "1.0.6" } }, { table: { family: "inet", name: "osiris", handle: 1 } }] });
  assert.equal(doc, { nftables: [{ flush: { ruleset: null } }, { table: { family: "inet", name: "osiris", handle: 1 } }] });
});

test("parseRuleset says why output is not an nft ruleset", () => {
  assert.match(String(parseRuleset("Error: Could not process rule: Operation not permitted")), /no JSON/);
  assert.match(String(parseRuleset('{"other": []}')), /without an nftables array/);
});

test.run();
