/**
 * The body of scripts/bench/appliance.ts: runs a simulated 50-host lab site through its check cycles and
 * measures them. Run either in the benchmark's own process (BENCH_RUNTIME=source) or, by default, bundled
 * and started as the daemon is started in production (see appliance.ts).
 *
 * Cycles run back to back with no idle time between them, unlike the daemon (one cycle per target interval):
 * the worst case for memory, since V8 gets no idle time to collect in.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../appliance/config/index.ts";
import { Appliance } from "../../appliance/daemon/appliance.ts";
import type { EvidenceDraft } from "../../appliance/engine/types.ts";
import { isoTime } from "../../protocol/ids.ts";

export const HOSTS = 50;
/** Cycles timed for the wall and CPU figures (after WARM_UP). */
const MEASURED = 20;
/** Cycles run before timing: JIT, key import, first lab state. */
const WARM_UP = 3;
/** Bundles appended for the append rate, in batches of HOSTS like a cycle. */
const APPENDS = 10_000;
/** Simulated time between cycles (the default interval of a remote target). */
const CYCLE_MS = 15 * 60_000;
/** A memory sample every this many cycles; the growth figure is fitted to them. */
const SAMPLE_EVERY = 50;
/** Samples from this cycle on (after the append phase and the lab's first healing) enter the growth fit. */
const GROWTH_FROM = 100;

export interface ApplianceBenchResult {
  cycle_50_hosts_wall_s: number;
  cycle_cpu_s: number;
  append_per_s: number;
  /** RSS after the last cycle, after a full GC and an event-loop turn (MB = 10^6 bytes). */
  rss_mb_after_1000: number;
  /** Least-squares slope of the RSS samples from cycle GROWTH_FROM on, per 1,000 cycles; null if < 3 samples. */
  rss_growth_mb_per_1000: number | null;
  /** The final RSS split: private anonymous memory (V8 heap, malloc) and file pages (node binary, addon). */
  rss_anon_mb: number | null;
  rss_file_mb: number | null;
  heap_used_mb: number;
  cycles: number;
  runtime: string;
}

interface Sample {
  cycle: number;
  rss: number;
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

/** /proc/self/status RssAnon and RssFile in MB (null off Linux). */
function rssSplit(): { anon: number | null; file: number | null } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? mb(Number(m[1]) * 1024) : null;
    };
    return { anon: kb("RssAnon"), file: kb("RssFile") };
  } catch {
    return { anon: null, file: null };
  }
}

/** A full GC (when exposed) and event-loop turns, so native memory waiting on finalisers is released. */
async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  gc?.();
}

/** Slope of y over x by least squares, or null with fewer than 3 points. */
function slope(points: Sample[]): number | null {
  if (points.length < 3) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.cycle, 0) / n;
  const my = points.reduce((s, p) => s + p.rss, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.cycle - mx) * (p.rss - my), 0);
  const sxx = points.reduce((s, p) => s + (p.cycle - mx) ** 2, 0);
  return sxy / sxx;
}

/**
 * Runs the benchmark in `dir`, which holds the lab site at `lab/site.json`; the state goes to `dir/state`.
 * Prints progress lines; the caller prints the result.
 */
export async function runApplianceBench(o: { dir: string; cycles: number; runtime: string }): Promise<ApplianceBenchResult> {
  if (!Number.isSafeInteger(o.cycles) || o.cycles < WARM_UP + MEASURED) {
    throw new RangeError(`Cannot run the appliance benchmark as cycles must be an integer >= ${WARM_UP + MEASURED}: current value is ${o.cycles}`);
  }
  const config = parseConfig(
    [`state_dir: ${o.dir}/state`, "site:", "  id: site_bench000001", "  timezone: UTC", "  healing_mode: enforce", "  allow_disruptive_outside_window: true", "lab:", `  site_dir: ${join(o.dir, "lab")}`].join("\n"),
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
  for (let i = 0; i < WARM_UP; i++) await cycle();
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

  // Evidence appends, batched like a check cycle (HOSTS bundles per transaction).
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

  const samples: Sample[] = [];
  for (let i = WARM_UP + MEASURED + 1; i <= o.cycles; i++) {
    await cycle();
    if (i % SAMPLE_EVERY === 0 && i < o.cycles) {
      await settle();
      const rss = mb(process.memoryUsage().rss);
      samples.push({ cycle: i, rss });
      if (i % 100 === 0) console.log(`  ${i} cycles, RSS ${rss.toFixed(0)} MB`);
    }
  }
  await settle();
  const m = process.memoryUsage();
  const split = rssSplit();
  samples.push({ cycle: o.cycles, rss: mb(m.rss) });
  const growth = slope(samples.filter((s) => s.cycle >= GROWTH_FROM));
  const result: ApplianceBenchResult = {
    cycle_50_hosts_wall_s,
    cycle_cpu_s,
    append_per_s,
    rss_mb_after_1000: Math.round(mb(m.rss)),
    rss_growth_mb_per_1000: growth === null ? null : Number((growth * 1000).toFixed(1)),
    rss_anon_mb: split.anon,
    rss_file_mb: split.file,
    heap_used_mb: mb(m.heapUsed),
    cycles: o.cycles,
    runtime: o.runtime,
  };
  console.log(
    `RSS after ${o.cycles} cycles: ${result.rss_mb_after_1000} MB (anonymous ${split.anon ?? "?"} MB, file-backed ${split.file ?? "?"} MB, V8 heap used ${result.heap_used_mb} MB); ` +
      `growth ${result.rss_growth_mb_per_1000 ?? "n/a"} MB per 1,000 cycles; evidence head seq ${(await appliance.evidence.head()).seq}`,
  );
  const verified = await appliance.evidence.verifyLocal();
  console.log(`local chain verification: ${verified.ok ? "ok" : `FAILED ${JSON.stringify(verified.failure)}`}`);
  await appliance.stop();
  if (!verified.ok) throw new Error("the evidence chain written by the benchmark does not verify");
  return result;
}
