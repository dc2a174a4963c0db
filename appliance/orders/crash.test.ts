/**
 * Orders under SIGKILL: a real child process executes a queue of signed orders and is killed at random moments,
 * including inside handlers; each restart recovers and re-submits every order. At the end every order ran at
 * most once (counted by the handler's own fsynced log), and each has exactly one final result: `success`, or
 * `failed` (interrupted) when the kill came after it was accepted — never both, never two.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBundleLine } from "../../protocol/evidence.ts";
import { sha256 } from "../../protocol/hash.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { buildOrder, signOrder, type OrderPayload } from "../../protocol/orders.ts";
import { EvidenceLog } from "../evidence/index.ts";
import { createNodeSigner, loadOrCreateIdentity } from "../identity/index.ts";
import { openStore } from "../store/index.ts";
import { APP, RELAY_SEED, SITE } from "./_crash-shared.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CHILD = new URL("./_crash-child.ts", import.meta.url).pathname;
/** New orders queued before each trial (the earlier ones are re-submitted too, and must be refused as replays). */
const ORDERS_PER_TRIAL = 8;
const TRIALS = 12;
/** Kill this long after the child is ready (its startup work, recover and the queue take about that long). */
const KILL_DELAY_MS = { min: 0, max: 300 } as const;
const CHILD_TIMEOUT_MS = 60_000;

function delayFor(trial: number): number {
  const b = sha256(`order-crash/${trial}`);
  return KILL_DELAY_MS.min + (((b[0]! << 8) | b[1]!) % (KILL_DELAY_MS.max - KILL_DELAY_MS.min));
}

/** Runs the child; kills it `killAfterMs` after it is ready (null: let it finish). Resolves with how it ended. */
function run(dir: string, killAfterMs: number | null): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    const guard = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      const wasReady = out.includes("ready\n");
      out += c;
      if (!wasReady && out.includes("ready\n") && killAfterMs !== null) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      if (code === 0 && out.includes("done\n")) resolve("done");
      else if (signal === "SIGKILL" && killAfterMs !== null) resolve("killed");
      else reject(new Error(`order child failed (code ${code}, signal ${signal}): ${err.slice(-2000)}`));
    });
  });
}

test(`SIGKILL while executing orders (${TRIALS} trials): each order runs at most once and has exactly one final result`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-order-crash-"));
  try {
    const relay = createNodeSigner(RELAY_SEED);
    let n = 0;
    const random = (size: number) => sha256(`order-crash-random/${n++}`).slice(0, size);
    const orders: OrderPayload[] = [];
    const envelopes: Envelope[] = [];
    let kills = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      for (let i = 0; i < ORDERS_PER_TRIAL; i++) {
        const o = buildOrder({ type: "force_scan", params: {}, target_appliance_id: APP, site_id: SITE, issued_by: "usr_0123456789ab" }, { now: Date.now(), random });
        orders.push(o);
        envelopes.push(await signOrder(o, relay));
      }
      await writeFile(join(dir, "envelopes.json"), JSON.stringify(envelopes));
      if ((await run(dir, delayFor(trial))) === "killed") kills++;
    }
    assert.is(await run(dir, null), "done", "a last run without a kill finishes the queue");

    const execLog = await readFile(join(dir, "executions.log"), "utf8").catch(() => "");
    const runs = new Map<string, number>();
    for (const line of execLog.split("\n").filter(Boolean)) runs.set(line.slice(5), (runs.get(line.slice(5)) ?? 0) + 1);

    const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
    try {
      const identity = await loadOrCreateIdentity(join(dir, "state"), store, { random, clock: { now: () => Date.now() } });
      const verified = await new EvidenceLog({ store, identity: identity.enrolled(), clock: { now: () => Date.now() } }).verifyLocal();
      assert.ok(verified.ok, JSON.stringify(verified));
      const bundles = (await store.execute("SELECT line FROM evidence ORDER BY seq")).rows.map((r) => parseBundleLine(String(r.line)));
      const results = (await store.execute("SELECT body FROM outbox WHERE type = 'order_result'")).rows.map((r) => JSON.parse(String(r.body)) as { order_id: string; outcome: string });
      let interrupted = 0;
      for (const o of orders) {
        const ran = runs.get(o.nonce) ?? 0;
        assert.ok(ran <= 1, `order ${o.order_id} ran ${ran} times`);
        const finals = bundles.filter((b) => b.order_id === o.order_id && b.outcome !== "rejected");
        assert.is(finals.length, 1, `order ${o.order_id} has ${finals.length} final results: ${JSON.stringify(finals.map((b) => [b.outcome, b.post_state]))}`);
        const final = finals[0]!;
        if (final.outcome === "success") assert.is(ran, 1, `order ${o.order_id} reported success without running`);
        else {
          assert.equal([final.outcome, final.post_state], ["failed", { reason: "interrupted" }]);
          interrupted++;
        }
        assert.equal(results.filter((r) => r.order_id === o.order_id).map((r) => r.outcome), [final.outcome]);
      }
      console.log(`  order crash trials: ${TRIALS} (${kills} killed), orders: ${orders.length}, ran: ${runs.size}, reported interrupted: ${interrupted}`);
      assert.ok(kills > 0, "at least one trial was killed mid-way");
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
