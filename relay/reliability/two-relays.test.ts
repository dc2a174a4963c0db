/**
 * Two relay processes on one database (how an MSP scales out behind a load balancer), ingesting from the same
 * appliances at the same time: every batch goes to both relays at once (a client retrying through the load
 * balancer), and now and then two consecutive batches go one to each relay without waiting. The database must end with each chain exactly once (no
 * duplicate, no gap), one countersignature per checkpoint size that both relays hand out byte for byte, and
 * no integrity incident. On a libSQL file and on a real libSQL server (sqld).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSqld } from "../_sqld.ts";
import { checkAppliance, http, incidentCount, openSite, OutboxAppliance, pinnedRelayKeys, seededRandom, startRelayProcess, type PushResult, type RelayProcess } from "./_harness.ts";

const APPLIANCES = 4;
const ROUNDS = 25;
const PUSH_MAX = 40;
const SEED = Number(process.env["OSIRIS_TWO_RELAYS_SEED"] ?? Date.now() % 1_000_000);

async function twoRelays(location: string, label: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-two-relays-"));
  const keyFile = join(dir, "relay.key");
  const site = await openSite(location);
  const rnd = seededRandom(SEED);
  // The second process starts once the first has created the key file: both sign with the same relay key.
  const relays: RelayProcess[] = [await startRelayProcess({ db: location, keyFile })];
  try {
    relays.push(await startRelayProcess({ db: location, keyFile }));
    const transports = relays.map((r) => http(r.url));
    const apps: OutboxAppliance[] = [];
    for (let i = 0; i < APPLIANCES; i++) apps.push(await OutboxAppliance.enroll(transports[i % 2]!, await site.claimCode()));
    const keys = pinnedRelayKeys(apps[0]!);
    const outcomes = { both_acked: 0, one_gap: 0, pushes: 0 };

    await Promise.all(
      apps.map(async (app) => {
        for (let round = 0; round < ROUNDS; round++) {
          await app.write(1 + Math.floor(rnd() * 30));
          const batch = await app.batch(PUSH_MAX);
          // The same batch to both relays at once.
          const [a, b] = (await Promise.all(transports.map((t) => app.push(batch, t)))) as [PushResult, PushResult];
          outcomes.pushes += 2;
          for (const r of [a, b]) {
            if (r.kind === "down") throw new Error(`${label}: a relay went away: ${r.error}`);
            // An outbox gap is possible only when a batch starts past what is stored; it never is here.
            if (r.kind === "refused") throw new Error(`${label}: round ${round}: push refused ${JSON.stringify(r)}`);
          }
          if (a.kind === "acked" && b.kind === "acked") {
            outcomes.both_acked++;
            assert.is(a.acked, b.acked, `${label}: both relays acknowledge the same cursor for the same batch`);
            assert.is(a.countersigned, b.countersigned, `${label}: both relays return the one countersignature of this size`);
          }
          // Pipelined: a batch to one relay and the batch after it to the other before the first is answered.
          // The second may arrive before the first commits: that is an outbox gap (resend), never an incident.
          if (rnd() < 0.5) {
            await app.write(1 + Math.floor(rnd() * 30));
            const first = await app.batch(PUSH_MAX / 2);
            const next = (first.entries.at(-1)?.outbox_seq ?? app.acked) + 1;
            const second = await app.batch(PUSH_MAX / 2, next);
            const k = Math.floor(rnd() * 2);
            const [r1, r2] = await Promise.all([app.push(first, transports[k]), second.entries.length ? app.push(second, transports[1 - k]) : Promise.resolve(null)]);
            outcomes.pushes += 2;
            if (r1!.kind !== "acked") throw new Error(`${label}: round ${round}: pipelined push ${JSON.stringify(r1)}`);
            if (r2 && r2.kind !== "acked") {
              if (r2.kind === "refused" && r2.status === 409 && r2.code === "outbox_gap") outcomes.one_gap++;
              else throw new Error(`${label}: round ${round}: pipelined second push ${JSON.stringify(r2)}`);
            }
          }
        }
        await app.drain(transports[0]);
      }),
    );

    let bundles = 0;
    for (const app of apps) {
      assert.equal(await checkAppliance(site.db, app, keys), [], label);
      assert.is(app.acked, app.outbox.length);
      bundles += app.a.chain.length;
    }
    assert.is(await incidentCount(site.db), 0, `${label}: no integrity incident`);
    // Both relays handed out countersignatures, and for a size both answered, the bytes are the same (checked
    // in OutboxAppliance.push: a second, different note for a size throws).
    console.log(`${label}: ${bundles} bundles from ${APPLIANCES} appliances through 2 relay processes, ${outcomes.pushes} pushes, ${outcomes.both_acked} batches acknowledged by both, ${outcomes.one_gap} pipelined pushes told to resend (outbox_gap)`);
  } catch (e) {
    (e as Error).message += `\nrelay 1 log tail:\n${relays[0]?.logs().slice(-10).join("\n")}\nrelay 2 log tail:\n${relays[1]?.logs().slice(-10).join("\n")}`;
    throw e;
  } finally {
    for (const r of relays) await r.stop();
    site.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("two relay processes on one libSQL file: no duplicate, no gap, one countersignature per checkpoint, no incident", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-two-relays-db-"));
  try {
    await twoRelays(join(dir, "relay.db"), "file");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("two relay processes on one libSQL server (sqld): the same", async () => {
  const sqld = await startSqld();
  try {
    await twoRelays(sqld.url, "sqld");
  } finally {
    await sqld.stop();
  }
});

test.run();
