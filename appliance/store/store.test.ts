import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StoreError } from "./errors.ts";
import { LATEST_VERSION, MIGRATIONS, type Migration } from "./migrations.ts";
import { OPERATIONS_PER_TURN, openStore, type Store, type Tx } from "./store.ts";

const TABLES = ["checkpoints", "evidence", "healing_attempts", "identity", "incidents", "kv", "order_nonces", "outbox", "ruleset", "schema_migrations", "site_config"];
const HASH = "a".repeat(64);
const FIXED = new Date("2026-11-27T22:35:36.123Z");

interface Logged {
  event: string;
  fields?: Record<string, unknown>;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-store-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function recorder(): { log: { info(event: string, fields?: Record<string, unknown>): void }; lines: Logged[] } {
  const lines: Logged[] = [];
  return { lines, log: { info: (event, fields) => void lines.push(fields ? { event, fields } : { event }) } };
}

async function open(path: string, migrations?: readonly Migration[]) {
  const rec = recorder();
  const store = await openStore(path, migrations ? { log: rec.log, clock: () => FIXED, migrations } : { log: rec.log, clock: () => FIXED });
  return { store, lines: rec.lines };
}

async function tables(store: Store): Promise<string[]> {
  const rs = await store.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  return rs.rows.map((r) => String(r.name));
}

async function refusal(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  assert.unreachable("opened");
  throw new Error("unreachable");
}

const appendEvidence = async (tx: Tx, seq: number) => {
  await tx.execute({ sql: "INSERT INTO evidence (seq, line, hash, kind, created_at) VALUES (?, ?, ?, 'system', ?)", args: [seq, `{"seq":${seq}}`, HASH, FIXED.toISOString()] });
  const next = await tx.execute("SELECT COALESCE(MAX(outbox_seq), 0) + 1 AS n FROM outbox");
  await tx.execute({ sql: "INSERT INTO outbox (outbox_seq, type, body, created_at) VALUES (?, 'evidence', ?, ?)", args: [Number(next.rows[0]!.n), `{"seq":${seq}}`, FIXED.toISOString()] });
};

test("a fresh database gets every table at the latest schema version", async () => {
  await withDir(async (dir) => {
    const { store, lines } = await open(join(dir, "appliance.db"));
    try {
      assert.is(await store.schemaVersion(), LATEST_VERSION);
      assert.equal(await tables(store), TABLES);
      const applied = await store.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
      assert.equal(applied.rows.map((r) => [Number(r.version), r.name, r.applied_at]), MIGRATIONS.map((m) => [m.version, m.name, FIXED.toISOString()]));
      assert.equal(lines.map((l) => [l.event, l.fields?.version]), MIGRATIONS.map((m) => ["store_migration_applied", m.version]));
    } finally {
      store.close();
    }
  });
});

test("WAL, synchronous=FULL and the busy timeout are in effect, also on a transaction's connection", async () => {
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "appliance.db"));
    try {
      assert.is((await store.execute("PRAGMA journal_mode")).rows[0]![0], "wal");
      assert.is(Number((await store.execute("PRAGMA synchronous")).rows[0]![0]), 2);
      assert.is(Number((await store.execute("PRAGMA busy_timeout")).rows[0]![0]), 5000);
      assert.is(Number((await store.execute("PRAGMA foreign_keys")).rows[0]![0]), 1);
      await store.transaction(async (tx) => {
        assert.is((await tx.execute("PRAGMA journal_mode")).rows[0]![0], "wal");
        assert.is(Number((await tx.execute("PRAGMA synchronous")).rows[0]![0]), 2);
        assert.is(Number((await tx.execute("PRAGMA busy_timeout")).rows[0]![0]), 5000);
      });
    } finally {
      store.close();
    }
  });
});

test("reopening an up-to-date database changes nothing", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    (await open(path)).store.close();
    const rec = recorder();
    const store = await openStore(path, { log: rec.log, clock: () => new Date("2030-01-01T00:00:00Z") });
    try {
      assert.equal(rec.lines, []);
      const applied = await store.execute("SELECT applied_at FROM schema_migrations");
      assert.ok(applied.rows.every((r) => r.applied_at === FIXED.toISOString()));
      assert.is(await store.schemaVersion(), LATEST_VERSION);
    } finally {
      store.close();
    }
  });
});

test("a database at an older version is upgraded and keeps its data", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    const v1 = await open(path, MIGRATIONS.slice(0, 1));
    assert.is(await v1.store.schemaVersion(), 1);
    assert.not.ok((await tables(v1.store)).includes("incidents"));
    await v1.store.transaction((tx) => appendEvidence(tx, 1));
    v1.store.close();

    const { store, lines } = await open(path);
    try {
      assert.is(await store.schemaVersion(), LATEST_VERSION);
      assert.equal(await tables(store), TABLES);
      assert.equal(lines.map((l) => l.fields?.version), MIGRATIONS.slice(1).map((m) => m.version));
      const rows = await store.execute("SELECT seq, line FROM evidence");
      assert.equal(rows.rows.map((r) => [Number(r.seq), r.line]), [[1, '{"seq":1}']]);
    } finally {
      store.close();
    }
  });
});

test("a database from newer software is refused and left untouched", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    const { store } = await open(path);
    await store.execute({ sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', ?)", args: [LATEST_VERSION + 1, FIXED.toISOString()] });
    store.close();

    const e = await refusal(open(path));
    assert.is(e.code, "schema_too_new");
    assert.match(e.message, `is at schema version ${LATEST_VERSION + 1} but this software knows versions up to ${LATEST_VERSION}`);
    assert.match(e.message, path);
    // Older code opening it again still sees the future version: nothing was rolled back or rewritten.
    const again = await refusal(open(path, MIGRATIONS.slice(0, 1)));
    assert.match(again.message, `schema version ${LATEST_VERSION + 1}`);
  });
});

test("a database whose migration history differs from the code is refused", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    (await open(path)).store.close();
    const renamed = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, name: "something_else" } : m));
    const e = await refusal(open(path, renamed));
    assert.is(e.code, "schema_mismatch");
    assert.match(e.message, /migration 1 named "evidence_log", but this software's migration 1 is "something_else"/);
  });
});

test("a failing migration is rolled back whole and reported", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    const broken: Migration = { version: LATEST_VERSION + 1, name: "broken", sql: "CREATE TABLE half_done (x INTEGER) STRICT; CREATE TABLE oops (;" };
    const e = await refusal(open(path, [...MIGRATIONS, broken]));
    assert.is(e.code, "migration_failed");
    assert.match(e.message, `migration ${LATEST_VERSION + 1} (broken) failed`);
    const { store } = await open(path);
    try {
      assert.is(await store.schemaVersion(), LATEST_VERSION);
      assert.not.ok((await tables(store)).includes("half_done"));
    } finally {
      store.close();
    }
  });
});

test("migration lists must be numbered 1, 2, 3 without gaps", async () => {
  await withDir(async (dir) => {
    const gap = [MIGRATIONS[0]!, { ...MIGRATIONS[1]!, version: 3 }];
    try {
      await openStore(join(dir, "x.db"), { log: recorder().log, migrations: gap });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, TypeError);
      assert.match((e as Error).message, /current value at index 1 is 3/);
    }
  });
});

test("a database in a missing directory fails with open_failed naming the path", async () => {
  const e = await refusal(openStore("/nonexistent-osiris-dir/appliance.db", { log: recorder().log }));
  assert.is(e.code, "open_failed");
  assert.match(e.message, "/nonexistent-osiris-dir/appliance.db");
});

test("transaction commits the evidence row and its outbox row together, or neither", async () => {
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "appliance.db"));
    try {
      await store.transaction((tx) => appendEvidence(tx, 1));
      try {
        await store.transaction(async (tx) => {
          await appendEvidence(tx, 2);
          throw new Error("crash between append and commit");
        });
        assert.unreachable();
      } catch (e) {
        assert.is((e as Error).message, "crash between append and commit");
      }
      // A constraint failure in the second statement also undoes the first.
      try {
        await store.transaction(async (tx) => {
          await appendEvidence(tx, 2);
          await tx.execute({ sql: "INSERT INTO evidence (seq, line, hash, kind, created_at) VALUES (3, 'x', ?, 'bogus', 'now')", args: [HASH] });
        });
        assert.unreachable();
      } catch (e) {
        assert.match((e as Error).message, /CHECK constraint failed/);
      }
      const counts = await store.execute("SELECT (SELECT COUNT(*) FROM evidence) AS e, (SELECT COUNT(*) FROM outbox) AS o");
      assert.equal([Number(counts.rows[0]!.e), Number(counts.rows[0]!.o)], [1, 1]);
    } finally {
      store.close();
    }
  });
});

test("concurrent transactions on one store run one at a time: seq and outbox_seq stay gap-free", async () => {
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "appliance.db"));
    try {
      const N = 60;
      await Promise.all(
        Array.from({ length: N }, () =>
          store.transaction(async (tx) => {
            const next = Number((await tx.execute("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM evidence")).rows[0]!.n);
            await new Promise((r) => setTimeout(r, 0)); // yield mid-transaction, as real work does
            await appendEvidence(tx, next);
          }),
        ),
      );
      const rows = await store.execute("SELECT outbox_seq FROM outbox ORDER BY outbox_seq");
      assert.equal(rows.rows.map((r) => Number(r.outbox_seq)), Array.from({ length: N }, (_, i) => i + 1));
    } finally {
      store.close();
    }
  });
});

test("store.execute inside store.transaction is refused instead of deadlocking", async () => {
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "appliance.db"));
    try {
      try {
        await store.transaction(async () => {
          await store.execute("SELECT 1");
        });
        assert.unreachable();
      } catch (e) {
        assert.instance(e, TypeError);
        assert.match((e as Error).message, /use the transaction's tx\.execute\(\)/);
      }
      assert.is(Number((await store.execute("SELECT 1 AS one")).rows[0]!.one), 1);
    } finally {
      store.close();
    }
  });
});

test("a writer in another process and this one share the file through the busy timeout", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "appliance.db");
    const { store } = await open(path);
    const PER_WRITER = 40;
    const child = `
      import { openStore } from ${JSON.stringify(new URL("./store.ts", import.meta.url).pathname)};
      const store = await openStore(${JSON.stringify(path)}, { log: { info() {} } });
      process.stdout.write("ready\\n");
      for (let i = 0; i < ${PER_WRITER}; i++) {
        await store.transaction(async (tx) => {
          const n = Number((await tx.execute("SELECT COALESCE(MAX(outbox_seq), 0) + 1 AS n FROM outbox")).rows[0].n);
          await new Promise((r) => setTimeout(r, 1));
          await tx.execute({ sql: "INSERT INTO outbox (outbox_seq, type, body, created_at) VALUES (?, 'child', '{}', 'now')", args: [n] });
        });
        await new Promise((r) => setTimeout(r, 3));
      }
      store.close();`;
    try {
      const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<number | null>((r) => proc.on("exit", r));
      // Start writing only once the child is writing too, so the two really contend for the lock.
      await new Promise<void>((r) => proc.stdout.once("data", () => r()));
      for (let i = 0; i < PER_WRITER; i++) {
        await store.transaction(async (tx) => {
          const n = Number((await tx.execute("SELECT COALESCE(MAX(outbox_seq), 0) + 1 AS n FROM outbox")).rows[0]!.n);
          await new Promise((r) => setTimeout(r, 1));
          await tx.execute({ sql: "INSERT INTO outbox (outbox_seq, type, body, created_at) VALUES (?, 'parent', '{}', 'now')", args: [n] });
        });
      }
      assert.is(await exited, 0);
      const rows = await store.execute("SELECT outbox_seq, type FROM outbox ORDER BY outbox_seq");
      assert.equal(rows.rows.map((r) => Number(r.outbox_seq)), Array.from({ length: 2 * PER_WRITER }, (_, i) => i + 1));
      assert.is(rows.rows.filter((r) => r.type === "child").length, PER_WRITER);
    } finally {
      store.close();
    }
  });
});

/** Resident main-thread native heap ([heap] mapping, KB): where libSQL allocates its row cursors. */
function nativeHeapKb(): number {
  let mapping = "", kb = 0;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-/.test(line)) mapping = line.split(/\s+/)[5] ?? "";
    else if (line.startsWith("Rss:") && mapping === "[heap]") kb += Number(line.split(/\s+/)[1]);
  }
  return kb;
}

test("a long run of reads with no other I/O does not pile up native memory", async () => {
  // Each SELECT leaves a native row cursor that Node frees only on an event-loop turn; this loop has no
  // other I/O, so without the store's periodic turn it holds them all (~1 KB each, ~30 MB here).
  assert.ok(OPERATIONS_PER_TURN > 1 && OPERATIONS_PER_TURN <= 1000);
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "a.db"));
    try {
      await store.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES ('k', 'v', ?)", args: [FIXED.toISOString()] });
      const reads = async (n: number) => {
        let seen = 0;
        for (let i = 0; i < n; i++) seen += (await store.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: ["k"] })).rows.length;
        return seen;
      };
      await reads(3_000); // warm-up: statement cache, allocator
      const before = nativeHeapKb();
      assert.is(await reads(30_000), 30_000);
      const grownKb = nativeHeapKb() - before;
      assert.ok(grownKb < 6_000, `native heap grew by ${grownKb} KB over 30,000 reads`);
    } finally {
      store.close();
    }
  });
});

test("schema constraints: one incident per host and check, singleton rows, JSON columns", async () => {
  await withDir(async (dir) => {
    const { store } = await open(join(dir, "appliance.db"));
    try {
      const now = FIXED.toISOString();
      const upsert = {
        sql: `INSERT INTO incidents (host_id, check_id, status, opened_at, updated_at, attempts) VALUES ('fs01', 'linux.firewall', 'open', ?, ?, 1)
              ON CONFLICT (host_id, check_id) DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at`,
        args: [now, now],
      };
      await store.execute(upsert);
      await store.execute(upsert);
      const inc = await store.execute("SELECT COUNT(*) AS n, MAX(attempts) AS a FROM incidents");
      assert.equal([Number(inc.rows[0]!.n), Number(inc.rows[0]!.a)], [1, 2]);
      await store.execute({ sql: "INSERT INTO site_config (id, config, source, updated_at) VALUES (1, '{}', 'file', ?)", args: [now] });
      for (const bad of [
        { sql: "INSERT INTO site_config (id, config, source, updated_at) VALUES (2, '{}', 'file', ?)", args: [now] },
        { sql: "INSERT INTO kv (key, value, updated_at) VALUES ('k', 'v', ?), ('k', 'w', ?)", args: [now, now] },
        { sql: "INSERT INTO ruleset (id, version, envelope, hash, loaded_at) VALUES (1, 1, '{}', 'short', ?)", args: [now] },
        { sql: "UPDATE site_config SET config = 'not json' WHERE id = 1", args: [] },
        { sql: "INSERT INTO healing_attempts (host_id, check_id, runbook, tier, outcome, started_at) VALUES ('h', 'c', 'r', 'L9', 'success', ?)", args: [now] },
      ]) {
        try {
          await store.execute(bad);
          assert.unreachable(bad.sql);
        } catch (e) {
          assert.match((e as Error).message, /constraint failed/, bad.sql);
        }
      }
    } finally {
      store.close();
    }
  });
});

test.run();
