/**
 * The simulated clinics of fixtures/lab: drift over (fake) time, runbook steps applied through the lab
 * StepRunner, failures configured per host, persistence across restarts, generated 50-host sites, and clear
 * errors for bad site files.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { defaultsOf } from "../../protocol/catalogue/params.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import { CollectError } from "../collect/errors.ts";
import type { StepRunner, TargetRef } from "../engine/types.ts";
import { evaluateFacts, scanSite } from "../checks/mod.ts";
import { createLabGatherer, createLabStepRunner, generateLabSite, GENERATED_SITE_DIR, LAB_FIXTURES_DIR, LabError, LabWorld, loadLabSite, resolveLabSite } from "./mod.ts";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-30T08:00:00Z");
const fakeClock = (t = T0) => ({ t, now() { return this.t; } });
const riverside = loadLabSite(join(LAB_FIXTURES_DIR, "riverside-family-clinic"));
const lakeside = loadLabSite(join(LAB_FIXTURES_DIR, "lakeside-pediatrics"));
const tmp = mkdtempSync(join(tmpdir(), "osiris-lab-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function status(world: LabWorld, hostId: string, check: string): string {
  const host = world.site.hosts.find((h) => h.id === hostId)!;
  return evaluateFacts(host.platform, world.factsFor(hostId), { catalogue }).find((r) => r.check === check)!.status;
}

/** Runs a catalogue runbook's steps (parameters at their defaults) the way the executor would; true if all ok. */
async function runRunbook(runner: StepRunner, target: TargetRef, id: string, part: "steps" | "rollback" = "steps"): Promise<{ ok: boolean; details: string[] }> {
  const rb = catalogue.getRunbook(id);
  const defaults = defaultsOf(rb.params_schema);
  const details: string[] = [];
  for (const step of rb[part]) {
    const params = Object.fromEntries(Object.entries(step.params).map(([k, v]) => [k, v !== null && typeof v === "object" && !Array.isArray(v) && "$param" in v ? (defaults[String(v.$param)] as Json) : v]));
    const out = await runner.runStep(target, { action: step.action, params: params as Record<string, Json>, timeoutMs: 10_000 });
    details.push(out.detail);
    if (!out.ok) return { ok: false, details };
  }
  return { ok: true, details };
}

const target = (world: LabWorld, id: string) => world.targets().find((t) => t.id === id)!;

test("both clinics load, label every host simulated, and start with every applicable check passing", async () => {
  assert.is(riverside.hosts.length, 8);
  assert.is(lakeside.hosts.length, 6);
  for (const site of [riverside, lakeside]) {
    const world = await LabWorld.open({ site, clock: fakeClock() });
    for (const t of world.targets()) {
      assert.is(t.simulated, true);
      assert.is(t.collector, "lab");
      for (const r of evaluateFacts(t.platform, world.factsFor(t.id), { catalogue })) assert.ok(r.status === "pass" || r.status === "not_applicable", `${site.id} ${t.id} ${r.check}: ${r.status} ${r.reason}`);
    }
  }
});

test("drift appears at its time and not before", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: riverside, clock });
  clock.t = T0 + 3 * HOUR - 1;
  assert.is(status(world, "rfc-fs01", "windows.smb1_disabled"), "pass");
  clock.t = T0 + 3 * HOUR;
  assert.is(status(world, "rfc-fs01", "windows.smb1_disabled"), "fail");
});

test("a runbook's effects fix the drift, and repeating drift comes back at its next occurrence", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: riverside, clock });
  const runner = createLabStepRunner(world);
  clock.t = T0 + 2 * HOUR;
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "fail");
  const run = await runRunbook(runner, target(world, "rfc-ws02"), "windows.enable_firewall_profiles");
  assert.ok(run.ok, run.details.join("; "));
  assert.match(run.details[0]!, /^simulated: powershell.script: firewall.domain_enabled=true/);
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "pass");
  clock.t = T0 + 8 * HOUR - 1;
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "pass");
  clock.t = T0 + 8 * HOUR;
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "fail", "the GPO turns it off again every 6 h");
});

test("a fix configured to fail reports failure and leaves the check failing; its rollback restores the snapshot", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: riverside, clock });
  clock.t = T0 + 4 * HOUR;
  assert.is(status(world, "rfc-fs01", "windows.smb1_disabled"), "fail");
  const runner = createLabStepRunner(world);
  const run = await runRunbook(runner, target(world, "rfc-fs01"), "windows.disable_smb1");
  assert.is(run.ok, false);
  assert.match(run.details.at(-1)!, /simulated failure: Set-SmbServerConfiguration: Access is denied/);
  assert.is(status(world, "rfc-fs01", "windows.smb1_disabled"), "fail");
  const back = await runRunbook(runner, target(world, "rfc-fs01"), "windows.disable_smb1", "rollback");
  assert.ok(back.ok, back.details.join("; "));
  assert.is((world.factsFor("rfc-fs01").facts["smb"] as Record<string, Json>)["v1_enabled"], true, "restored to the state before the attempt");
});

test("a fix with no effect reports success but the re-check still fails (only the re-check can tell)", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: lakeside, clock });
  clock.t = T0 + 3 * HOUR;
  assert.is(status(world, "lp-img01", "windows.screen_lock"), "fail");
  const run = await runRunbook(createLabStepRunner(world), target(world, "lp-img01"), "windows.set_screen_lock");
  assert.ok(run.ok);
  assert.is(status(world, "lp-img01", "windows.screen_lock"), "fail");
});

test("a restore with no snapshot taken fails instead of guessing", async () => {
  const world = await LabWorld.open({ site: riverside, clock: fakeClock() });
  const out = await createLabStepRunner(world).runStep(target(world, "rfc-ws01"), { action: "powershell.script", params: { script: "rdp.restore_snapshot" }, timeoutMs: 1000 });
  assert.is(out.ok, false);
  assert.match(out.detail, /no rdp snapshot was taken on rfc-ws01/);
});

test("steps with an unknown action or invalid parameters are refused", async () => {
  const world = await LabWorld.open({ site: riverside, clock: fakeClock() });
  const runner = createLabStepRunner(world);
  const unknown = await runner.runStep(target(world, "rfc-nas01"), { action: "shell.run", params: { cmd: "rm -rf /" }, timeoutMs: 1000 });
  assert.is(unknown.ok, false);
  assert.match(unknown.detail, /'shell.run' is not a linux step action/);
  const bad = await runner.runStep(target(world, "rfc-nas01"), { action: "sysctl.set", params: { key: "kernel.panic", value: 1 }, timeoutMs: 1000 });
  assert.is(bad.ok, false);
});

test("the lab collector answers only for simulated lab targets", async () => {
  const world = await LabWorld.open({ site: riverside, clock: fakeClock() });
  const real: TargetRef = { id: "rfc-ws01", name: "x", platform: "windows", collector: "winrm", simulated: false };
  try {
    await createLabGatherer(world)(real, { timeoutMs: 1000 });
    assert.unreachable("answered for a real host");
  } catch (err) {
    assert.ok(err instanceof CollectError && err.code === "unsupported");
  }
});

test("a host set to go down is unreachable for its window, then answers again", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: lakeside, clock });
  const gather = createLabGatherer(world);
  clock.t = T0 + 24 * HOUR + 1;
  try {
    await gather(target(world, "lp-ws02"), { timeoutMs: 1000 });
    assert.unreachable("answered while down");
  } catch (err) {
    assert.ok(err instanceof CollectError && err.code === "unreachable", String(err));
  }
  clock.t = T0 + 26 * HOUR;
  assert.ok((await gather(target(world, "lp-ws02"), { timeoutMs: 1000 })).facts["firewall"]);
});

test("state survives reopening: fixes, drift cursor and start time continue, no temp file is left", async () => {
  const stateFile = join(tmp, "riverside.json");
  const clock = fakeClock();
  const first = await LabWorld.open({ site: riverside, clock, stateFile });
  clock.t = T0 + 2.5 * HOUR;
  assert.is(status(first, "rfc-nas01", "linux.kernel_network_params"), "fail");
  const fixed = await runRunbook(createLabStepRunner(first), target(first, "rfc-nas01"), "linux.harden_network_params");
  assert.ok(fixed.ok, fixed.details.join("; "));
  assert.is(status(first, "rfc-nas01", "linux.kernel_network_params"), "pass");
  const again = await LabWorld.open({ site: riverside, clock: fakeClock(T0 + 4 * HOUR), stateFile });
  assert.is(again.startedAt, T0);
  assert.is(status(again, "rfc-nas01", "linux.kernel_network_params"), "pass", "the fix survived the restart");
  assert.is(status(again, "rfc-fs01", "windows.smb1_disabled"), "fail", "drift due at start + 3 h is applied after the restart too");
  assert.equal(readdirSync(tmp).filter((n) => n.includes(".tmp-")), []);
});

test("a corrupt state file is a clear LabError; a changed site definition starts the lab again", async () => {
  const stateFile = join(tmp, "corrupt.json");
  writeFileSync(stateFile, "{not json");
  try {
    await LabWorld.open({ site: riverside, clock: fakeClock(), stateFile });
    assert.unreachable("opened a corrupt state");
  } catch (err) {
    assert.ok(err instanceof LabError && err.code === "state");
    assert.match((err as Error).message, /not valid JSON; remove it to restart/);
  }
  const other = join(tmp, "other.json");
  await LabWorld.open({ site: riverside, clock: fakeClock(), stateFile: other });
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
  const world = await LabWorld.open({ site: lakeside, clock: fakeClock(T0 + HOUR), stateFile: other, log });
  assert.is(world.startedAt, T0 + HOUR);
  assert.is(warnings.length, 1);
});

test("a clock that jumps a year ahead applies each drift once; stepping back undoes nothing", async () => {
  const clock = fakeClock();
  const world = await LabWorld.open({ site: riverside, clock });
  clock.t = T0 + 365 * 24 * HOUR;
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "fail");
  clock.t = T0;
  assert.is(status(world, "rfc-ws02", "windows.firewall_profiles"), "fail");
});

test("generateLabSite gives a deterministic 50-host site that scans every host", async () => {
  const doc = generateLabSite({ hosts: 50, seed: 7 });
  assert.equal(generateLabSite({ hosts: 50, seed: 7 }), doc);
  assert.not.equal(generateLabSite({ hosts: 50, seed: 8 }).drift, doc.drift);
  const site = resolveLabSite(doc, GENERATED_SITE_DIR);
  assert.is(site.hosts.length, 50);
  const labClock = fakeClock();
  const world = await LabWorld.open({ site, clock: labClock });
  labClock.t = T0 + 72 * HOUR;
  const scan = await scanSite(world.targets(), { gather: createLabGatherer(world), catalogue, clock: fakeClock(), timeoutMs: 5_000 });
  assert.is(scan.scans.length, 50);
  assert.ok(scan.scans.every((s) => s.reachable && s.results.length > 0));
  assert.ok(scan.scans.flatMap((s) => s.results).some((r) => r.status === "fail"), "drift shows up after 72 h");
  assert.throws(() => generateLabSite({ hosts: 1 }), (e: unknown) => e instanceof RangeError);
});

test("bad site files give a clear error naming the field", () => {
  const base = JSON.parse(readFileSync(join(LAB_FIXTURES_DIR, "riverside-family-clinic", "site.json"), "utf8")) as Record<string, unknown>;
  const cases: [string, (d: Record<string, unknown> & { hosts: Record<string, unknown>[]; drift: Record<string, unknown>[] }) => void, RegExp][] = [
    ["not simulated", (d) => (d["simulated"] = false), /simulated: a lab site must say "simulated": true/],
    ["unknown fact", (d) => (d.drift[0]!["set"] = { "firewall.turbo": true }), /drift\[0\]\.set\.firewall\.turbo: not a documented windows fact/],
    ["ill-typed fact", (d) => (d.hosts[1]!["facts"] = { "smb.v1_enabled": "no" }), /hosts\[1\]\.facts\.smb\.v1_enabled: must be boolean/],
    ["unknown host", (d) => (d.drift[0]!["host"] = "nope"), /drift\[0\]\.host: no host nope/],
    ["bad duration", (d) => (d.drift[1]!["at"] = "2 hours"), /drift\[1\]\.at: must be an ISO 8601 duration/],
    ["missing base", (d) => (d.hosts[0]!["base"] = "../../facts/nope.json"), /hosts\[0\]\.base: \.\.\/\.\.\/facts\/nope\.json: Cannot read fact fixture/],
    ["wrong platform base", (d) => (d.hosts[0]!["base"] = "../../facts/linux-pass.json"), /hosts\[0\]\.base: .*it is a linux fixture/],
    ["duplicate host", (d) => (d.hosts[1]!["id"] = d.hosts[0]!["id"]), /hosts\[1\]\.id: rfc-dc01 is used twice/],
  ];
  for (const [name, edit, pattern] of cases) {
    const doc = structuredClone(base) as Parameters<(typeof cases)[number][1]>[0];
    edit(doc);
    try {
      resolveLabSite(doc, join(LAB_FIXTURES_DIR, "riverside-family-clinic"), "riverside site.json");
      assert.unreachable(`${name}: accepted`);
    } catch (err) {
      assert.ok(err instanceof LabError && err.code === "invalid_site", `${name}: ${String(err)}`);
      assert.match((err as Error).message, pattern, name);
    }
  }
  try {
    loadLabSite(join(tmp, "no-such-site"));
    assert.unreachable("loaded a missing site");
  } catch (err) {
    assert.ok(err instanceof LabError && err.code === "unreadable");
    assert.match((err as Error).message, /Cannot read lab site .*site\.json: ENOENT/);
  }
});

test.run();
