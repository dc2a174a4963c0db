/**
 * Packet benchmark (issue 7 "Performance"): a site with 50 hosts checked every 15 minutes for a month
 * (50 × 2,880 = 144,000 host cycles ≈ 150,000 results), pushed through the relay's real ingest; then, in a
 * fresh child process so its memory is its own, the monthly packet is generated (kit export, scoring, daily
 * trend, PDF, storage); then, in another fresh process, as an auditor runs `osiris evidence verify`, the kit
 * it exported is verified offline, next to raw Ed25519 verification measured in that same process.
 *
 *   node --import tsx scripts/bench/packet.ts
 *
 * Settings (environment): BENCH_HOSTS (50), BENCH_RESULTS_PER_CYCLE (check results in each host cycle
 * bundle; 1 gives ≈150,000 results, a real Windows cycle carries about 20), BENCH_MS (each raw verify
 * measurement), BENCH_KIT_RUNS (whole-kit verifications, 3; the median is reported), BENCH_KEEP_DB=1 (keep the built database and print its path). The last line is one JSON object: {packet_s, packet_peak_mb, kit_verify_per_s,
 * kit_verify_ratio, …}; kit_verify_ratio is kit bundles/s over raw parallel Ed25519 verifications/s, and
 * kit_verify_cpu_ratio the same comparison in CPU time (raw µs per verification over kit µs per bundle, all
 * threads), which other load on the machine moves far less.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { currentRelayKey } from "../../relay/keys/index.ts";
import { createInterface } from "node:readline";
import { applianceOrigin, formatCheckpointBody, signNote } from "../../protocol/checkpoint.ts";
import { catalogue, controlKeysFor } from "../../protocol/catalogue/mod.ts";
import { utf8 } from "../../protocol/encoding.ts";
import { meanRawVerify, measureRawVerify } from "./_raw-verify.ts";
import { buildBundle, type CheckResult, GENESIS_PREV_HASH, signBundle, type SignedBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { KIT_BUNDLES, verifyKit } from "../../protocol/kit.ts";
import { readKitZip } from "../../protocol/kit-files.ts";
import { leafHash, MerkleAccumulator } from "../../protocol/merkle.ts";
import { openRelayDb } from "../../relay/db/index.ts";
import { secureRandom, systemClock } from "../../relay/deps.ts";
import type { RelayLog } from "../../relay/log.ts";
import { generatePacket, packetKit } from "../../relay/report/packets.ts";
import { enrolledAppliance, testRelay, type TestAppliance } from "../../relay/_testing.ts";

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer: current value is ${JSON.stringify(v)}`);
  return n;
};

const HOSTS = env("BENCH_HOSTS", 50);
const RESULTS_PER_CYCLE = env("BENCH_RESULTS_PER_CYCLE", 1);
const MEASURE_MS = env("BENCH_MS", 2000);
/** Host cycles per simulated day (every 15 minutes). */
const CYCLES_PER_DAY = 96;
const MONTH = "2026-09";
const MONTH_START = Date.UTC(2026, 8, 1);
const DAYS = 30;
/** Bundles per push (the protocol allows 500). */
const PUSH_BATCH = 480;
/** Verifications started together in the parallel raw measurement (as scripts/bench/relay.ts). */
const VERIFY_BATCH = 64;
/** Whole-kit verifications, each between two raw measurements; the median is the reported figure. */
const KIT_RUNS = env("BENCH_KIT_RUNS", 3);

/** One verification of the whole kit and the raw figures around it. */
interface KitRun {
  bundles: number;
  seconds: number;
  perS: number;
  cpuUs: number;
  raw: Awaited<ReturnType<typeof measureRawVerify>>;
}
const ratioOf = (r: KitRun) => r.perS / r.raw.parallel;
const cpuRatioOf = (r: KitRun) => r.raw.cpuUs / r.cpuUs;

const quietLog: RelayLog = { info: () => undefined, warn: () => undefined, error: (event, fields) => console.error(JSON.stringify({ event, ...fields })) };
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const peakMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;

// ---- parent: build the month ---------------------------------------------------------------------------

const WINDOWS = catalogue.listChecks({ platform: "windows" }).map((c) => c.id);
const LINUX = catalogue.listChecks({ platform: "linux" }).map((c) => c.id);

/** Host h's results at cycle c: rotating through its platform's checks, with short failure episodes. */
function results(h: number, c: number): CheckResult[] {
  const checks = h % 5 === 0 ? LINUX : WINDOWS;
  return Array.from({ length: Math.min(RESULTS_PER_CYCLE, checks.length) }, (_, k): CheckResult => {
    const check = checks[(c * RESULTS_PER_CYCLE + k) % checks.length]!;
    const fail = (c + h * 7 + k) % 193 < 2;
    return { check, status: fail ? "fail" : "pass", expected: true, actual: fail ? { ok: false, detail: "bench failure" } : { ok: true }, controls: controlKeysFor(check) };
  });
}

async function buildMonth(): Promise<{ dir: string; dbPath: string; siteId: string; bundles: number; results: number }> {
  const relay = await testRelay();
  relay.clock.t = MONTH_START - 86_400_000;
  const a: TestAppliance = await enrolledAppliance(relay);
  const signer = a.evidence;
  const tree = new MerkleAccumulator();
  let prev = GENESIS_PREV_HASH;
  let seq = 0;
  let nResults = 0;
  let batch: SignedBundle[] = [];
  const started = performance.now();
  const flush = async () => {
    const note = await signNote(formatCheckpointBody({ origin: applianceOrigin(a.id), size: seq, root: tree.root() }), applianceOrigin(a.id), signer);
    const res = await a.push(a.entries(batch), note);
    if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
    batch = [];
  };
  const total = DAYS * CYCLES_PER_DAY;
  for (let c = 0; c <= total; c++) {
    const t = MONTH_START + c * 15 * 60_000; // the last cycle is just after the month: the site has caught up
    relay.clock.t = t + 30_000;
    for (let h = 0; h < HOSTS; h++) {
      const rs = results(h, c);
      const at = isoTime(t + h * 100);
      const signed = await signBundle(
        buildBundle({ appliance_id: a.id, site_id: a.siteId, seq: ++seq, prev_hash: prev, kind: "check_cycle", host_id: `host-${String(h).padStart(2, "0")}`, results: rs, outcome: rs.some((r) => r.status === "fail") ? "fail" : "pass", timestamps: { started_at: at, finished_at: at }, policy_version: "2026.11.0", ntp_offset_ms: 12 }),
        signer,
      );
      prev = signed.hash;
      tree.append(leafHash(utf8(signed.line)));
      batch.push(signed);
      if (c < total) nResults += rs.length;
      if (batch.length >= PUSH_BATCH) await flush();
    }
    if (c % (CYCLES_PER_DAY * 5) === 0) console.log(`  built day ${c / CYCLES_PER_DAY} of ${DAYS}: ${fmt(seq)} bundles (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (batch.length) await flush();
  relay.db.close();
  return { dir: relay.dir, dbPath: join(relay.dir, "relay.db"), siteId: relay.siteId, bundles: seq, results: nResults };
}

/** Runs this script as a child with `args`, echoing its output; resolves with its last line (a JSON object). */
async function runChild(args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  let last = "";
  for await (const line of lines) {
    console.log(line);
    last = line;
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", r)));
  if (code !== 0) throw new Error(`the ${args[0]} child exited with ${code}`);
  return JSON.parse(last) as Record<string, number>;
}

async function main(): Promise<void> {
  console.log(`building ${MONTH}: ${HOSTS} hosts × ${DAYS * CYCLES_PER_DAY} cycles (15 min), ${RESULTS_PER_CYCLE} result(s) per cycle, one appliance, real ingest`);
  const built = await buildMonth();
  console.log(`  ${fmt(built.bundles)} bundles, ${fmt(built.results)} results in the month, in ${built.dbPath}`);
  try {
    const kitPath = join(built.dir, "kit.zip");
    // Two fresh processes: the relay generating the packet, then the auditor verifying the kit it exported
    // (as `osiris evidence verify` does, with a heap of its own rather than one the packet run left behind).
    const packet = await runChild(["--packet", built.dbPath, built.siteId, kitPath]);
    const kit = await runChild(["--verify", kitPath]);
    console.log(JSON.stringify({ ...packet, ...kit, results: built.results, bundles_in_db: built.bundles, hosts: HOSTS, results_per_cycle: RESULTS_PER_CYCLE }));
  } finally {
    if (process.env["BENCH_KEEP_DB"]) console.log(`(BENCH_KEEP_DB: kept ${built.dbPath})`);
    else await rm(built.dir, { recursive: true, force: true });
  }
}

// ---- child: generate the packet, verify the kit ---------------------------------------------------------


async function packetChild(dbPath: string, siteId: string, kitPath: string): Promise<void> {
  const db = await openRelayDb(dbPath, { log: quietLog, clock: systemClock });
  const clock = { now: () => Date.UTC(2026, 9, 2) };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const relayKey = await currentRelayKey(db, join(dirname(dbPath), "relay.key"));
  const { packet } = await generatePacket({ db, clock, random: secureRandom, log: quietLog, relayKey }, { site_id: siteId, month: MONTH, framework: "hipaa", actor: "bench" });
  const packetS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const packetCpuS = (used.user + used.system) / 1e6;
  const packetPeak = peakMb();
  console.log(`packet: ${packetS.toFixed(1)} s (${packetCpuS.toFixed(1)} s CPU; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores), peak RSS ${packetPeak.toFixed(0)} MB; PDF ${fmt(packet.bytes)} bytes, score ${packet.summary.overall?.toFixed(1)}%, ${fmt(packet.summary.incidents)} incidents, ${fmt(packet.summary.bundles)} kit bundles`);
  const zip = (await packetKit(db, packet.id))!.zip;
  db.close();
  await writeFile(kitPath, zip);
  console.log(JSON.stringify({ packet_s: Number(packetS.toFixed(2)), packet_peak_mb: Math.round(packetPeak), packet_cpu_s: Number(packetCpuS.toFixed(2)), pdf_bytes: packet.bytes, kit_bytes: zip.length }));
}

/** The auditor's side: verifies the exported kit KIT_RUNS times in a fresh process, each run between two raw measurements. */
async function verifyChild(kitPath: string): Promise<void> {
  const zip = new Uint8Array(readFileSync(kitPath));
  const files = readKitZip(zip);
  const jsonl = files.get(KIT_BUNDLES)!;
  const lineBytes = Math.round(jsonl.length / Math.max(1, jsonl.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0)));
  // KIT_RUNS verifications of the whole kit, each between two raw measurements: a run's ratio uses the mean
  // of the raw figures just before and after it, so a change in the machine's load during the run (other
  // jobs on a shared 2-core box) skews it as little as possible, and the median run is reported with the
  // spread. Raw messages are as long as the kit's lines on average, so both sides hash as much per signature.
  let rawBefore = await measureRawVerify({ lineBytes, measureMs: MEASURE_MS, batch: VERIFY_BATCH });
  const runs: KitRun[] = [];
  for (let r = 0; r < KIT_RUNS; r++) {
    const vStart = performance.now();
    const vCpu = process.cpuUsage();
    const report = await verifyKit(files);
    const seconds = (performance.now() - vStart) / 1000;
    const vUsed = process.cpuUsage(vCpu);
    if (!report.ok) throw new Error(`the kit did not verify: ${JSON.stringify(report.failure)}`);
    const rawAfter = await measureRawVerify({ lineBytes, measureMs: MEASURE_MS, batch: VERIFY_BATCH });
    const raw = meanRawVerify(rawBefore, rawAfter);
    // CPU per bundle (all threads) next to raw CPU per verification: unlike bundles/s, hardly moved by other load.
    const run: KitRun = { bundles: report.bundles, seconds, perS: report.bundles / seconds, cpuUs: (vUsed.user + vUsed.system) / Math.max(1, report.bundles), raw };
    runs.push(run);
    console.log(
      `kit run ${r + 1}/${KIT_RUNS}: ${fmt(run.bundles)} bundles in ${seconds.toFixed(1)} s = ${fmt(run.perS)}/s, ${(ratioOf(run) * 100).toFixed(1)} % of parallel raw verify (${fmt(raw.parallel)}/s, mean of ${fmt(rawBefore.parallel)} before and ${fmt(rawAfter.parallel)} after); CPU ${run.cpuUs.toFixed(0)} µs/bundle vs ${raw.cpuUs.toFixed(0)} µs/raw verify (${(cpuRatioOf(run) * 100).toFixed(1)} %)`,
    );
    rawBefore = rawAfter;
  }
  const med = [...runs].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(runs.length / 2)]!;
  const ratios = runs.map(ratioOf);
  console.log(
    `kit: ${fmt(zip.length)} bytes, ${fmt(med.bundles)} bundles (${lineBytes}-byte lines); median of ${KIT_RUNS} runs ${fmt(med.perS)} bundles/s = ${(ratioOf(med) * 100).toFixed(1)} % of parallel raw verify (${ratios.map((x) => (x * 100).toFixed(1)).join(", ")} %), ${((med.perS / med.raw.serial) * 100).toFixed(1)} % of serial; raw via ${med.raw.backend}`,
  );
  const raw = med.raw;
  console.log(
    JSON.stringify({
      kit_verify_per_s: Math.round(med.perS),
      kit_verify_ratio: Number(ratioOf(med).toFixed(3)),
      kit_verify_ratio_serial: Number((med.perS / raw.serial).toFixed(3)),
      raw_verify_per_s: Math.round(raw.parallel),
      raw_verify_serial_per_s: Math.round(raw.serial),
      raw_verify_backend: raw.backend,
      kit_verify_cpu_us: Number(med.cpuUs.toFixed(1)),
      raw_verify_cpu_us: Number(raw.cpuUs.toFixed(1)),
      kit_verify_cpu_ratio: Number(cpuRatioOf(med).toFixed(3)),
      kit_verify_ratio_runs: ratios.map((x) => Number(x.toFixed(3))),
      kit_verify_cpu_ratio_runs: runs.map((r) => Number(cpuRatioOf(r).toFixed(3))),
      kit_bundles: med.bundles,
    }),
  );
}

if (process.argv[2] === "--packet") await packetChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else if (process.argv[2] === "--verify") await verifyChild(process.argv[3]!);
else await main();
