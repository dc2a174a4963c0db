/**
 * Reliability: the appliance daemon is killed with SIGKILL at random points of its scan / heal / append /
 * checkpoint / prune loop, 50 times over, on the simulated lab clinic with healing enforced. After every
 * restart the evidence chain verifies, nothing is duplicated, every bundle has its outbox row, and no
 * healing attempt is left half-done or reported as a success it did not finish.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBundleLine } from "../../protocol/evidence.ts";
import { loadConfig } from "../config/index.ts";
import { Appliance } from "./appliance.ts";

const TRIALS = 50;
const CHILD = new URL("./_crash-child.ts", import.meta.url).pathname;
const LAB = new URL("../../fixtures/lab/riverside-family-clinic", import.meta.url).pathname;

function runAndKill(configPath: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, configPath], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", timer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on("data", (d) => {
      out += d;
      if (!timer && out.includes("ready\n")) timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === "SIGKILL") resolve((out.match(/^cycle /gm) ?? []).length);
      else reject(new Error(`child exited on its own (code ${code}): ${err.slice(-2000)}`));
    });
  });
}

test(`the daemon survives ${TRIALS} SIGKILLs at random points with a verifying chain and no false heals`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-daemon-crash-"));
  try {
    const configPath = join(dir, "appliance.yaml");
    await writeFile(configPath, [`state_dir: ${dir}/state`, "site:", "  id: site_riverside01", "  timezone: America/Chicago", "  healing_mode: enforce", "  allow_disruptive_outside_window: true", "lab:", `  site_dir: ${LAB}`].join("\n"));
    let cycles = 0;
    for (let i = 0; i < TRIALS; i++) cycles += await runAndKill(configPath, 20 + Math.floor(Math.random() * 400));
    assert.ok(cycles > TRIALS, `the child completed ${cycles} cycles in ${TRIALS} runs: kills must land mid-work, not only at start-up`);

    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const a = await Appliance.open(await loadConfig(configPath), { clock: { now: () => Date.UTC(2027, 0, 1) }, random: (n) => new Uint8Array(randomBytes(n)), log: quiet });
    try {
      const verified = await a.evidence.verifyLocal();
      assert.ok(verified.ok, JSON.stringify(verified));
      const ev = await a.store.execute("SELECT seq, line FROM evidence ORDER BY seq");
      const seqs = ev.rows.map((r) => Number(r[0]));
      assert.equal(seqs, Array.from({ length: seqs.length }, (_, k) => k + 1), "seqs are contiguous from 1");
      const outbox = await a.store.execute("SELECT body FROM outbox WHERE type = 'evidence' ORDER BY outbox_seq");
      assert.equal(outbox.rows.map((r) => String(r[0])), ev.rows.map((r) => String(r[1])), "every bundle has exactly one outbox row, in order");

      const open = await a.store.execute("SELECT count(*) FROM healing_attempts WHERE finished_at IS NULL");
      assert.is(Number(open.rows[0]![0]), 0, "after recovery no attempt is left in progress");
      const bundles = ev.rows.map((r) => parseBundleLine(String(r[1])));
      const successes = bundles.filter((b) => b.kind === "remediation" && b.outcome === "success");
      const rows = await a.store.execute("SELECT evidence_seq, outcome FROM healing_attempts WHERE outcome = 'success'");
      const successSeqs = new Set(rows.rows.map((r) => Number(r[0])));
      for (const s of successes) assert.ok(successSeqs.has(s.seq), `success bundle ${s.seq} belongs to an attempt that finished as success`);
      console.log(`  ${TRIALS} kills, ${cycles} completed cycles, ${bundles.length} bundles, ${successes.length} heals, ${bundles.filter((b) => b.kind === "remediation" && b.outcome === "failed").length} failed/interrupted`);
    } finally {
      await a.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
