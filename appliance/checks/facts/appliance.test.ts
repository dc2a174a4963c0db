/**
 * The appliance self-check gatherer: run for real on this (non-NixOS, systemd-less) machine, where nothing
 * NixOS-specific may pass; and the parser's handling of restic/borg, nft and journal output.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { catalogue } from "../../../protocol/catalogue/mod.ts";
import { createLocalTransport } from "../../collect/local.ts";
import type { TargetRef } from "../../engine/types.ts";
import { evaluateFacts } from "../scan.ts";
import { applianceScript, createApplianceGatherer, parseApplianceDoc, rulesetSha256, type ApplianceContext } from "./appliance.ts";

const GATHER_TIMEOUT_MS = 60_000;
const self: TargetRef = { id: "appliance", name: "This appliance", platform: "appliance", collector: "local", simulated: false };
const unpinned: ApplianceContext = { pinnedSystem: null, expectedAvSha256: null, firewallBaselineSha256: null, firewallBaselineSignatureValid: false };
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../fixtures/facts/${name}`, import.meta.url), "utf8")) as { now: string; output: Record<string, { rc: number; size: number; out: string }> };

test("on a machine that is not NixOS, no NixOS self-check passes: they are error or not_applicable", async () => {
  if (existsSync("/run/current-system")) return; // on a real NixOS appliance this test has nothing to show
  const local = createLocalTransport();
  try {
    const gather = createApplianceGatherer(local, { clock: { now: () => Date.now() }, context: () => unpinned, canary: false });
    const gathered = await gather(self, { timeoutMs: GATHER_TIMEOUT_MS });
    assert.match(gathered.unavailable["nixos.current_system"] ?? "", /not NixOS/);
    const results = new Map(evaluateFacts("appliance", gathered, { catalogue }).map((r) => [r.check, r]));
    for (const id of ["appliance.nixos_generation_age", "appliance.av_service", "appliance.av_binary_integrity", "appliance.logging_services", "appliance.journal_canary", "appliance.firewall_baseline", "appliance.time_sync"]) {
      assert.ok(["error", "fail", "not_applicable"].includes(results.get(id)!.status), `${id}: ${results.get(id)!.status}`);
    }
    assert.is(results.get("appliance.nixos_pinned_system")?.status, "not_applicable", "no pin yet: nothing to compare");
    assert.is(results.get("appliance.backup_freshness")?.status, "fail", "no backup configured is a failure, not a pass");
    assert.is(results.get("appliance.nixos_generation_age")?.status, "error");
  } finally {
    await local.close();
  }
});

test("the firewall hash ignores kernel handles and the nft version, and changes with any rule", () => {
  const doc = fixture("appliance-pass.json");
  const ruleset = JSON.parse(doc.output["nft_ruleset"]!.out) as { nftables: Record<string, Record<string, unknown>>[] };
  const renumbered = structuredClone(ruleset);
  for (const it of renumbered.nftables) for (const v of Object.values(it)) if ("handle" in v) v["handle"] = Number(v["handle"]) + 100;
  renumbered.nftables[0] = { metainfo: { version: "1.1.2", json_schema_version: 1 } };
  assert.is(rulesetSha256(renumbered), rulesetSha256(ruleset));
  const changed = structuredClone(ruleset);
  changed.nftables[2]!["chain"]!["policy"] = "accept";
  assert.is.not(rulesetSha256(changed), rulesetSha256(ruleset));
  assert.is(rulesetSha256({ nftables: [{ metainfo: {} }] }), null, "an empty ruleset hashes to null (nothing loaded)");
  assert.is(rulesetSha256("garbage"), undefined);
});

test("borg archive times without an offset are read as UTC; restic nanoseconds are accepted", () => {
  const doc = fixture("appliance-pass.json");
  const now = Date.parse(doc.now);
  const ctx = { now, context: unpinned, backupConfigured: true };
  const borg = structuredClone(doc.output);
  borg["backup_latest"] = { rc: 0, size: 80, out: JSON.stringify({ archives: [{ name: "osiris-2026-11-27", time: new Date(now - 3 * 3_600_000).toISOString().slice(0, 19) + ".000000" }] }) };
  const fromBorg = parseApplianceDoc(borg, "a", ctx).facts["backup"] as Record<string, unknown>;
  assert.is(fromBorg["last_success_age_hours"], 3);
  const fromRestic = parseApplianceDoc(doc.output, "a", ctx).facts["backup"] as Record<string, unknown>;
  assert.is(fromRestic["last_success_age_hours"], 7);
});

test("an unreachable backup repository leaves the snapshot age unavailable with the reason", () => {
  const doc = fixture("appliance-pass.json");
  const out = structuredClone(doc.output);
  out["backup_reach"] = { rc: 1, size: 40, out: "Fatal: unable to open config file: stat: no such host" };
  delete out["backup_latest"];
  const g = parseApplianceDoc(out, "a", { now: Date.parse(doc.now), context: unpinned, backupConfigured: true });
  assert.is((g.facts["backup"] as Record<string, unknown>)["repository_reachable"], false);
  assert.match(g.unavailable["backup.last_success_age_hours"] ?? "", /did not answer: backup_reach exited 1: Fatal/);
});

test("the appliance script is valid POSIX sh and refuses unsafe settings", () => {
  execFileSync("dash", ["-n"], { input: applianceScript({ backup: { tool: "restic", repository: "sftp:backup@nas.local:/srv/restic", passwordFile: "/run/keys/restic" } }) });
  assert.throws(() => applianceScript({ avUnit: "clamd; reboot" }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => applianceScript({ backup: { tool: "restic", repository: "s3:bucket $(id)", passwordFile: "/k" } }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => applianceScript({ encryptedVolumes: ["var/lib"] }), (e: unknown) => e instanceof RangeError && /absolute/.test(e.message));
});

test.run();
