/**
 * The relay down for a week while a fleet keeps writing evidence. appliance/sync/catch-up.test.ts covers one
 * real appliance daemon catching up against an in-process relay; this covers the relay side at fleet scale:
 * a real relay process is stopped, five simulated appliances each write a week of evidence (a bundle every
 * 15 minutes, dated across the week), their pushes fail meanwhile, then a new relay process starts on the
 * same database and all of them upload their backlogs at the same time, in order, in bounded batches. Every
 * chain must verify, every entry be acknowledged once, each appliance's last checkpoint be countersigned, and
 * no integrity incident be recorded. On a libSQL file and on sqld.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCosignature } from "../../protocol/checkpoint.ts";
import { MAX_PUSH_ENTRIES } from "../../protocol/sync.ts";
import { startSqld } from "../_sqld.ts";
import { checkAppliance, http, incidentCount, openSite, OutboxAppliance, pinnedRelayKeys, relayView, startRelayProcess } from "./_harness.ts";

const APPLIANCES = 5;
const DAYS = 7;
const CYCLE_MS = 15 * 60_000;
const WEEK_MS = DAYS * 24 * 60 * 60_000;

async function weekOffline(location: string, label: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-week-"));
  const keyFile = join(dir, "relay.key");
  const site = await openSite(location);
  let relay = await startRelayProcess({ db: location, keyFile });
  try {
    // The appliances' clock: real time when they talk to the relay, the simulated week while they write.
    const clock = { t: null as number | null, now: () => clock.t ?? Date.now() };
    const apps: OutboxAppliance[] = [];
    for (let i = 0; i < APPLIANCES; i++) apps.push(await OutboxAppliance.enroll(http(relay.url), await site.claimCode(), clock));
    // A week ago: the last evidence the relay saw before it went down.
    const weekStart = Date.now() - WEEK_MS;
    for (const app of apps) {
      clock.t = weekStart;
      await app.write(3);
      clock.t = null;
      await app.drain();
    }
    const online = apps.map((a) => a.acked);

    await relay.stop();
    const cycles = WEEK_MS / CYCLE_MS;
    let failedPushes = 0;
    for (let c = 1; c <= cycles; c++) {
      clock.t = weekStart + c * CYCLE_MS;
      for (const app of apps) await app.write(1);
      if (c % 96 === 0) {
        clock.t = null; // a daily attempt to sync (at the real time, as requests must be)
        for (const app of apps) if ((await app.pushOnce(MAX_PUSH_ENTRIES)).kind === "down") failedPushes++;
      }
    }
    clock.t = null;
    assert.is(failedPushes, DAYS * APPLIANCES, `${label}: every push during the week found the relay down`);

    relay = await startRelayProcess({ db: location, keyFile });
    const transport = http(relay.url);
    const pushes = new Map<string, { first: number; last: number }[]>();
    const started = performance.now();
    await Promise.all(
      apps.map(async (app) => {
        const log: { first: number; last: number }[] = [];
        pushes.set(app.id, log);
        while (app.acked < app.outbox.length) {
          const batch = await app.batch(MAX_PUSH_ENTRIES);
          const r = await app.push(batch, transport);
          if (r.kind !== "acked") throw new Error(`${label}: catch-up push refused: ${JSON.stringify(r)}`);
          log.push({ first: batch.entries[0]!.outbox_seq, last: batch.entries.at(-1)!.outbox_seq });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const backlog = apps.reduce((n, a, i) => n + a.outbox.length - online[i]!, 0);
    console.log(`${label}: ${APPLIANCES} appliances caught up a week (${backlog} outbox entries) in ${seconds.toFixed(1)} s: ${Math.round(backlog / seconds)} entries/s`);

    const keys = pinnedRelayKeys(apps[0]!);
    for (const [i, app] of apps.entries()) {
      const log = pushes.get(app.id)!;
      // In order, bounded, contiguous, each batch picking up exactly where the last acknowledgement left off.
      assert.is(log[0]!.first, online[i]! + 1, `${label}: ${app.id} resumes after what was acknowledged before the outage`);
      for (const [k, p] of log.entries()) {
        assert.ok(p.last - p.first + 1 <= MAX_PUSH_ENTRIES, `${label}: push ${k} is bounded`);
        if (k > 0) assert.is(p.first, log[k - 1]!.last + 1, `${label}: push ${k} continues push ${k - 1}`);
      }
      assert.equal(await checkAppliance(site.db, app, keys), [], label);
      const v = await relayView(site.db, app.id);
      assert.is(v.verified_seq, app.a.chain.length);
      const last = v.checkpoints.at(-1)!;
      assert.is(last.size, app.a.chain.length, `${label}: the last checkpoint covers the whole week`);
      await verifyCosignature(last.countersigned_note, keys[0]!.name, keys[0]!.publicKey);
    }
    assert.is(await incidentCount(site.db), 0, `${label}: no integrity incident`);
  } catch (e) {
    (e as Error).message += `\nrelay log tail:\n${relay.logs().slice(-10).join("\n")}`;
    throw e;
  } finally {
    await relay.stop();
    site.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("relay down a week on a libSQL file: five appliances catch up in order, chains and checkpoints verify", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-week-db-"));
  try {
    await weekOffline(join(dir, "relay.db"), "file");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("relay down a week on a libSQL server (sqld): the same", async () => {
  const sqld = await startSqld();
  try {
    await weekOffline(sqld.url, "sqld");
  } finally {
    await sqld.stop();
  }
});

test.run();
