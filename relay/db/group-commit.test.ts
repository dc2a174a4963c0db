import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
// As in production (relay/db/client.ts): without the statement cache, a BEGIN that failed with SQLITE_BUSY
// stays "in progress" on its connection and every later transaction there fails (measured here).
import "../../node/libsql-statement-cache.ts";
import { startSqld } from "../_sqld.ts";
import { GroupCommitDb, isReadStatement } from "./group-commit.ts";

type DbOptions = { maxGroupUnits?: number; maxQueued?: number; lockWaitMs?: number; locked?: (cause: unknown) => Error };

async function withDb(fn: (db: GroupCommitDb, path: string) => Promise<void>, opts: DbOptions = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-group-commit-"));
  const path = join(dir, "t.db");
  const client = createClient({ url: pathToFileURL(path).href, concurrency: 4 });
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> 'bad')) STRICT");
  const { maxQueued = 1000, ...rest } = opts;
  const db = new GroupCommitDb(client, { name: "db", maxQueued, overloaded: (n) => new Error(`overloaded: ${n} waiting`), ...rest });
  try {
    await fn(db, path);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

const rows = async (db: GroupCommitDb) => (await db.execute("SELECT k, v FROM t ORDER BY k")).rows.map((r) => [Number(r["k"]), String(r["v"])]);

test("isReadStatement() lets only SELECT, EXPLAIN and bare PRAGMAs skip the write queue", () => {
  for (const sql of ["SELECT 1", "  select * from t", "EXPLAIN QUERY PLAN SELECT 1", "PRAGMA journal_mode", "PRAGMA main.synchronous;"]) assert.ok(isReadStatement(sql), sql);
  for (const sql of ["INSERT INTO t VALUES (1, 'a')", "UPDATE t SET v = 'x'", "DELETE FROM t", "WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 'a'", "PRAGMA synchronous = FULL", "CREATE TABLE x (a)", "INSERT INTO t SELECT 1, 'a' RETURNING k"]) {
    assert.not.ok(isReadStatement({ sql, args: [] }), sql);
  }
});

test("writes queued together are committed in one group, each resolving after the commit", async () => {
  await withDb(async (db) => {
    const before = db.stats.groups;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => db.execute({ sql: "INSERT INTO t (k, v) VALUES (?, ?)", args: [i + 1, `v${i + 1}`] })));
    assert.ok(results.every((r) => r.rowsAffected === 1));
    assert.is(db.stats.groups - before, 1, "50 concurrent writes took one commit");
    assert.is((await rows(db)).length, 50);
  });
});

test("a unit that throws is rolled back alone; the units before and after it in the group commit", async () => {
  await withDb(async (db) => {
    const a = db.transaction(async (tx) => {
      await tx.execute("INSERT INTO t (k, v) VALUES (1, 'a')");
      return "a";
    });
    const b = db.transaction(async (tx) => {
      await tx.execute("INSERT INTO t (k, v) VALUES (2, 'b')");
      throw new Error("b changed its mind");
    });
    const c = db.batch([
      { sql: "INSERT INTO t (k, v) VALUES (3, 'c')", args: [] },
      { sql: "INSERT INTO t (k, v) VALUES (4, 'bad')", args: [] },
    ]);
    const d = db.execute("INSERT INTO t (k, v) VALUES (5, 'd')");
    assert.is(await a, "a");
    assert.is((await rejection(b)).message, "b changed its mind");
    assert.match((await rejection(c)).message, /CHECK constraint failed/);
    assert.is((await d).rowsAffected, 1);
    assert.equal(await rows(db), [
      [1, "a"],
      [5, "d"],
    ], "nothing of the failed transaction and nothing of the failed batch (not even its good first statement)");
  });
});

test("a read never sees a unit's writes before its group commits", async () => {
  await withDb(async (db) => {
    let seenInside: number | null = null;
    await db.transaction(async (tx) => {
      await tx.execute("INSERT INTO t (k, v) VALUES (1, 'a')");
      // Another request reading meanwhile (on another connection) sees the last commit.
      await new Promise((r) => setTimeout(r, 5));
      seenInside = Number((await tx.execute("SELECT COUNT(*) AS n FROM t")).rows[0]?.["n"]);
    });
    assert.is(seenInside, 1, "the unit sees its own writes");
    assert.equal(await rows(db), [[1, "a"]]);
  });
  await withDb(async (db) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const unit = db.transaction(async (tx) => {
      await tx.execute("INSERT INTO t (k, v) VALUES (1, 'a')");
      await gate;
    });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(await rows(db), [], "not visible while its group is open");
    release();
    await unit;
    assert.equal(await rows(db), [[1, "a"]]);
  });
});

test("a database call from inside a transaction body is refused, not deadlocked", async () => {
  await withDb(async (db) => {
    const err = await rejection(db.transaction(async () => db.execute("SELECT 1")));
    assert.instance(err, TypeError);
    assert.match(err.message, /inside db\.transaction\(\)/);
    const err2 = await rejection(db.transaction(async () => db.execute("INSERT INTO t (k, v) VALUES (1, 'a')")));
    assert.match(err2.message, /inside db\.transaction\(\)/);
    assert.equal(await rows(db), []);
  });
});

test("groups are bounded: more units than MAX_GROUP_UNITS take several commits", async () => {
  await withDb(
    async (db) => {
      const before = db.stats.groups;
      await Promise.all(Array.from({ length: 10 }, (_, i) => db.execute({ sql: "INSERT INTO t (k, v) VALUES (?, 'x')", args: [i + 1] })));
      assert.is(db.stats.groups - before, 4, "10 units in groups of at most 3");
      assert.is((await rows(db)).length, 10);
    },
    { maxGroupUnits: 3 },
  );
});

test("the queue is bounded: writes beyond maxQueued are refused at once and change nothing", async () => {
  await withDb(
    async (db) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const first = db.transaction(async (tx) => {
        await tx.execute("INSERT INTO t (k, v) VALUES (1, 'a')");
        await gate;
      });
      await new Promise((r) => setTimeout(r, 5));
      const queued = [2, 3].map((k) => db.execute({ sql: "INSERT INTO t (k, v) VALUES (?, 'q')", args: [k] }));
      const err = await rejection(db.execute("INSERT INTO t (k, v) VALUES (9, 'z')"));
      assert.match(err.message, /overloaded: 2 waiting/);
      release();
      await first;
      await Promise.all(queued);
      assert.equal((await rows(db)).map((r) => r[0]), [1, 2, 3]);
    },
    { maxQueued: 2 },
  );
});

const lockedError = (cause: unknown) => new Error(`locked: ${(cause as Error).message}`);

test("another writer's lock held for a moment: the waiting writes are tried again and commit once it is free", async () => {
  await withDb(
    async (db, path) => {
      const other = createClient({ url: pathToFileURL(path).href });
      const otherTx = await other.transaction("write");
      await otherTx.execute("INSERT INTO t (k, v) VALUES (100, 'other')");
      // This file's client has no busy timeout, so every BEGIN meets the lock at once until it is released.
      setTimeout(() => void otherTx.commit().then(() => other.close()), 300);
      const started = performance.now();
      await Promise.all([db.execute("INSERT INTO t (k, v) VALUES (1, 'a')"), db.transaction((tx) => tx.execute("INSERT INTO t (k, v) VALUES (2, 'b')"))]);
      assert.ok(performance.now() - started >= 250, "the writes waited for the lock");
      assert.equal(await rows(db), [
        [1, "a"],
        [2, "b"],
        [100, "other"],
      ]);
    },
    { lockWaitMs: 5000, locked: lockedError },
  );
});

test("another writer's lock held past lockWaitMs fails the waiting writes with the locked error, and later writes work", async () => {
  await withDb(
    async (db, path) => {
      const other = createClient({ url: pathToFileURL(path).href, timeout: 50 });
      const otherTx = await other.transaction("write");
      await otherTx.execute("INSERT INTO t (k, v) VALUES (100, 'other')");
      const started = performance.now();
      const err = await rejection(db.execute("INSERT INTO t (k, v) VALUES (1, 'a')"));
      assert.match(err.message, /^locked: .*(locked|busy)/i);
      assert.ok(performance.now() - started >= 300, "it kept trying for lockWaitMs");
      await otherTx.commit();
      other.close();
      await db.execute("INSERT INTO t (k, v) VALUES (2, 'b')");
      assert.equal(await rows(db), [
        [2, "b"],
        [100, "other"],
      ]);
    },
    { lockWaitMs: 300, locked: lockedError },
  );
});

test("over a libSQL server (sqld): SQLITE_BUSY from another writer's lock is waited out, or after lockWaitMs refused with the locked error and nothing written", async () => {
  const sqld = await startSqld();
  const client = createClient({ url: sqld.url });
  const db = new GroupCommitDb(client, { name: "db", maxQueued: 100, overloaded: (n) => new Error(`overloaded: ${n}`), lockWaitMs: 1500, locked: lockedError });
  // Another writer on the server's database file (a backup tool, a second server): sqld answers SQLITE_BUSY
  // while it holds the lock, instead of waiting.
  const other = createClient({ url: pathToFileURL(join(sqld.dir, "dbs", "default", "data")).href });
  try {
    await db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT");
    let otherTx = await other.transaction("write");
    await otherTx.execute("INSERT INTO t (k, v) VALUES (100, 'other')");
    const held = otherTx;
    setTimeout(() => void held.commit(), 700);
    const started = performance.now();
    await Promise.all([db.execute("INSERT INTO t (k, v) VALUES (1, 'a')"), db.batch(["INSERT INTO t (k, v) VALUES (2, 'b')"]), db.transaction((tx) => tx.execute("INSERT INTO t (k, v) VALUES (3, 'c')"))]);
    assert.ok(performance.now() - started >= 600, "the writes waited for the lock");
    assert.equal((await rows(db)).map(([k]) => k), [1, 2, 3, 100]);

    otherTx = await other.transaction("write");
    await otherTx.execute("INSERT INTO t (k, v) VALUES (101, 'other')");
    const err = await rejection(db.transaction((tx) => tx.execute("INSERT INTO t (k, v) VALUES (4, 'd')")));
    assert.match(err.message, /^locked: .*SQLITE_BUSY/);
    await otherTx.commit();
    await db.execute("INSERT INTO t (k, v) VALUES (5, 'e')");
    assert.equal((await rows(db)).map(([k]) => k), [1, 2, 3, 5, 100, 101], "the refused write left nothing");
  } finally {
    other.close();
    db.close();
    await sqld.stop();
  }
});

test("over a libSQL server (sqld): units share a commit, a failing one is rolled back alone, reads run outside the queue", async () => {
  const sqld = await startSqld();
  const client = createClient({ url: sqld.url, concurrency: 16 });
  // No time bound here: each unit is a round trip to the server, and this test is about sharing the commit.
  const db = new GroupCommitDb(client, { name: "db", maxQueued: 100, overloaded: (n) => new Error(`overloaded: ${n}`), maxGroupMs: 60_000 });
  try {
    await db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> 'bad')) STRICT");
    const before = db.stats.groups;
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => db.execute({ sql: "INSERT INTO t (k, v) VALUES (?, 'x')", args: [i + 1] })),
      db.batch(["INSERT INTO t (k, v) VALUES (100, 'ok')", "INSERT INTO t (k, v) VALUES (101, 'bad')"]),
      db.transaction(async (tx) => {
        await tx.execute("INSERT INTO t (k, v) VALUES (200, 'y')");
        return (await tx.execute("SELECT COUNT(*) AS n FROM t")).rows[0]?.["n"];
      }),
    ]);
    assert.is(results.filter((r) => r.status === "rejected").length, 1, "only the batch with the bad row fails");
    assert.is(db.stats.groups - before, 1, "22 units queued together share one commit");
    assert.is((await rows(db)).length, 21);
    assert.not.ok((await rows(db)).some(([k]) => k === 100), "the batch's good statement was rolled back with it");
  } finally {
    db.close();
    await sqld.stop();
  }
});

test.run();
