/**
 * scanHost and scanSite over injected gatherers (the fixtures' real facts, or gatherers that fail in the
 * ways real hosts do).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { CollectError } from "../collect/errors.ts";
import type { TargetRef } from "../engine/types.ts";
import { loadFactsFixture } from "./facts/fixture.ts";
import type { Gather, GatheredFacts } from "./facts/gathered.ts";
import { scanHost, scanSite, SCAN_CONCURRENCY } from "./scan.ts";

const fixture = (name: string): GatheredFacts =>
  loadFactsFixture(JSON.parse(readFileSync(new URL(`../../fixtures/facts/${name}`, import.meta.url), "utf8")), name).gathered;
const linuxPass = fixture("linux-pass.json");
const windowsFail = fixture("windows-fail.json");
const clock = { now: () => Date.parse("2026-11-27T23:15:00Z") };
const host = (id: string, platform: TargetRef["platform"] = "linux"): TargetRef => ({ id, name: id.toUpperCase(), platform, collector: "ssh", simulated: false });
const facts = (g: GatheredFacts): Gather => async () => g;
const unreachable: Gather = async (t) => {
  throw new CollectError("unreachable", `ssh ${t.id}:22 refused the connection`);
};

test("scanHost evaluates every check of the host's platform, with HIPAA-style control ids", async () => {
  const scan = await scanHost(host("nas"), { gather: facts(linuxPass), catalogue, clock, timeoutMs: 1_000 });
  assert.is(scan.reachable, true);
  assert.is(scan.error, null);
  assert.equal(scan.results.map((r) => r.check), catalogue.listChecks({ platform: "linux" }).map((c) => c.id));
  for (const r of scan.results) {
    assert.is(r.status, "pass", r.check);
    assert.equal(r.controls, catalogue.controlKeysFor(r.check));
    assert.ok(r.controls.some((c) => /^hipaa:164\.3\d\d\(/.test(c)), `${r.check}: ${r.controls.join(",")}`);
  }
  const ssh = scan.results.find((r) => r.check === "linux.sshd_root_login")!;
  assert.equal(ssh.expected, ['sshd.permit_root_login in ["no"]']);
  assert.equal(ssh.actual, { "sshd.installed": true, "sshd.permit_root_login": "no" });
});

test("an unreachable host gives one HostScan with the error and no per-check results", async () => {
  const scan = await scanHost(host("ws-9", "windows"), { gather: unreachable, catalogue, clock, timeoutMs: 1_000 });
  assert.is(scan.reachable, false);
  assert.equal(scan.error, { code: "unreachable", message: "ssh ws-9:22 refused the connection" });
  assert.equal(scan.results, []);
  assert.equal(scan.facts, {});
});

test("a gatherer that never answers is stopped at the timeout and told to abort", async () => {
  let aborted = false;
  const hang: Gather = (_t, { signal }) => new Promise(() => signal?.addEventListener("abort", () => (aborted = true)));
  const scan = await scanHost(host("slow"), { gather: hang, catalogue, clock, timeoutMs: 20, graceMs: 10 });
  assert.is(scan.error?.code, "timeout");
  assert.ok(aborted, "the gatherer's signal fired");
});

test("a gatherer bug is an internal error for that host, not a crash of the scan", async () => {
  const scan = await scanHost(host("odd"), { gather: async () => { throw new Error("boom"); }, catalogue, clock, timeoutMs: 1_000 });
  assert.equal(scan.error, { code: "internal", message: "fact gathering failed unexpectedly: boom" });
});

test("invalid site overrides make that check error; disabled checks are left out", async () => {
  const scan = await scanHost(host("nas"), {
    gather: facts(linuxPass),
    catalogue,
    clock,
    timeoutMs: 1_000,
    params: { "linux.disk_space": { max_used_percent: "ninety" } },
    disabledChecks: new Set(["linux.cert_expiry"]),
  });
  const disk = scan.results.find((r) => r.check === "linux.disk_space")!;
  assert.is(disk.status, "error");
  assert.match(disk.reason ?? "", /cannot evaluate: check linux.disk_space parameters/);
  assert.not.ok(scan.results.some((r) => r.check === "linux.cert_expiry"));
  assert.is(scan.results.find((r) => r.check === "linux.uid0_accounts")?.status, "pass");
});

test("valid site overrides change the threshold the check uses", async () => {
  const linuxFail = fixture("linux-fail.json"); // disk at 95 %
  const scan = await scanHost(host("nas"), { gather: facts(linuxFail), catalogue, clock, timeoutMs: 1_000, params: { "linux.disk_space": { max_used_percent: 97 } } });
  const disk = scan.results.find((r) => r.check === "linux.disk_space")!;
  assert.is(disk.status, "pass");
  assert.equal(disk.expected, ["disk.max_used_percent lte 97"]);
});

test("a clock that steps back during a scan never gives finished_at before started_at", async () => {
  let t = Date.parse("2026-11-27T23:15:00Z");
  const stepping = { now: () => (t -= 60_000) };
  const scan = await scanHost(host("nas"), { gather: facts(linuxPass), catalogue, clock: stepping, timeoutMs: 1_000 });
  assert.ok(scan.finished_at >= scan.started_at, `${scan.started_at} → ${scan.finished_at}`);
});

test("scanSite keeps target order and never runs more than SCAN_CONCURRENCY gatherers at once", async () => {
  let running = 0;
  let peak = 0;
  const gather: Gather = async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return linuxPass;
  };
  const targets = Array.from({ length: 30 }, (_, i) => host(`h${i}`));
  const site = await scanSite(targets, { gather, catalogue, clock, timeoutMs: 1_000 });
  assert.equal(site.scans.map((s) => s.target.id), targets.map((t) => t.id));
  assert.is(peak, SCAN_CONCURRENCY);
  assert.equal(site.alerts, []);
});

test("scanSite raises ONE site alert when at least half of the hosts, and at least 3, are unreachable", async () => {
  const down = new Set(["a", "b", "c"]);
  const gather: Gather = async (t) => (down.has(t.id) ? unreachable(t, { timeoutMs: 1 }) : windowsFail);
  const site = await scanSite(["a", "b", "c", "d", "e"].map((id) => host(id, "windows")).concat([host("appliance", "appliance")]), { gather: async (t, o) => (t.platform === "appliance" ? fixture("appliance-pass.json") : gather(t, o)), catalogue, clock, timeoutMs: 1_000 });
  assert.is(site.alerts.length, 1);
  assert.equal(site.alerts[0]!.hosts, ["a", "b", "c"]);
  assert.is(site.alerts[0]!.total, 5, "the appliance itself is not a site host");
  assert.equal(site.network, { scan: { target_count: 5, unreachable_percent: 60 } });
  assert.equal(site.scans.filter((s) => !s.reachable).map((s) => s.results.length), [0, 0, 0]);
});

test("no site alert for two unreachable hosts, nor for three out of eight", async () => {
  const run = async (ids: string[], down: string[]) =>
    scanSite(ids.map((id) => host(id)), { gather: async (t, o) => (down.includes(t.id) ? unreachable(t, o) : linuxPass), catalogue, clock, timeoutMs: 1_000 });
  assert.equal((await run(["a", "b", "c"], ["a", "b"])).alerts, []);
  assert.equal((await run(["a", "b", "c", "d", "e", "f", "g", "h"], ["a", "b", "c"])).alerts, []);
  assert.is((await run(["a", "b", "c", "d", "e", "f"], ["a", "b", "c"])).alerts.length, 1);
});

test("hosts that answered with an auth failure are not counted as unreachable", async () => {
  const site = await scanSite(["a", "b", "c"].map((id) => host(id)), {
    gather: async (t) => { throw new CollectError("auth_failed", `${t.id} refused the key`); },
    catalogue,
    clock,
    timeoutMs: 1_000,
  });
  assert.equal(site.alerts, []);
  assert.equal(site.scans.map((s) => s.error?.code), ["auth_failed", "auth_failed", "auth_failed"]);
});

test.run();
