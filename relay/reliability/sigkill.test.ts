/**
 * A relay killed with SIGKILL in the middle of ingest loses nothing it acknowledged. Each trial: a real relay
 * process (`osiris relay serve`) ingests pushes from three simulated appliances writing and pushing as fast
 * as they can; at a random moment it is killed -9; a new relay process starts on the same database; the
 * relay must still hold everything it acknowledged (byte for byte, cursors included), accept the re-push of
 * everything else (the lost acknowledgements included) without an integrity incident, and every chain and
 * countersigned checkpoint must verify. 50 trials on a libSQL file, fewer on a real libSQL server (sqld).
 *
 * OSIRIS_SIGKILL_TRIALS / OSIRIS_SIGKILL_SQLD_TRIALS change the counts; OSIRIS_SIGKILL_SEED replays a run.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSqld } from "../_sqld.ts";
import { checkAppliance, http, incidentCount, openSite, OutboxAppliance, pinnedRelayKeys, relayView, seededRandom, startRelayProcess, type RelayProcess } from "./_harness.ts";

const FILE_TRIALS = Number(process.env["OSIRIS_SIGKILL_TRIALS"] ?? 50);
const SQLD_TRIALS = Number(process.env["OSIRIS_SIGKILL_SQLD_TRIALS"] ?? 5);
const SEED = Number(process.env["OSIRIS_SIGKILL_SEED"] ?? Date.now() % 1_000_000);
const APPLIANCES = 3;
/** The kill comes this long (uniformly random, ms) after the appliances start pushing. */
const MAX_KILL_DELAY_MS = 300;
/** Entries per push (the real client's batches are bigger; smaller ones give more commit points to hit). */
const PUSH_MAX = 60;

interface Stats {
  trials: number;
  interrupted: number;
  refused: number;
  storedUnacked: number;
  bundles: number;
}

async function killTrials(location: string, trials: number, seed: number, label: string): Promise<Stats> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-sigkill-"));
  const keyFile = join(dir, "relay.key");
  const site = await openSite(location);
  const rnd = seededRandom(seed);
  let relay: RelayProcess = await startRelayProcess({ db: location, keyFile });
  const stats: Stats = { trials, interrupted: 0, refused: 0, storedUnacked: 0, bundles: 0 };
  try {
    const apps: OutboxAppliance[] = [];
    for (let i = 0; i < APPLIANCES; i++) apps.push(await OutboxAppliance.enroll(http(relay.url), await site.claimCode()));
    const keys = pinnedRelayKeys(apps[0]!);

    for (let t = 1; t <= trials; t++) {
      const where = `${label} trial ${t} (seed ${seed})`;
      const transport = http(relay.url);
      const downs: string[] = [];
      const loops = apps.map(async (app) => {
        for (;;) {
          await app.write(1 + Math.floor(rnd() * 25));
          const r = await app.pushOnce(PUSH_MAX, transport);
          if (r.kind === "down") return void downs.push(r.error);
          if (r.kind === "refused") throw new Error(`${where}: a push was refused while the relay was up: ${JSON.stringify(r)}`);
        }
      });
      await new Promise((r) => setTimeout(r, rnd() * MAX_KILL_DELAY_MS));
      await relay.kill9();
      await Promise.all(loops);
      // A connection reset (not a refused connection) means a push was in flight when the relay died.
      if (downs.some((e) => !/ECONNREFUSED/.test(e))) stats.interrupted++;

      relay = await startRelayProcess({ db: location, keyFile });
      for (const app of apps) {
        const problems = await checkAppliance(site.db, app, keys);
        assert.equal(problems, [], `${where}: after the kill`);
        if ((await relayView(site.db, app.id)).acked_outbox_seq > app.acked) stats.storedUnacked++;
      }
      // Re-push everything not acknowledged: stored-but-unacknowledged entries are acknowledged again.
      const again = http(relay.url);
      await Promise.all(apps.map((app) => app.drain(again, PUSH_MAX)));
    }

    for (const app of apps) {
      assert.equal(await checkAppliance(site.db, app, keys), [], `${label}: at the end`);
      assert.is(app.acked, app.outbox.length, `${label}: ${app.id} has everything acknowledged`);
      stats.bundles += app.a.chain.length;
    }
    assert.is(await incidentCount(site.db), 0, `${label}: no integrity incident anywhere`);
    return stats;
  } catch (e) {
    (e as Error).message += `\nrelay log tail:\n${relay.logs().slice(-20).join("\n")}`;
    throw e;
  } finally {
    await relay.stop();
    site.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(label: string, s: Stats, ms: number): void {
  console.log(`${label}: ${s.trials} kills in ${(ms / 1000).toFixed(1)} s; ${s.interrupted} during a push, ${s.storedUnacked} appliance(s) with stored-but-unacknowledged entries re-acknowledged; ${s.bundles} bundles verified`);
}

test(`SIGKILL during ingest, ${FILE_TRIALS} trials on a libSQL file: nothing acknowledged is lost, re-push completes, chains verify, no incident`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-sigkill-db-"));
  const started = Date.now();
  try {
    const s = await killTrials(join(dir, "relay.db"), FILE_TRIALS, SEED, "file");
    report("file", s, Date.now() - started);
    // The test proves something only if kills really land in the middle of pushes.
    assert.ok(s.interrupted >= Math.ceil(FILE_TRIALS / 2), `only ${s.interrupted} of ${FILE_TRIALS} kills interrupted a push`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(`SIGKILL during ingest, ${SQLD_TRIALS} trials on a libSQL server (sqld): the same guarantees`, async () => {
  const sqld = await startSqld();
  const started = Date.now();
  try {
    const s = await killTrials(sqld.url, SQLD_TRIALS, SEED + 1, "sqld");
    report("sqld", s, Date.now() - started);
    assert.ok(s.interrupted >= Math.ceil(SQLD_TRIALS / 2), `only ${s.interrupted} of ${SQLD_TRIALS} kills interrupted a push`);
  } finally {
    await sqld.stop();
  }
});

test.run();
