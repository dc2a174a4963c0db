/**
 * SIGKILL trials: a real child process appends, acknowledges and prunes on a real libSQL file
 * (synchronous=FULL) and is killed at a random moment; the parent then reopens the database and checks that
 * the log verifies, nothing committed was lost, nothing is duplicated, and outbox and evidence agree. Trials
 * run in two lanes (two databases) at once to fit the time budget; each lane's database carries over from
 * trial to trial, so every restart also continues a chain that was cut by a kill.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sha256 } from "../../protocol/hash.ts";
import { openFixture } from "./_testing.ts";
import { readAnchor } from "./state.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CHILD = new URL("./_crash-child.ts", import.meta.url).pathname;
/** At least 50 trials (issue 3), split over two lanes. */
const TRIALS = 50;
const LANES = 2;
/** Kill this long after the child is ready: long enough for many appends and prunes, short enough for 50 trials. */
const KILL_DELAY_MS = { min: 10, max: 300 } as const;
/** A child that is not ready by then is broken. */
const READY_TIMEOUT_MS = 30_000;

interface TrialResult {
  lines: string[];
  ready: boolean;
}

/** Deterministic delay for (lane, trial). */
function delayFor(lane: number, trial: number): number {
  const b = sha256(`crash-delay/${lane}/${trial}`);
  return KILL_DELAY_MS.min + (((b[0]! << 8) | b[1]!) % (KILL_DELAY_MS.max - KILL_DELAY_MS.min));
}

function runTrial(dir: string, seed: string, delayMs: number): Promise<TrialResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, seed], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", ready = false;
    const readyTimer = setTimeout(() => child.kill("SIGKILL"), READY_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (!ready && out.includes("ready\n")) {
        ready = true;
        clearTimeout(readyTimer);
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(readyTimer);
      if (signal !== "SIGKILL") reject(new Error(`child exited by itself (code ${code}, signal ${signal}) before the kill: ${err.slice(-2000)}`));
      else resolve({ lines: out.split("\n").filter((l) => l !== ""), ready });
    });
  });
}

interface LaneState {
  /** Highest seq of any append the child saw resolve. */
  resolvedMax: number;
  /** Every append the children saw resolve: its seqs and the batch label its bundles carry. */
  batches: { first: number; last: number; label: string }[];
  resolvedCount: number;
  killsInPrune: number;
  killsElsewhere: number;
}

/** Reopens the database after a kill and checks every invariant; returns a failure description or null. */
async function check(dir: string, lane: LaneState): Promise<string | null> {
  const f = await openFixture(dir);
  try {
    const v = await f.log.verifyLocal();
    if (!v.ok) return `verifyLocal failed: ${JSON.stringify(v.failure)}`;
    const head = v.head.seq;
    const anchor = (await readAnchor(f.store)).seq;
    const seqs = (await f.store.execute("SELECT seq FROM evidence ORDER BY seq")).rows.map((r) => Number(r.seq));
    if (seqs.length !== head - anchor || (seqs.length > 0 && (seqs[0] !== anchor + 1 || seqs.at(-1) !== head))) {
      return `seqs are not exactly ${anchor + 1}..${head}: ${seqs.length} rows from ${seqs[0]} to ${seqs.at(-1)}`;
    }
    if (lane.resolvedMax > head) return `an append of seq ${lane.resolvedMax} resolved, but the head is ${head}: committed evidence was lost`;
    // Not just some bundle at each resolved seq: the very bundles that append wrote.
    const labels = new Map((await f.store.execute("SELECT seq, json_extract(line, '$.post_state.batch') AS label FROM evidence")).rows.map((r) => [Number(r.seq), String(r.label)]));
    for (const b of lane.batches) {
      for (let seq = Math.max(b.first, anchor + 1); seq <= b.last; seq++) {
        if (labels.get(seq) !== b.label) return `seq ${seq} was committed by batch ${b.label} but now holds ${labels.get(seq) ?? "nothing"}`;
      }
    }

    const q = async (sql: string) => (await f.store.execute(sql)).rows;
    const dupBodies = await q("SELECT body, COUNT(*) AS n FROM outbox WHERE type = 'evidence' GROUP BY body HAVING n > 1");
    if (dupBodies.length > 0) return `${dupBodies.length} bundles appear twice in the outbox`;
    const unmatched = await q("SELECT seq FROM evidence e WHERE acked = 0 AND (SELECT COUNT(*) FROM outbox o WHERE o.type = 'evidence' AND o.body = e.line) != 1");
    if (unmatched.length > 0) return `unacknowledged bundles without exactly one outbox row: ${unmatched.map((r) => r.seq).join(", ")}`;
    const strays = await q(
      `SELECT o.outbox_seq FROM outbox o WHERE o.type = 'evidence' AND (json_extract(o.body, '$.seq') > ${head}
         OR (json_extract(o.body, '$.seq') > ${anchor} AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.seq = json_extract(o.body, '$.seq') AND e.line = o.body)))`,
    );
    if (strays.length > 0) return `outbox rows whose bundle is not in the evidence table: ${strays.map((r) => r.outbox_seq).join(", ")}`;
    // Each append wrote its bundles' outbox rows and then its heartbeat, consecutively, in one transaction.
    const heartbeats = await q("SELECT outbox_seq, json_extract(body, '$.version') AS label, json_extract(body, '$.backlog') AS n FROM outbox WHERE type = 'heartbeat'");
    for (const h of heartbeats) {
      const at = Number(h.outbox_seq), n = Number(h.n);
      const before = await q(`SELECT type, json_extract(body, '$.post_state.batch') AS label FROM outbox WHERE outbox_seq >= ${at - n} AND outbox_seq < ${at}`);
      if (before.some((r) => r.type !== "evidence" || r.label !== h.label)) return `heartbeat ${h.label} at outbox_seq ${at} is not preceded by its own ${n} bundles`;
      const rows = await q(`SELECT COUNT(*) AS c, MIN(seq) AS lo FROM evidence WHERE json_extract(line, '$.post_state.batch') = '${String(h.label)}'`);
      const c = Number(rows[0]!.c), lo = Number(rows[0]!.lo);
      if (c !== n && !(c === 0 || (c < n && lo === anchor + 1))) return `batch ${h.label} has ${c} of its ${n} bundles, not explained by pruning up to ${anchor}`;
    }
    const integrity = await q("PRAGMA integrity_check");
    if (String(integrity[0]?.[0]) !== "ok") return `integrity_check: ${JSON.stringify(integrity)}`;
    return null;
  } finally {
    f.store.close();
  }
}

test(`SIGKILL at random points of append and prune (${TRIALS} trials): the log verifies, nothing committed is lost or duplicated, outbox and evidence agree`, async () => {
  const lanes = await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      const dir = await mkdtemp(join(tmpdir(), `osiris-crash-${lane}-`));
      const state: LaneState = { resolvedMax: 0, batches: [], resolvedCount: 0, killsInPrune: 0, killsElsewhere: 0 };
      try {
        for (let trial = lane; trial < TRIALS; trial += LANES) {
          const { lines, ready } = await runTrial(dir, `${lane}-${trial}`, delayFor(lane, trial));
          assert.ok(ready, `trial ${trial}: the child never became ready`);
          for (const line of lines) {
            const [tag, first, last, label] = line.split(" ");
            if (tag === "A") {
              state.batches.push({ first: Number(first), last: Number(last), label: label! });
              state.resolvedMax = Math.max(state.resolvedMax, Number(last));
              state.resolvedCount += Number(last) - Number(first) + 1;
            }
          }
          if (lines.at(-1) === "prune") state.killsInPrune++;
          else state.killsElsewhere++;
          const problem = await check(dir, state);
          assert.is(problem, null, `trial ${trial} (lane ${lane}, kill after ${delayFor(lane, trial)} ms): ${problem}`);
        }
        return state;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );
  const total = lanes.reduce((s, l) => ({ resolved: s.resolved + l.resolvedCount, prune: s.prune + l.killsInPrune, other: s.other + l.killsElsewhere }), { resolved: 0, prune: 0, other: 0 });
  console.log(`  crash trials: ${TRIALS}, bundles committed: ${total.resolved}, killed during a prune: ${total.prune}, during append/acknowledge: ${total.other}`);
  assert.is(total.prune + total.other, TRIALS);
});

test.run();
