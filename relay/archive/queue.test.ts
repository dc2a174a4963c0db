/**
 * The archive queue on a real libSQL file: checkpoints queued by ingest's own transaction (a trigger), evidence
 * queued from each appliance's cursor (no row per bundle in the ingest transaction), claimed exclusively,
 * recorded only under a live claim, re-queued when a checkpoint gains a cosignature, backfilled by the
 * migration for data stored before it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isoTime } from "../../protocol/ids.ts";
import { openRelayDb } from "../db/index.ts";
import { MIGRATIONS } from "../db/migrations.ts";
import { memoryLog } from "../log.ts";
import { count, enrolledAppliance, testClock, testRelay, type TestRelay } from "../_testing.ts";
import { claimDue, queueNewEvidence, recordOutcomes, retryFailedNow, sourceText } from "./queue.ts";
import { archiveQueueDepth, archiveStatus } from "./status.ts";

const LEASE = 60_000;

async function withRelay(fn: (relay: TestRelay) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    await fn(relay);
  } finally {
    await relay.close();
  }
}

async function queued(relay: TestRelay) {
  const rs = await relay.db.execute("SELECT object_key, kind, site_id, appliance_id, num, state, attempts, enqueued_at, next_attempt_at FROM archive_objects ORDER BY object_key");
  return rs.rows.map((r) => ({ ...r }));
}

test("ingest queues its countersigned checkpoint but no row per bundle; the fill queues every stored bundle under a deterministic key, at its received time, once", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    const bundles = await a.makeBundles(3);
    const entries = a.entries(bundles);
    const checkpoint = await a.checkpoint();
    const res = await a.push(entries, checkpoint);
    assert.is(res.status, 200);
    const at = isoTime(relay.clock.now());
    const p = `${relay.siteId}/${a.id}`;
    const checkpointRow = { object_key: `checkpoints/${p}/000000000003.note`, kind: "checkpoint", site_id: relay.siteId, appliance_id: a.id, num: 3, state: "pending", attempts: 0, enqueued_at: at, next_attempt_at: at };
    assert.equal(await queued(relay), [checkpointRow], "the push itself wrote no queue row for its bundles");
    // …yet they are pending: the dashboard and /metrics count them from the cursor.
    relay.clock.t += 90_000;
    assert.equal(await archiveStatus(relay.db, relay.siteId, relay.clock.now()), { site_id: relay.siteId, pending: 4, archived: 0, failed: 0, oldest_pending_at: at, oldest_pending_age_s: 90, last_error: null });
    assert.equal(await archiveQueueDepth(relay.db, relay.clock.now()), { pending: 4, failed: 0, oldest_pending_age_s: 90 });

    assert.is(await queueNewEvidence(relay.db), 3);
    assert.equal(await queued(relay), [
      checkpointRow,
      ...[1, 2, 3].map((n) => ({ object_key: `evidence/${p}/00000000000${n}.json`, kind: "evidence", site_id: relay.siteId, appliance_id: a.id, num: n, state: "pending", attempts: 0, enqueued_at: at, next_attempt_at: at })),
    ]);
    assert.is((await archiveStatus(relay.db, relay.siteId, relay.clock.now())).pending, 4, "queued or not, each bundle counts once");
    // The bytes the archiver will upload are the stored ones, exactly.
    assert.is(await sourceText(relay.db, { kind: "evidence", appliance_id: a.id, num: 2 }), bundles[1]!.line);
    const note = await relay.db.execute({ sql: "SELECT countersigned_note FROM checkpoints WHERE appliance_id = ?", args: [a.id] });
    assert.is(await sourceText(relay.db, { kind: "checkpoint", appliance_id: a.id, num: 3 }), String(note.rows[0]!["countersigned_note"]));

    // The same batch pushed again (a lost acknowledgement) stores nothing new and queues nothing new.
    const again = await a.push(entries, checkpoint);
    assert.is(again.status, 200);
    assert.is(await queueNewEvidence(relay.db), 0);
    assert.is(await count(relay.db, "archive_objects"), 4);
  });
});

test("the fill follows what ingest committed, in bounded steps: a partly refused push queues only what it stored, a rolled-back write nothing", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    await a.makeBundles(4);
    // seq 3 is missing: 1 and 2 are stored, 4 is refused (seq_gap).
    const res = await a.push(a.entries([a.chain[0]!, a.chain[1]!, a.chain[3]!]));
    assert.is(res.status, 409);
    const t = isoTime(relay.clock.now());
    await relay.db
      .transaction(async (tx) => {
        await tx.execute({ sql: "INSERT INTO evidence (appliance_id, seq, line, hash, leaf_hash, finished_at, received_at) VALUES (?, 3, '{}', ?, ?, ?, ?)", args: [a.id, "5".repeat(64), "6".repeat(64), t, t] });
        throw new Error("ingest fails after the insert");
      })
      .catch(() => undefined);
    assert.is(await queueNewEvidence(relay.db), 2);
    const stored = (await relay.db.execute("SELECT seq FROM evidence ORDER BY seq")).rows.map((r) => Number(r["seq"]));
    const queuedNums = (await relay.db.execute("SELECT num FROM archive_objects ORDER BY num")).rows.map((r) => Number(r["num"]));
    assert.equal(stored, [1, 2]);
    assert.equal(queuedNums, stored);

    // The rest of the chain, then fills of at most 2 bundles each: 2, 1, then nothing; the cursor says where each stopped.
    a.outboxSeq = 2; // resend from the relay's cursor, as the appliance does after a refusal
    assert.is((await a.push(a.entries([a.chain[2]!, a.chain[3]!, ...(await a.makeBundles(1))]))).status, 200);
    const cursor = async () => Number((await relay.db.execute({ sql: "SELECT queued_seq FROM archive_evidence_cursor WHERE appliance_id = ?", args: [a.id] })).rows[0]!["queued_seq"]);
    assert.is(await cursor(), 2);
    assert.is(await queueNewEvidence(relay.db, 2), 2);
    assert.is(await cursor(), 4);
    assert.is(await queueNewEvidence(relay.db, 2), 1);
    assert.is(await queueNewEvidence(relay.db, 2), 0);
    assert.is(await cursor(), 5);
    assert.equal((await relay.db.execute("SELECT num FROM archive_objects ORDER BY num")).rows.map((r) => Number(r["num"])), [1, 2, 3, 4, 5]);
  });
});

test("claims are exclusive: concurrent claims never share a row, and a claimed row is not due again before its lease ends", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(10)))).status, 200);
    await queueNewEvidence(relay.db);
    const now = relay.clock.now();
    const [x, y] = await Promise.all([
      claimDue(relay.db, { nowMs: now, limit: 6, leaseMs: LEASE, claimId: "arc_x" }),
      claimDue(relay.db, { nowMs: now, limit: 6, leaseMs: LEASE, claimId: "arc_y" }),
    ]);
    const keys = [...x, ...y].map((r) => r.object_key);
    assert.is(keys.length, 10);
    assert.is(new Set(keys).size, 10, "no row claimed twice");
    assert.ok([...x, ...y].every((r) => r.attempts === 1));
    assert.is((await claimDue(relay.db, { nowMs: now + LEASE - 1, limit: 100, leaseMs: LEASE, claimId: "arc_z" })).length, 0, "leased");
    const after = await claimDue(relay.db, { nowMs: now + LEASE, limit: 100, leaseMs: LEASE, claimId: "arc_z" });
    assert.is(after.length, 10, "a claim whose process died is taken again once its lease ends");
    assert.ok(after.every((r) => r.attempts === 2), "…and the retry knows an earlier attempt may have reached the bucket");
  });
});

test("an outcome is recorded only while its claim holds; a row archived stays archived", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(1)))).status, 200);
    await queueNewEvidence(relay.db);
    const now = relay.clock.now();
    const [old] = await claimDue(relay.db, { nowMs: now, limit: 1, leaseMs: LEASE, claimId: "arc_old" });
    await claimDue(relay.db, { nowMs: now + LEASE, limit: 1, leaseMs: LEASE, claimId: "arc_new" });
    const archived = { sha256: "a".repeat(64), bytes: 10, version_id: "v1", retain_until: isoTime(now + 86_400_000), at: now };
    assert.is(await recordOutcomes(relay.db, "arc_old", [{ object_key: old!.object_key, archived }]), 0, "the expired claim records nothing");
    assert.is(await recordOutcomes(relay.db, "arc_new", [{ object_key: old!.object_key, archived }]), 1);
    assert.is(await count(relay.db, "archive_objects", "state = 'archived' AND version_id = 'v1' AND claim_id IS NULL"), 1);
    assert.is((await claimDue(relay.db, { nowMs: now + 10 * LEASE, limit: 10, leaseMs: LEASE, claimId: "arc_later" })).length, 0, "archived rows are never claimed");
  });
});

test("a checkpoint that gains a cosignature is queued again; a failed row can be made due at once", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(2)), await a.checkpoint())).status, 200);
    await queueNewEvidence(relay.db);
    const now = relay.clock.now();
    const claimed = await claimDue(relay.db, { nowMs: now, limit: 10, leaseMs: LEASE, claimId: "arc_1" });
    const at = { sha256: "b".repeat(64), bytes: 1, version_id: "v", retain_until: isoTime(now), at: now };
    await recordOutcomes(relay.db, "arc_1", claimed.map((c) => (c.kind === "checkpoint" ? { object_key: c.object_key, archived: at } : { object_key: c.object_key, failed: { state: "failed" as const, error: "S3 PUT: 403 AccessDenied", next_attempt_at: now + 15 * 60_000 } })));
    assert.is(await count(relay.db, "archive_objects", "state = 'archived'"), 1);

    await relay.db.execute({ sql: "UPDATE checkpoints SET countersigned_note = countersigned_note || '— extra cosignature\n' WHERE appliance_id = ?", args: [a.id] });
    assert.is(await count(relay.db, "archive_objects", "kind = 'checkpoint' AND state = 'pending' AND attempts = 0 AND archived_at IS NULL"), 1);

    assert.is(await retryFailedNow(relay.db, relay.siteId, now + 1000), 2);
    const due = await claimDue(relay.db, { nowMs: now + 1000, limit: 10, leaseMs: LEASE, claimId: "arc_2" });
    assert.is(due.length, 3, "the re-queued checkpoint and both failed bundles");
  });
});

test("the archive migrations queue evidence and checkpoints stored before them, and start the evidence cursor after what they queued", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-archive-migration-"));
  const { log } = memoryLog();
  const clock = testClock();
  const path = join(dir, "relay.db");
  const archiveVersion = MIGRATIONS.find((m) => m.name === "archive")!.version;
  try {
    const before = await openRelayDb(path, { log, clock, migrations: MIGRATIONS.filter((m) => m.version < archiveVersion) });
    const t = isoTime(clock.now());
    const hex = (c: string) => c.repeat(64);
    await before.batch([
      { sql: "INSERT INTO msps (id, name, created_at) VALUES ('msp_aaaaaaaa', 'M', ?)", args: [t] },
      { sql: "INSERT INTO organisations (id, msp_id, name, created_at) VALUES ('org_aaaaaaaa', 'msp_aaaaaaaa', 'O', ?)", args: [t] },
      { sql: "INSERT INTO sites (id, org_id, name, created_at) VALUES ('site_aaaaaaaa', 'org_aaaaaaaa', 'S', ?)", args: [t] },
      {
        sql: `INSERT INTO appliances (id, site_id, identity_public_key, evidence_public_key, evidence_key_id, credentials_public_key, fingerprint, token_sha256, enrolled_at, enrolled_via)
              VALUES ('app_aaaaaaaa', 'site_aaaaaaaa', ?, ?, '0123456789abcdef', ?, 'fp', ?, ?, 'claim_code')`,
        args: [hex("1"), hex("2"), hex("3"), hex("4"), t],
      },
      { sql: "INSERT INTO evidence (appliance_id, seq, line, hash, leaf_hash, finished_at, received_at) VALUES ('app_aaaaaaaa', 1, '{}', ?, ?, ?, ?)", args: [hex("5"), hex("6"), t, t] },
      { sql: "INSERT INTO checkpoints (appliance_id, size, root, note, countersigned_note, witness_key_id, received_at) VALUES ('app_aaaaaaaa', 1, 'r', 'n', 'cn', 'k', ?)", args: [t] },
    ]);
    before.close();
    const after = await openRelayDb(path, { log, clock });
    const rs = await after.execute("SELECT object_key, state FROM archive_objects ORDER BY object_key");
    assert.equal(
      rs.rows.map((r) => [r["object_key"], r["state"]]),
      [
        ["checkpoints/site_aaaaaaaa/app_aaaaaaaa/000000000001.note", "pending"],
        ["evidence/site_aaaaaaaa/app_aaaaaaaa/000000000001.json", "pending"],
      ],
    );
    assert.equal((await after.execute("SELECT appliance_id, queued_seq FROM archive_evidence_cursor")).rows.map((r) => [r["appliance_id"], r["queued_seq"]]), [["app_aaaaaaaa", 1]]);
    after.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
