import { test } from "uvu";
import * as assert from "uvu/assert";
import { toHex, utf8 } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { leafHash, MerkleTree } from "../../protocol/merkle.ts";
import type { Store } from "../store/index.ts";
import { cycleDraft, T0, withLog, type LogFixture } from "./_testing.ts";
import { DEFAULT_RETENTION_COUNT, DEFAULT_RETENTION_DAYS, NONCE_GRACE_MS, Retention } from "./retention.ts";

const DAY = 24 * 60 * 60_000;
/** Far enough after T0 that every bundle written at T0 is older than the default retention age. */
const LATER = T0 + (DEFAULT_RETENTION_DAYS + 1) * DAY;

async function seqs(store: Store): Promise<number[]> {
  return (await store.execute("SELECT seq FROM evidence ORDER BY seq")).rows.map((r) => Number(r.seq));
}

async function appendN(f: LogFixture, n: number): Promise<void> {
  for (let done = 0; done < n; done += 100) {
    await f.log.append(Array.from({ length: Math.min(100, n - done) }, (_, i) => cycleDraft(f.clock.now() + i, `host-${i % 7}`)));
  }
}

async function ackAll(f: LogFixture): Promise<void> {
  const h = await f.log.head();
  const maxOutbox = Number((await f.store.execute("SELECT MAX(outbox_seq) AS m FROM outbox")).rows[0]!.m);
  await f.log.acknowledge({ outboxSeq: maxOutbox, evidenceSeq: h.seq });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("prune() never deletes an unacknowledged bundle, however old", async () => {
  await withLog(async (f) => {
    await appendN(f, 300);
    const report = await new Retention({ store: f.store }).prune({ now: LATER, retentionCount: 1, retentionDays: 0 });
    assert.is(report.evidence, 0);
    assert.equal(await seqs(f.store), range(1, 300));
  });
});

test("prune() keeps the newest N bundles even when acknowledged and old", async () => {
  await withLog(async (f) => {
    await appendN(f, 250);
    await ackAll(f);
    const report = await new Retention({ store: f.store }).prune({ now: LATER });
    assert.is(report.evidence, 250 - DEFAULT_RETENTION_COUNT);
    assert.is(report.pruned_through, 50);
    assert.equal(await seqs(f.store), range(51, 250));
  });
});

test("prune() keeps acknowledged bundles younger than the retention age", async () => {
  await withLog(async (f) => {
    await appendN(f, 30);
    await ackAll(f);
    const retention = new Retention({ store: f.store });
    const young = await retention.prune({ now: T0 + (DEFAULT_RETENTION_DAYS - 1) * DAY, retentionCount: 5 });
    assert.is(young.evidence, 0);
    const old = await retention.prune({ now: T0 + DEFAULT_RETENTION_DAYS * DAY + 1, retentionCount: 5 });
    assert.is(old.evidence, 25);
    assert.equal(await seqs(f.store), range(26, 30));
  });
});

test("prune() stops at the first bundle that must stay, so the kept rows are one unbroken stretch", async () => {
  await withLog(async (f) => {
    await appendN(f, 20);
    await ackAll(f);
    await f.store.execute("UPDATE evidence SET acked = 0 WHERE seq = 8");
    const report = await new Retention({ store: f.store }).prune({ now: LATER, retentionCount: 2, retentionDays: 0 });
    assert.is(report.evidence, 7);
    assert.equal(await seqs(f.store), range(8, 20));
  });
});

test("after pruning, the log still verifies, the chain continues and checkpoints keep the full Merkle root", async () => {
  await withLog(async (f) => {
    await appendN(f, 120);
    await ackAll(f);
    const before = (await f.store.execute("SELECT line FROM evidence ORDER BY seq")).rows.map((r) => String(r.line));
    const report = await new Retention({ store: f.store }).prune({ now: LATER, retentionCount: 10, retentionDays: 0, chunkRows: 25 });
    assert.is(report.evidence, 110);
    let v = await f.log.verifyLocal();
    assert.ok(v.ok && v.first_seq === 111 && v.bundles === 10, JSON.stringify(v));

    f.clock.set(LATER);
    await appendN(f, 5);
    v = await f.log.verifyLocal();
    assert.ok(v.ok && v.head.seq === 125, JSON.stringify(v));
    const after = (await f.store.execute("SELECT line FROM evidence WHERE seq > 120 ORDER BY seq")).rows.map((r) => String(r.line));
    const tree = new MerkleTree([...before, ...after].map((l) => leafHash(utf8(l))));
    assert.is((await f.log.head()).root_hash, toHex(tree.root()));
    const cp = (await f.log.checkpoint())!;
    assert.is(cp.size, 125);
  });
});

test("prune() in small chunks deletes the same rows as in one go", async () => {
  await withLog(async (f) => {
    await appendN(f, 60);
    await ackAll(f);
    const report = await new Retention({ store: f.store }).prune({ now: LATER, retentionCount: 3, retentionDays: 0, chunkRows: 7 });
    assert.is(report.evidence, 57);
    assert.equal(await seqs(f.store), [58, 59, 60]);
    assert.ok((await f.log.verifyLocal()).ok);
  });
});

test("prune() deletes acknowledged outbox rows but never the one holding the highest outbox_seq", async () => {
  await withLog(async (f) => {
    await appendN(f, 5);
    await f.log.acknowledge({ outboxSeq: 3, evidenceSeq: 0 });
    const retention = new Retention({ store: f.store });
    assert.is((await retention.prune({ now: LATER })).outbox, 3);
    let rows = (await f.store.execute("SELECT outbox_seq FROM outbox ORDER BY outbox_seq")).rows.map((r) => Number(r.outbox_seq));
    assert.equal(rows, [4, 5]);
    await f.log.acknowledge({ outboxSeq: 5, evidenceSeq: 0 });
    assert.is((await retention.prune({ now: LATER })).outbox, 1);
    rows = (await f.store.execute("SELECT outbox_seq FROM outbox ORDER BY outbox_seq")).rows.map((r) => Number(r.outbox_seq));
    assert.equal(rows, [5], "the max row stays");
    await appendN(f, 1);
    rows = (await f.store.execute("SELECT outbox_seq FROM outbox ORDER BY outbox_seq")).rows.map((r) => Number(r.outbox_seq));
    assert.equal(rows, [5, 6], "outbox_seq is never reused");
  });
});

test("prune() deletes order nonces only once their order expired more than the grace period ago", async () => {
  await withLog(async (f) => {
    const now = LATER;
    const nonces = [
      ["nonce_old", now - NONCE_GRACE_MS - 1],
      ["nonce_recent", now - NONCE_GRACE_MS + 1],
      ["nonce_live", now + 60_000],
    ] as const;
    for (const [nonce, expires] of nonces) {
      await f.store.execute({ sql: "INSERT INTO order_nonces (nonce, order_id, seen_at, expires_at) VALUES (?, 'ord_0123456789', ?, ?)", args: [nonce, isoTime(T0), isoTime(expires)] });
    }
    assert.is((await new Retention({ store: f.store }).prune({ now })).nonces, 1);
    const left = (await f.store.execute("SELECT nonce FROM order_nonces ORDER BY nonce")).rows.map((r) => r.nonce);
    assert.equal(left, ["nonce_live", "nonce_recent"]);
  });
});

test("prune() refuses a retention count below 1 or a negative age", async () => {
  await withLog(async (f) => {
    const retention = new Retention({ store: f.store });
    for (const bad of [{ retentionCount: 0 }, { retentionDays: -1 }, { retentionCount: 1.5 }]) {
      try {
        await retention.prune({ now: LATER, ...bad });
        assert.unreachable(JSON.stringify(bad));
      } catch (e) {
        assert.ok(e instanceof RangeError, String(e));
      }
    }
  });
});

test.run();
