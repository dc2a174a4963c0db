/**
 * Appliance benchmark: a simulated lab site of 50 hosts × every catalogue check for their platform.
 *   node --import tsx scripts/bench/appliance.ts            (BENCH_CYCLES=1000 by default for the RSS figure)
 * Prints the full-cycle wall and CPU time (median of measured cycles, scan + evidence + healing + checkpoint),
 * evidence appends per second (batched like a cycle, synchronous=FULL on a real file) and the RSS after
 * BENCH_CYCLES cycles; the last line is one JSON object with the figures.
 * Targets (issue 3): cycle under 3 s wall, ≥ 2,000 appends/s, steady RSS under 150 MB.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../../appliance/config/index.ts";
import { Appliance } from "../../appliance/daemon/appliance.ts";
import type { EvidenceDraft } from "../../appliance/engine/types.ts";
import { generateLabSite, GENERATED_SITE_DIR } from "../../appliance/lab/mod.ts";
import { isoTime } from "../../protocol/ids.ts";

const HOSTS = 50;
const CYCLES = Number(process.env.BENCH_CYCLES ?? 1000);
const MEASURED = 20;
const APPENDS = 10_000;
const CYCLE_MS = 15 * 60_000;

const dir = await mkdtemp(join(tmpdir(), "osiris-bench-appliance-"));
try {
  // The generated site refers to fixtures relative to fixtures/lab/generated/; make those paths absolute.
  const doc = generateLabSite({ hosts: HOSTS });
  const site = {
    ...doc,
    effects: resolve(GENERATED_SITE_DIR, String(doc.effects)),
    hosts: doc.hosts.map((h) => ({ ...h, base: resolve(GENERATED_SITE_DIR, h.base) })),
  };
  await mkdir(join(dir, "lab"));
  await writeFile(join(dir, "lab/site.json"), JSON.stringify(site));
  const config = parseConfig(
    [`state_dir: ${dir}/state`, "site:", "  id: site_bench000001", "  timezone: UTC", "  healing_mode: enforce", "  allow_disruptive_outside_window: true", "lab:", `  site_dir: ${dir}/lab`].join("\n"),
    "bench.yaml",
  );
  let now = Date.UTC(2026, 10, 2, 12, 0, 0);
  const clock = { now: () => now };
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const appliance = await Appliance.open(config, { clock, random: (n) => new Uint8Array(randomBytes(n)), log: quiet });

  const cycle = async () => {
    const wall0 = performance.now(), cpu0 = process.cpuUsage();
    const r = await appliance.runCycle({ all: true });
    const cpu = process.cpuUsage(cpu0);
    now += CYCLE_MS;
    return { wall: (performance.now() - wall0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, r };
  };
  for (let i = 0; i < 3; i++) await cycle(); // warm-up: JIT, key import, first lab state
  const walls: number[] = [], cpus: number[] = [];
  let checks = 0, healed = 0;
  for (let i = 0; i < MEASURED; i++) {
    const { wall, cpu, r } = await cycle();
    walls.push(wall);
    cpus.push(cpu);
    checks += r.scanned.reduce((n, s) => n + s.pass + s.fail + s.error, 0);
    healed += r.healing.length;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cycle_50_hosts_wall_s = Number(median(walls).toFixed(3));
  const cycle_cpu_s = Number(median(cpus).toFixed(3));
  console.log(`cycle of ${HOSTS} hosts: ${cycle_50_hosts_wall_s} s wall, ${cycle_cpu_s} s CPU (median of ${MEASURED}; ${Math.round(checks / MEASURED)} check results and ${(healed / MEASURED).toFixed(1)} healing decisions per cycle)`);

  // Evidence appends, batched like a check cycle (50 bundles per transaction).
  const drafts = (n: number): EvidenceDraft[] =>
    Array.from({ length: n }, (_, i) => ({
      kind: "check_cycle",
      host_id: `host-${i}`,
      outcome: "pass",
      timestamps: { started_at: isoTime(now), finished_at: isoTime(now + 1000) },
      results: [{ check: "linux.firewall_active", status: "pass", expected: ["firewall.active eq true"], actual: { "firewall.active": true }, controls: ["hipaa:164.312(e)(1)"] }],
    }));
  const t0 = performance.now();
  for (let done = 0; done < APPENDS; done += HOSTS) await appliance.evidence.append(drafts(HOSTS));
  const append_per_s = Math.round(APPENDS / ((performance.now() - t0) / 1000));
  console.log(`evidence appends: ${append_per_s.toLocaleString("en-US")} bundles/s (batches of ${HOSTS}, synchronous=FULL)`);

  for (let i = 3 + MEASURED; i < CYCLES; i++) {
    await cycle();
    if (i % 100 === 0) console.log(`  ${i} cycles, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  }
  globalThis.gc?.();
  const rss_mb_after_1000 = Math.round(process.memoryUsage().rss / 1e6);
  console.log(`RSS after ${CYCLES} cycles: ${rss_mb_after_1000} MB; evidence head seq ${(await appliance.evidence.head()).seq}`);
  const verified = await appliance.evidence.verifyLocal();
  console.log(`local chain verification: ${verified.ok ? "ok" : `FAILED ${JSON.stringify(verified.failure)}`}`);
  await appliance.stop();
  console.log(JSON.stringify({ cycle_50_hosts_wall_s, cycle_cpu_s, append_per_s, rss_mb_after_1000, cycles: CYCLES }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
