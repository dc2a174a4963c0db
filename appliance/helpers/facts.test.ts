/**
 * The firewall facts through the helper. "No helper here" runs the REAL systemctl (systemd is not PID 1 on
 * this machine). "Helper ran" uses a STAND-IN for systemd that runs the real firewall-snapshot action with
 * real `nft` inside a network namespace this test creates (root only; skipped with the reason otherwise).
 * The inner gatherer is a stub returning what the appliance script reports when the unprivileged daemon's
 * own `nft -j list ruleset` is refused.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { FactsBuilder, rulesetSha256, type Gather } from "../checks/mod.ts";
import type { TargetRef } from "../engine/types.ts";
import { fakeNixos, helperDeps, NOW, storePath, testAppliance } from "./_test-appliance.ts";
import { isHelperAction } from "./actions.ts";
import { createHelperClient } from "./client.ts";
import { createCommandRunner, type CommandRunner } from "./command.ts";
import { withHelperFirewallFacts } from "./facts.ts";
import { runHelperAction } from "./run-helper.ts";

const exec = promisify(execFile);
const SELF: TargetRef = { id: "appliance", name: "This appliance", platform: "appliance", collector: "local", simulated: false };
const REFUSED = "nft_ruleset exited 1: Error: Could not process rule: Operation not permitted";

const unprivileged: Gather = async () =>
  new FactsBuilder().set("firewall.nftables_active", false).missing("firewall.ruleset_sha256", REFUSED).set("firewall.baseline_signature_valid", false).set("disk.max_used_percent", 40).build();
const asRoot: Gather = async () => new FactsBuilder().set("firewall.nftables_active", true).set("firewall.ruleset_sha256", "b".repeat(64)).build();

test("without the helper, the firewall facts the daemon cannot see are unavailable with the reason (real systemctl)", async () => {
  const helper = createHelperClient({ run: createCommandRunner(), now: () => Date.now(), resultDir: "/nonexistent/osiris-helper" });
  const gather = withHelperFirewallFacts(unprivileged, { helper, run: createCommandRunner() });
  const g = await gather(SELF, { timeoutMs: 20_000 });
  assert.is((g.facts["firewall"] as Record<string, unknown>)["nftables_active"], undefined, "no false 'inactive' claim");
  assert.is((g.facts["firewall"] as Record<string, unknown>)["baseline_signature_valid"], false, "other facts untouched");
  assert.is((g.facts["disk"] as Record<string, unknown>)["max_used_percent"], 40);
  for (const f of ["firewall.ruleset_sha256", "firewall.nftables_active"]) assert.match(g.unavailable[f] ?? "", /^helper unavailable: .*; the daemon cannot list the ruleset itself \(no CAP_NET_ADMIN\)$/);
});

test("without the helper, a ruleset the script could list itself (run as root on a dev machine) is kept", async () => {
  const helper = createHelperClient({ run: createCommandRunner(), now: () => Date.now(), resultDir: "/nonexistent/osiris-helper" });
  const g = await withHelperFirewallFacts(asRoot, { helper, run: createCommandRunner() })(SELF, { timeoutMs: 20_000 });
  assert.equal(g.facts, { firewall: { nftables_active: true, ruleset_sha256: "b".repeat(64) } });
  assert.equal(g.unavailable, {});
});

async function netnsSkip(): Promise<string | null> {
  if ((process.getuid?.() ?? 1) !== 0) return "not root";
  try {
    await exec("ip", ["netns", "add", `osiris-hlpf-probe-${process.pid}`]);
    await exec("ip", ["netns", "del", `osiris-hlpf-probe-${process.pid}`]);
    return null;
  } catch (e) {
    return `ip netns add failed: ${(e as Error).message.split("\n")[0]}`;
  }
}
const skip = await netnsSkip();
if (skip) console.log(`facts.test.ts: skipping the nft-in-namespace test (${skip})`);

test("with the helper, the hash is the real ruleset's and nftables_active needs the unit active and a chain", async () => {
  if (skip) return;
  const ns = `osiris-hlpf-${process.pid}`;
  await exec("ip", ["netns", "add", ns]);
  const app = await testAppliance();
  try {
    const child = execFile("ip", ["netns", "exec", ns, "nft", "-f", "-"]);
    child.stdin!.end("table inet osiris {\n  chain input { type filter hook input priority 0; policy drop; iif \"lo\" accept; }\n}\n");
    await new Promise((r) => child.on("exit", r));
    const real = createCommandRunner();
    const inNs: CommandRunner = (argv, o) => real(["ip", "netns", "exec", ns, ...argv], o);
    const nixos = await fakeNixos(app.dir, [storePath("one")]);
    const deps = helperDeps(app, nixos, inNs);
    let unitState = "active";
    const systemd: CommandRunner = async (argv) => {
      const m = /^osiris-helper@(.+)\.service$/.exec(argv[4] ?? "");
      if (m && isHelperAction(m[1])) {
        const { result } = await runHelperAction(m[1], deps);
        return { exitCode: result.exit_code === 0 ? 0 : 1, stdout: "", stderr: "", durationMs: 1 };
      }
      if (argv.join(" ") === "systemctl is-active nftables.service") return { exitCode: unitState === "active" ? 0 : 3, stdout: `${unitState}\n`, stderr: "", durationMs: 1 };
      throw new Error(`unexpected command ${argv.join(" ")}`);
    };
    const helper = createHelperClient({ run: systemd, now: () => NOW, resultDir: nixos.resultDir, resultOwnerUid: process.getuid?.() ?? 0 });
    const gather = withHelperFirewallFacts(unprivileged, { helper, run: systemd });
    const expected = rulesetSha256(JSON.parse((await exec("ip", ["netns", "exec", ns, "nft", "-j", "list", "ruleset"])).stdout));
    let g = await gather(SELF, { timeoutMs: 20_000 });
    assert.equal(g.facts["firewall"], { nftables_active: true, ruleset_sha256: expected, baseline_signature_valid: false });
    assert.equal(g.unavailable, {});
    unitState = "inactive";
    g = await gather(SELF, { timeoutMs: 20_000 });
    assert.is((g.facts["firewall"] as Record<string, unknown>)["nftables_active"], false);
  } finally {
    await app.close();
    await exec("ip", ["netns", "del", ns]);
  }
});

test.run();
