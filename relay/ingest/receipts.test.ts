/**
 * Outbox receipts through real pushes: evidence receipted per run, every position still recognised when sent
 * again, and a different body anywhere inside a run caught with the seq stored there.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildBundle, signBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { parsePushAck, type OutboxEntry } from "../../protocol/sync.ts";
import { str } from "../db/index.ts";
import { enrolledAppliance, errorOf, testRelay, type TestAppliance } from "../_testing.ts";
import { listIncidents } from "./incidents.ts";
import { receiptedPositions, storedEntryAt } from "./receipts.ts";

const heartbeat = (a: TestAppliance, outboxSeq: number, n = 0): OutboxEntry => ({
  outbox_seq: outboxSeq,
  type: "heartbeat",
  body: { at: isoTime(a.clock.now()), version: "1", ntp_offset_ms: n, backlog: 0 },
});

async function receiptRows(a: TestAppliance, db: Awaited<ReturnType<typeof testRelay>>["db"]): Promise<string[]> {
  const rs = await db.execute({ sql: "SELECT outbox_seq, type, body FROM outbox_receipts WHERE appliance_id = ? ORDER BY outbox_seq", args: [a.id] });
  return rs.rows.map((r) => `${String(r["outbox_seq"])} ${str(r, "type")} ${str(r, "type") === "evidence" ? str(r, "body") : ""}`.trim());
}

/**
 * Pushes heartbeat, bundles 1–2, heartbeat, bundles 3–4; then bundle 2 again (a duplicate under a new
 * outbox_seq, as after an appliance restored its outbox) and bundle 5. Returns all eight entries.
 */
async function mixedPushes(a: TestAppliance): Promise<OutboxEntry[]> {
  const b = await a.makeBundles(5);
  const ev = (outboxSeq: number, i: number): OutboxEntry => ({ outbox_seq: outboxSeq, type: "evidence", body: b[i]!.line });
  a.outboxSeq = 8;
  const entries = [heartbeat(a, 1), ev(2, 0), ev(3, 1), heartbeat(a, 4, 1), ev(5, 2), ev(6, 3), ev(7, 1), ev(8, 4)];
  for (const part of [entries.slice(0, 6), entries.slice(6)]) {
    const res = await a.push(part);
    assert.is(res.status, 200, await res.clone().text());
  }
  return entries;
}

test("evidence is receipted per run of consecutive bundles, and a resent push is recognised at every position", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = await mixedPushes(a);
    assert.equal(await receiptRows(a, relay.db), [
      "1 heartbeat",
      '2 evidence {"count":2,"seq":1}',
      "4 heartbeat",
      '5 evidence {"count":2,"seq":3}',
      '7 evidence {"count":1,"seq":2}',
      '8 evidence {"count":1,"seq":5}',
    ]);
    assert.equal(await receiptedPositions(relay.db, a.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(await storedEntryAt(relay.db, a.id, 6), { kind: "evidence", seq: 4, hash: a.chain[3]!.hash });
    assert.equal(await storedEntryAt(relay.db, a.id, 7), { kind: "evidence", seq: 2, hash: a.chain[1]!.hash });
    assert.is(await storedEntryAt(relay.db, a.id, 9), null);

    const again = await a.push(entries);
    assert.is(again.status, 200, "every position is recognised when sent again");
    const ack = parsePushAck(await again.json());
    assert.equal([ack.acked_outbox_seq, ack.evidence.verified_seq, ack.evidence.head_hash], [8, 5, a.chain[4]!.hash]);
    assert.is((await receiptRows(a, relay.db)).length, 6, "nothing is receipted twice");
    assert.equal(await listIncidents(relay.db, a.id), []);
  } finally {
    await relay.close();
  }
});

test("a different bundle at a position inside a run is a fork naming the seq stored there; another type there is an outbox conflict", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await mixedPushes(a);
    const t = isoTime(a.clock.now());
    const forged = await signBundle(
      buildBundle({ appliance_id: a.id, site_id: a.siteId, seq: 4, prev_hash: a.chain[2]!.hash, kind: "system", outcome: "failed", timestamps: { started_at: t, finished_at: t }, policy_version: "forged" }),
      a.evidence,
    );
    const res = await a.push([{ outbox_seq: 6, type: "evidence", body: forged.line }]);
    assert.is(res.status, 409);
    const err = await errorOf(res);
    assert.is(err.code, "fork");
    assert.match(err.message, /outbox_seq 6: different evidence bytes for an entry already stored \(seq 4\)/);
    const [incident] = await listIncidents(relay.db, a.id);
    assert.equal([incident?.seq, incident?.stored_sha256], [4, a.chain[3]!.hash]);

    const conflict = await a.push([heartbeat(a, 3)]);
    assert.is(conflict.status, 409);
    const c = await errorOf(conflict);
    assert.is(c.code, "outbox_conflict");
    assert.match(c.message, /outbox_seq 3: a different heartbeat body for an entry already stored as evidence/);
  } finally {
    await relay.close();
  }
});

test("a receipt written before runs ({hash, seq}, one entry) still reads as that bundle", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const hash = "ab".repeat(32);
    await relay.db.execute({
      sql: "INSERT INTO outbox_receipts (appliance_id, outbox_seq, type, body, received_at) VALUES (?, 1, 'evidence', ?, ?)",
      args: [a.id, JSON.stringify({ hash, seq: 1 }), isoTime(relay.clock.now())],
    });
    assert.equal(await storedEntryAt(relay.db, a.id, 1), { kind: "evidence", seq: 1, hash });
    assert.is(await storedEntryAt(relay.db, a.id, 2), null, "an old row covers its own position only");
    assert.equal(await receiptedPositions(relay.db, a.id), [1]);
  } finally {
    await relay.close();
  }
});

test.run();
