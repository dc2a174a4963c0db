/**
 * Scratch benchmark of evidence appends (synchronous=FULL, real file): batched (a check cycle per append)
 * and single. Run: node --import tsx appliance/evidence/_bench.ts [bundles]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cycleDraft, openFixture, T0 } from "./_testing.ts";

const TOTAL = Number(process.argv[2] ?? 10_000);
const BATCH = 50;
const SINGLES = 500;

const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "osiris-bench-"));
const f = await openFixture(dir);
try {
  const sync = Number((await f.store.execute("PRAGMA synchronous")).rows[0]?.[0]);
  let t = T0;
  const drafts = (n: number) => Array.from({ length: n }, (_, i) => cycleDraft(t + i, `host-${i % 50}`));
  await f.log.append(drafts(10)); // warm up (native signer import, JIT)
  let start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let done = 0; done < TOTAL; done += BATCH) {
    await f.log.append(drafts(BATCH), [{ type: "heartbeat", body: { at: new Date(t).toISOString(), version: "bench", ntp_offset_ms: null, backlog: done } }]);
    t += BATCH;
  }
  const batched = TOTAL / ((performance.now() - start) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const batchedCpu = TOTAL / ((cpu.user + cpu.system) / 1e6);
  start = performance.now();
  for (let i = 0; i < SINGLES; i++) await f.log.append(drafts(1));
  const single = SINGLES / ((performance.now() - start) / 1000);
  start = performance.now();
  const v = await f.log.verifyLocal();
  const verifyS = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ synchronous: sync, batch: BATCH, batched_per_s: Math.round(batched), batched_per_cpu_s: Math.round(batchedCpu), single_per_s: Math.round(single), verify_ok: v.ok, verified: v.bundles, verify_per_s: Math.round(v.bundles / verifyS) }));
} finally {
  f.store.close();
  await rm(dir, { recursive: true, force: true });
}
