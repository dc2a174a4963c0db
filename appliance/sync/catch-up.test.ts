/**
 * A week offline: the real lab clinic daemon keeps scanning (7 × 96 cycles, 15 min apart on a fake clock)
 * while the relay is down, then uploads the backlog in order, in bounded batches, without holding up cycles.
 * Prints the measured catch-up rate (bundles/s, relay ingest and appliance bookkeeping on one machine).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCosignature } from "../../protocol/checkpoint.ts";
import { verifyChain } from "../../protocol/chain.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { MAX_PUSH_BYTES, MAX_PUSH_ENTRIES, type PushRequest } from "../../protocol/sync.ts";
import { Appliance } from "../daemon/appliance.ts";
import { SyncError } from "./errors.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog, relayCount, unacked } from "./_testing.ts";

const CYCLES_PER_DAY = 96;
const DAYS = 7;
const CYCLE_MS = 15 * 60_000;

test("a week offline uploads in order in bounded batches after the relay returns; cycles keep running; both chains verify", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-catch-up-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const probe = fetchProbe();
  const pushes: { first: number; last: number; entries: number; bytes: number }[] = [];
  probe.intercept = async (path, init) => {
    if (path === "/api/sync/push" && typeof init.body === "string") {
      const body = JSON.parse(init.body) as PushRequest;
      if (body.entries.length) pushes.push({ first: body.entries[0]!.outbox_seq, last: body.entries.at(-1)!.outbox_seq, entries: body.entries.length, bytes: Buffer.byteLength(init.body) });
    }
    return undefined;
  };
  const log = recordingLog();
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log, fetch: probe.fetch });
  try {
    const id = app.status().appliance_id;
    await app.runCycle({ all: true });
    await app.sync!.client.sync();
    const online = (await app.evidence.head()).seq;
    assert.is(await relayCount(lr, "evidence", id), online);

    await lr.stop();
    let offlineFailures = 0;
    for (let i = 0; i < DAYS * CYCLES_PER_DAY; i++) {
      lr.relay.clock.t += CYCLE_MS;
      await app.runCycle({ all: true }); // every lab host each cycle (their own intervals are 5–15 min)
      if (i % CYCLES_PER_DAY === 0) {
        try {
          await app.sync!.client.sync();
        } catch (e) {
          assert.instance(e, SyncError);
          assert.is((e as SyncError).code, "unreachable");
          offlineFailures++;
        }
      }
    }
    assert.is(offlineFailures, DAYS, "the relay stayed away all week");
    const head = (await app.evidence.head()).seq;
    const backlog = head - online;
    const backlogEntries = await unacked(app.store);
    assert.ok(backlog > DAYS * CYCLES_PER_DAY, `a week of bundles: ${backlog}`);

    await lr.restart();
    pushes.length = 0;
    const started = performance.now();
    let catchUpEnd = 0;
    let cycleEnd = 0;
    const catchUp = (async () => {
      let rounds = 0;
      for (let more = true; more; rounds++) more = (await app.sync!.client.sync()).more;
      catchUpEnd = performance.now();
      return rounds;
    })();
    // A cycle started while the backlog uploads is not queued behind it.
    const cycle = (async () => {
      await new Promise((r) => setTimeout(r, 20));
      await app.runCycle({ all: true });
      cycleEnd = performance.now();
    })();
    const rounds = await catchUp;
    await cycle;
    const seconds = (catchUpEnd - started) / 1000;
    const rate = Math.round(backlog / seconds);
    console.log(`catch-up: ${backlog} bundles (${backlogEntries} outbox entries) in ${seconds.toFixed(2)} s over ${pushes.length} pushes, ${rounds} round(s): ${rate} bundles/s`);
    assert.ok(cycleEnd < catchUpEnd, "the concurrent cycle finished before the backlog did");

    // In order, bounded, no gaps, nothing twice.
    assert.ok(pushes.length >= Math.ceil(backlogEntries / MAX_PUSH_ENTRIES));
    for (const [i, p] of pushes.entries()) {
      assert.ok(p.entries <= MAX_PUSH_ENTRIES && p.bytes <= MAX_PUSH_BYTES, `push ${i}: ${p.entries} entries, ${p.bytes} bytes`);
      assert.is(p.last - p.first + 1, p.entries, `push ${i} is contiguous`);
      if (i > 0) assert.is(p.first, pushes[i - 1]!.last + 1, `push ${i} continues push ${i - 1}`);
    }
    await app.sync!.client.sync(); // the concurrent cycle's evidence
    const finalHead = (await app.evidence.head()).seq;
    assert.is(await relayCount(lr, "evidence", id), finalHead);
    assert.is(await unacked(app.store), 0);

    const rs = await lr.relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [id] });
    const keys = new Map([[id, { publicKey: app.identity.evidenceSigner.publicKey, siteId: app.status().site_id }]]);
    const relaySide = await verifyChain(rs.rows.map((r) => String(r["line"])), keys, { fromGenesis: true });
    assert.ok(relaySide.ok, relaySide.ok ? "" : JSON.stringify(relaySide.failure));
    assert.ok((await app.evidence.verifyLocal()).ok);
    const cp = await app.evidence.latestCheckpoint();
    assert.is(cp?.size, finalHead);
    const relayKey = app.identity.pinnedRelayKeys[0]!;
    await verifyCosignature(cp!.countersigned_note!, relayKey.name, fromHex(relayKey.public_key));
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
