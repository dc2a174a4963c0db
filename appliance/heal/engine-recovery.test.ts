/**
 * Crash and failure recovery: a runbook cut off by SIGKILL is never reported as a success later, and evidence
 * or incident updates that could not be appended are appended later. The crash runs in a real child process
 * (_test-crash-child.ts); evidence goes to the stand-in sink (_test-fakes.ts).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tempStore, WIN } from "./_test-fakes.ts";
import { withHarness } from "./_test-harness.ts";

const CHILD = fileURLToPath(new URL("./_test-crash-child.ts", import.meta.url));
const FW = "windows.firewall_profiles";
const fwOff = () => ({ firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } });
/** Longest wait for the child to reach its step (tsx start-up included). */
const CHILD_START_TIMEOUT_MS = 60_000;

/** Starts the child on `path`, waits until its runbook step runs, then kills it with SIGKILL. */
async function crashMidRunbook(path: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, path], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += String(d)));
  const exited = new Promise<string | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not start its step: ${out} ${err}`)), CHILD_START_TIMEOUT_MS);
      child.stdout.on("data", (d) => {
        out += String(d);
        if (out.includes("STEP_STARTED")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", () => reject(new Error(`child exited early: ${out} ${err}`)));
    });
  } finally {
    child.kill("SIGKILL"); // also when it failed to start: never leave it running
  }
  return (await exited) ?? "";
}

test("a runbook killed mid-way is recovered as failed (interrupted), never success", async () => {
  const db = await tempStore();
  try {
    assert.is(await crashMidRunbook(db.path), "SIGKILL");
    const [marker] = (await db.store.execute("SELECT outcome, finished_at FROM healing_attempts")).rows;
    assert.equal({ ...marker }, { outcome: "in_progress", finished_at: null }, "the in-progress marker was written before the step ran");
    await withHarness({ facts: fwOff(), store: db }, async (h) => {
      const recovered = await h.engine.recoverInterrupted();
      assert.is(recovered.interrupted.length, 1);
      const bundles = h.sink.remediations();
      assert.equal(bundles.map((b) => b.outcome), ["failed"]);
      assert.match(String(bundles[0]!.post_state.detail), /^interrupted/);
      assert.is(bundles[0]!.action_taken, "windows.enable_firewall_profiles");
      assert.is(h.sink.entries("healing_attempt")[0]!.attempt_id, recovered.interrupted[0]!);
      const [row] = await h.rows("SELECT outcome, finished_at IS NOT NULL AS done, evidence_seq FROM healing_attempts");
      assert.equal({ ...row }, { outcome: "failed", done: 1, evidence_seq: bundles[0]!.seq });
      assert.equal((await h.engine.recoverInterrupted()).interrupted, [], "recovery runs once per marker");
      assert.is(h.sink.remediations().length, 1);
      // The failure counts for the failure budget like any other.
      assert.equal((await h.engine.attempts.forCheck(WIN.id, FW, 0, 10)).map((a) => a.outcome), ["failed"]);
    });
  } finally {
    // withHarness closed the store; remove the directory.
    await db.done().catch(() => undefined);
  }
});

test("an attempt whose evidence append failed is appended later with its real outcome and the same attempt id", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": (f) => ((f.firewall = { domain_enabled: true, private_enabled: true, public_enabled: true }), { ok: true, detail: "on" }) } }, async (h) => {
    h.sink.failNext = 2; // the incident update and the attempt's append both fail
    const r = await h.engine.handleScan(h.host.scan(WIN, [FW]));
    assert.equal(r.healing.map((x) => [x.outcome, x.evidence_seq]), [["success", null]]);
    assert.is(h.sink.bundles.length, 0);
    assert.ok(h.log.lines.some((l) => l.msg === "heal_evidence_append_failed"));
    const recovered = await h.engine.recoverInterrupted();
    assert.equal(recovered, { interrupted: [], resent: 1, incidents: 1 });
    assert.equal(h.sink.remediations().map((b) => [b.outcome, b.post_state.attempt_id]), [["success", r.healing[0]!.attempt_id]]);
    assert.equal(h.sink.entries("incident").map((e) => e.status), ["open"]);
    assert.equal(await h.engine.recoverInterrupted(), { interrupted: [], resent: 0, incidents: 0 }, "nothing twice");
  });
});

test.run();
