/**
 * Helper actions `firewall-snapshot` (facts `firewall.*`: `nft -j list ruleset` needs CAP_NET_ADMIN, which
 * the daemon does not have) and `firewall-baseline` (step `nft.restore_baseline`).
 *
 * The snapshot keeps only the ruleset's canonical hash (`rulesetSha256`, the same function the fact and the
 * signed baseline use) and whether a chain is loaded. The baseline comes from the signed appliance config,
 * verified against the pinned relay keys at the moment of use; it is loaded as one nft transaction that
 * flushes the whole ruleset first (a failing load changes nothing), then the ruleset is listed again and its
 * hash must equal the baseline's.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { rulesetSha256 } from "../checks/mod.ts";
import { lastLine } from "./command.ts";
import { TIMEOUTS, type ActionContext, type ActionReport } from "./context.ts";
import { HelperError } from "./errors.ts";

/** Largest `nft -j list ruleset` output parsed (the command runner caps output well above it). */
export const MAX_RULESET_BYTES = 4 * 1024 * 1024;

export interface RulesetSnapshot {
  ruleset_sha256: string | null;
  has_chain: boolean;
  tables: number;
  chains: number;
  rules: number;
}

/** Parses `nft -j list ruleset` output; a string says why it is not one. */
export function parseRuleset(stdout: string): RulesetSnapshot | string {
  if (stdout.length > MAX_RULESET_BYTES) return `the ruleset listing is ${stdout.length} characters, over ${MAX_RULESET_BYTES}`;
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return `nft printed no JSON (output starts ${JSON.stringify(stdout.slice(0, 60))})`;
  }
  const hash = rulesetSha256(doc);
  if (hash === undefined) return "nft printed JSON without an nftables array";
  const items = (doc as { nftables: unknown[] }).nftables;
  const count = (kind: string) => items.filter((it) => it !== null && typeof it === "object" && kind in it).length;
  const chains = count("chain");
  return { ruleset_sha256: hash, has_chain: chains > 0, tables: count("table"), chains, rules: count("rule") };
}

async function snapshot(ctx: ActionContext): Promise<RulesetSnapshot | string> {
  const r = await ctx.exec(["nft", "-j", "list", "ruleset"], TIMEOUTS.nftMs);
  if (r.exitCode !== 0) return `nft -j list ruleset exited ${r.exitCode}: ${lastLine(r.stderr || r.stdout) || "no output"}`;
  return parseRuleset(r.stdout);
}

function describe(s: RulesetSnapshot): string {
  return s.ruleset_sha256 === null ? "no ruleset loaded" : `ruleset ${s.ruleset_sha256.slice(0, 12)}… (${s.tables} tables, ${s.chains} chains, ${s.rules} rules)`;
}

export async function firewallSnapshot(ctx: ActionContext): Promise<ActionReport> {
  const s = await snapshot(ctx);
  if (typeof s === "string") return { outcome: "failed", detail: s };
  return { outcome: "success", detail: describe(s), firewall: { ruleset_sha256: s.ruleset_sha256, has_chain: s.has_chain } };
}

/** The nft JSON input that replaces the whole ruleset with `baseline` in one transaction. */
export function baselineLoadDocument(baseline: { nftables: readonly unknown[] }): { nftables: unknown[] } {
  const items = baseline.nftables.filter((it) => !(it !== null && typeof it === "object" && "metainfo" in it));
  return { nftables: [{ flush: { ruleset: null } }, ...items] };
}

export async function firewallBaseline(ctx: ActionContext): Promise<ActionReport> {
  let state;
  try {
    state = await ctx.state();
  } catch (e) {
    if (e instanceof HelperError) return { outcome: "refused", detail: `no baseline loaded: ${e.message}` };
    throw e;
  }
  if (state.config.status === "none") return { outcome: "refused", detail: "no baseline loaded: the relay has not sent a signed appliance config" };
  if (state.config.status === "invalid") return { outcome: "refused", detail: `no baseline loaded: ${state.config.reason}` };
  const { payload, baselineSha256 } = state.config.config;
  if (payload.firewall_baseline === null || baselineSha256 === null) return { outcome: "refused", detail: `no baseline loaded: signed appliance config v${payload.version} has no firewall baseline` };

  const dir = await mkdtemp(join(ctx.deps.paths.tmpDir, "osiris-helper-"));
  let load;
  try {
    const file = join(dir, "baseline.json");
    await writeFile(file, JSON.stringify(baselineLoadDocument(payload.firewall_baseline)), { mode: 0o600, flag: "wx" });
    load = await ctx.exec(["nft", "-j", "-f", file], TIMEOUTS.nftMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const firewallOf = (s: RulesetSnapshot | string) => (typeof s === "string" ? undefined : { ruleset_sha256: s.ruleset_sha256, has_chain: s.has_chain, baseline_sha256: baselineSha256 });
  if (load.exitCode !== 0) {
    const after = await snapshot(ctx);
    const fw = firewallOf(after);
    return {
      outcome: "failed",
      detail: `nft rejected the baseline of config v${payload.version} (exit ${load.exitCode}): ${lastLine(load.stderr || load.stdout) || "no output"}; the previous ruleset stays loaded`,
      ...(fw ? { firewall: fw } : {}),
    };
  }
  const after = await snapshot(ctx);
  if (typeof after === "string") return { outcome: "failed", detail: `baseline loaded, but it could not be listed again: ${after}` };
  const fw = firewallOf(after)!;
  if (after.ruleset_sha256 !== baselineSha256) {
    return { outcome: "failed", detail: `baseline loaded, but the ruleset hash ${String(after.ruleset_sha256).slice(0, 12)}… differs from the baseline's ${baselineSha256.slice(0, 12)}…`, firewall: fw };
  }
  return { outcome: "success", detail: `baseline of signed config v${payload.version} loaded; ${describe(after)} matches it`, firewall: fw };
}
