/**
 * The appliance daemon end to end on the simulated Riverside lab clinic: real config parsing, real libSQL
 * file, real evidence log, real lab world, real healing engine; only time is moved by the test.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBundleLine, type Bundle } from "../../protocol/evidence.ts";
import { parseConfig } from "../config/index.ts";
import { Appliance, RESCAN_AFTER_DRIFT_MS } from "./appliance.ts";

const LAB = new URL("../../fixtures/lab/riverside-family-clinic", import.meta.url).pathname;
const HOUR = 3600_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function withAppliance(mode: "observe" | "enforce", fn: (a: Appliance, clock: { now(): number; advance(ms: number): void }, dir: string) => Promise<void>, extra = ""): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-daemon-"));
  let now = Date.UTC(2026, 10, 2, 15, 0, 0);
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const config = parseConfig(
    [`state_dir: ${dir}/state`, "site:", "  id: site_riverside01", "  name: Riverside Family Clinic", "  timezone: America/Chicago", `  healing_mode: ${mode}`, "  allow_disruptive_outside_window: true", "lab:", `  site_dir: ${LAB}`, extra].join("\n"),
    "appliance.yaml",
  );
  const a = await Appliance.open(config, { clock, random: (n) => new Uint8Array(randomBytes(n)), log: quiet });
  try {
    await fn(a, clock, dir);
  } finally {
    await a.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function bundles(a: Appliance): Promise<Bundle[]> {
  const rs = await a.store.execute("SELECT line FROM evidence ORDER BY seq");
  return rs.rows.map((r) => parseBundleLine(String(r[0])));
}

test("a cycle writes one signed check_cycle bundle per host, marked simulated, and the chain verifies", async () => {
  await withAppliance("observe", async (a) => {
    const r = await a.runCycle({ all: true });
    assert.is(r.scanned.length, 8);
    assert.ok(r.scanned.every((s) => s.reachable && s.fail === 0 && s.pass > 10), JSON.stringify(r.scanned));
    const b = await bundles(a);
    assert.is(b.length, 8);
    assert.ok(b.every((x) => x.kind === "check_cycle" && x.outcome === "pass" && x.post_state["simulated"] === true));
    assert.equal(new Set(b.map((x) => x.host_id)).size, 8);
    assert.ok((await a.evidence.verifyLocal()).ok);
    assert.ok(a.status().simulated);
    assert.match(a.status().fingerprint, /^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
  });
});

test("only targets that are due are scanned; a later cycle after the interval scans them again", async () => {
  await withAppliance("observe", async (a, clock) => {
    await a.runCycle();
    clock.advance(60_000);
    assert.is((await a.runCycle()).scanned.length, 0, "nothing is due a minute later");
    clock.advance(5 * 60_000);
    assert.is((await a.runCycle()).scanned.length, 8, "lab hosts are due again after their interval");
  });
});

test("a host whose scan finds new drift is scanned again 5 minutes later; drift that persists goes back to the host's interval", async () => {
  const targets = ["targets:", "  - { id: rfc-ws01, collector: lab, platform: windows, interval_s: 900 }", "  - { id: rfc-dc01, collector: lab, platform: windows, interval_s: 900 }"].join("\n");
  await withAppliance(
    "observe",
    async (a, clock) => {
      await a.runCycle({ all: true });
      clock.advance(1.5 * HOUR); // Defender real-time protection goes off on rfc-ws01 at PT1H
      const found = await a.runCycle();
      assert.equal(found.scanned.map((s) => [s.host_id, s.fail]), [["rfc-ws01", 1], ["rfc-dc01", 0]]);
      clock.advance(RESCAN_AFTER_DRIFT_MS);
      assert.equal((await a.runCycle()).scanned.map((s) => [s.host_id, s.fail]), [["rfc-ws01", 1]], "only the drifted host, 5 minutes on");
      clock.advance(RESCAN_AFTER_DRIFT_MS);
      assert.equal((await a.runCycle()).scanned, [], "the same failure again: back to the 15-minute interval");
      clock.advance(RESCAN_AFTER_DRIFT_MS);
      assert.equal((await a.runCycle()).scanned.map((s) => s.host_id), ["rfc-dc01"], "15 minutes after its last scan");
      clock.advance(RESCAN_AFTER_DRIFT_MS);
      assert.equal((await a.runCycle()).scanned.map((s) => s.host_id), ["rfc-ws01"], "15 minutes after the rescan");
    },
    targets,
  );
});

test("in observe mode drift is recorded as failing and never acted on", async () => {
  await withAppliance("observe", async (a, clock) => {
    await a.runCycle({ all: true });
    clock.advance(1.5 * HOUR); // Defender real-time protection goes off on rfc-ws01 at PT1H
    const r = await a.runCycle({ all: true });
    assert.equal(r.scanned.find((s) => s.host_id === "rfc-ws01")?.fail, 1);
    const heal = r.healing.find((h) => h.host_id === "rfc-ws01");
    assert.ok(heal, "a decision is recorded for the failing check");
    assert.is.not(heal!.outcome, "success");
    assert.ok(!(await bundles(a)).some((b) => b.kind === "remediation" && b.outcome === "success"), "observe never reports a fix");
    clock.advance(15 * 60_000);
    assert.equal((await a.runCycle({ all: true })).scanned.find((s) => s.host_id === "rfc-ws01")?.fail, 1, "still failing: nothing was changed");
  });
});

test("in enforce mode drift is healed, the success is decided by the re-check, and the next cycle passes", async () => {
  await withAppliance("enforce", async (a, clock) => {
    await a.runCycle({ all: true });
    clock.advance(1.5 * HOUR);
    const r = await a.runCycle({ all: true });
    const heal = r.healing.find((h) => h.host_id === "rfc-ws01");
    assert.is(heal?.outcome, "success", JSON.stringify(r.healing));
    const fix = (await bundles(a)).find((b) => b.kind === "remediation" && b.host_id === "rfc-ws01");
    assert.is(fix?.outcome, "success");
    assert.is(fix?.check, "windows.defender_realtime");
    clock.advance(15 * 60_000);
    assert.equal((await a.runCycle({ all: true })).scanned.find((s) => s.host_id === "rfc-ws01")?.fail, 0);
    assert.ok((await a.evidence.verifyLocal()).ok);
  });
});

test("a fix that fails on the host is not reported as success (SMB1 on the file server: access denied)", async () => {
  await withAppliance("enforce", async (a, clock) => {
    await a.runCycle({ all: true });
    clock.advance(3.5 * HOUR);
    const r = await a.runCycle({ all: true });
    const heal = r.healing.find((h) => h.host_id === "rfc-fs01");
    assert.ok(heal, JSON.stringify(r.healing));
    assert.ok(heal!.outcome !== "success", heal!.outcome);
  });
});

test("encryption that is off is never auto-fixed: BitLocker suspended raises an alert", async () => {
  await withAppliance("enforce", async (a, clock) => {
    await a.runCycle({ all: true });
    clock.advance(26.5 * HOUR);
    const r = await a.runCycle({ all: true });
    const heal = r.healing.find((h) => h.host_id === "rfc-ws04" && h.check === "windows.bitlocker");
    assert.is(heal?.outcome, "alert", JSON.stringify(r.healing));
    assert.is(heal?.runbook ?? null, null);
  });
});

test("a clock that jumps back more than five minutes writes one clock_backwards alert bundle", async () => {
  await withAppliance("observe", async (a, clock) => {
    await a.runCycle({ all: true });
    clock.advance(-HOUR);
    const r = await a.runCycle({ all: true });
    assert.ok(r.alerts.includes("clock_backwards"));
    const alerts = (await bundles(a)).filter((b) => b.kind === "system" && b.outcome === "alert");
    assert.is(alerts.length, 1);
    assert.is(alerts[0]!.post_state["event"], "clock_backwards");
  });
});

test("reopening the same state directory continues the same chain with the same identity", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-daemon-reopen-"));
  try {
    const config = parseConfig([`state_dir: ${dir}/state`, "site:", "  id: site_riverside01", "  timezone: America/Chicago", "lab:", `  site_dir: ${LAB}`].join("\n"), "a.yaml");
    const deps = { clock: { now: () => Date.UTC(2026, 10, 2, 15) }, random: (n: number) => new Uint8Array(randomBytes(n)), log: quiet };
    const first = await Appliance.open(config, deps);
    const id = first.status().appliance_id;
    await first.runCycle({ all: true });
    await first.stop();
    const second = await Appliance.open(config, { ...deps, clock: { now: () => Date.UTC(2026, 10, 2, 16) } });
    assert.is(second.status().appliance_id, id);
    await second.runCycle({ all: true });
    const cycles = (await bundles(second)).filter((b) => b.kind === "check_cycle");
    assert.is(cycles.length, 16);
    assert.equal(new Set((await bundles(second)).map((b) => b.appliance_id)), new Set([id]));
    assert.ok((await second.evidence.verifyLocal()).ok);
    await second.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
