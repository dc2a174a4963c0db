import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { count, enrolledAppliance, testRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { memoryLog } from "../log.ts";
import { databaseUrl, LATEST_VERSION, MIGRATIONS, openRelayDb } from "./index.ts";

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

test("openRelayDb() migrates a new file to the latest version and records each migration", async () => {
  const relay = await testRelay();
  try {
    assert.is(await relay.db.schemaVersion(), LATEST_VERSION);
    const rs = await relay.db.execute("SELECT version, name FROM schema_migrations ORDER BY version");
    assert.equal(
      rs.rows.map((r) => [Number(r["version"]), String(r["name"])]),
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
    const mode = await relay.db.execute("PRAGMA journal_mode");
    assert.is(String(mode.rows[0]?.[0]).toLowerCase(), "wal");
  } finally {
    await relay.close();
  }
});

test("the database file and its -wal/-shm files are 0600 under a 022 umask, and a wider existing file is narrowed", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-db-mode-"));
  const previous = process.umask(0o022);
  const env = { log: memoryLog().log, clock: { now: () => Date.now() } };
  const mode = async (p: string) => (await stat(p)).mode & 0o777;
  try {
    const path = join(dir, "relay.db");
    const db = await openRelayDb(path, env);
    try {
      await db.execute("CREATE TABLE t (x INTEGER)");
      await db.execute("INSERT INTO t VALUES (1)");
      for (const p of [path, `${path}-wal`, `${path}-shm`]) assert.is((await mode(p)).toString(8), "600", p);
    } finally {
      db.close();
    }
    const old = join(dir, "old.db");
    await writeFile(old, "", { mode: 0o644 });
    assert.is((await mode(old)).toString(8), "644");
    const reopened = await openRelayDb(`file:${old}`, env);
    reopened.close();
    assert.is((await mode(old)).toString(8), "600", "an existing 0644 file is narrowed to 0600");
  } finally {
    process.umask(previous);
    await rm(dir, { recursive: true, force: true });
  }
});

test("a file that is not an SQLite database is refused and left exactly as it was (mode and content)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-db-notdb-"));
  const env = { log: memoryLog().log, clock: { now: () => Date.now() } };
  try {
    const file = join(dir, "passwd");
    const text = "root:x:0:0:root:/root:/bin/sh\n";
    await writeFile(file, text, { mode: 0o644 });
    await rejects(openRelayDb(file, env), /passwd is not an SQLite database \(it was left unchanged\)/);
    assert.is(((await stat(file)).mode & 0o777).toString(8), "644", "its mode is unchanged");
    assert.is(await readFile(file, "utf8"), text, "its content is unchanged");
    const dirMode = (await stat(dir)).mode & 0o777;
    await rejects(openRelayDb(dir, env), /EISDIR|is not a file/);
    assert.is((await stat(dir)).mode & 0o777, dirMode, "a directory given as --db keeps its mode");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("reopening a migrated database applies nothing again", async () => {
  const relay = await testRelay();
  try {
    const { log, entries } = memoryLog();
    const again = await openRelayDb(join(relay.dir, "relay.db"), { log, clock: relay.clock });
    assert.is(await again.schemaVersion(), LATEST_VERSION);
    assert.is(entries.filter((e) => e.event === "relay_db_migrated").length, 0);
    again.close();
  } finally {
    await relay.close();
  }
});

test("a database written by a newer relay is refused with db_schema", async () => {
  const relay = await testRelay();
  try {
    await relay.db.execute({ sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 'x')", args: [LATEST_VERSION + 1] });
    const { log } = memoryLog();
    try {
      await openRelayDb(join(relay.dir, "relay.db"), { log, clock: relay.clock });
      assert.unreachable("a newer schema must be refused");
    } catch (e) {
      assert.instance(e, RelayError);
      assert.is((e as RelayError).code, "db_schema");
      assert.match((e as Error).message, /upgrade the relay/);
    }
  } finally {
    await relay.close();
  }
});

test("databaseUrl() keeps server URLs, turns paths into file URLs and refuses :memory:", () => {
  assert.is(databaseUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  assert.is(databaseUrl("libsql://db.example.com"), "libsql://db.example.com");
  assert.is(databaseUrl("file:/var/lib/osiris/relay.db"), "file:/var/lib/osiris/relay.db");
  assert.match(databaseUrl("/var/lib/osiris/relay db.db"), /^file:\/\/\/var\/lib\/osiris\/relay%20db\.db$/);
  assert.throws(() => databaseUrl(":memory:"), /use a file path/);
});

test("evidence rows are append-only: UPDATE and DELETE are refused by triggers", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const res = await a.push(a.entries(await a.makeBundles(2)));
    assert.is(res.status, 200);
    assert.is(await count(relay.db, "evidence"), 2);
    await rejects(relay.db.execute("UPDATE evidence SET line = 'x' WHERE seq = 1"), /append-only: UPDATE refused/);
    await rejects(relay.db.execute("UPDATE evidence SET received_at = 'x'"), /append-only: UPDATE refused/);
    await rejects(relay.db.execute("DELETE FROM evidence WHERE seq = 2"), /append-only: DELETE refused/);
    await rejects(relay.db.execute("DELETE FROM evidence"), /append-only: DELETE refused/);
    assert.is(await count(relay.db, "evidence"), 2);
    const line = String((await relay.db.execute("SELECT line FROM evidence WHERE seq = 1")).rows[0]?.["line"]);
    assert.is(line, a.chain[0]!.line);
  } finally {
    await relay.close();
  }
});

test("outbox receipts are append-only: UPDATE and DELETE are refused by triggers", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(1)))).status, 200);
    await rejects(relay.db.execute("UPDATE outbox_receipts SET body = '{}'"), /append-only: UPDATE refused/);
    await rejects(relay.db.execute("DELETE FROM outbox_receipts"), /append-only: DELETE refused/);
    assert.is(await count(relay.db, "outbox_receipts"), 1);
  } finally {
    await relay.close();
  }
});

test("a checkpoint's signed note cannot change or be deleted; only its countersigned copy may gain signatures", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const bundles = await a.makeBundles(3);
    assert.is((await a.push(a.entries(bundles), await a.checkpoint())).status, 200);
    await rejects(relay.db.execute("UPDATE checkpoints SET note = 'forged'"), /signed note cannot change/);
    await rejects(relay.db.execute("UPDATE checkpoints SET root = 'forged'"), /signed note cannot change/);
    await rejects(relay.db.execute("UPDATE checkpoints SET size = 2"), /signed note cannot change/);
    await rejects(relay.db.execute("DELETE FROM checkpoints"), /append-only: DELETE refused/);
    const updated = await relay.db.execute("UPDATE checkpoints SET countersigned_note = countersigned_note");
    assert.is(updated.rowsAffected, 1);
  } finally {
    await relay.close();
  }
});

test("rule sets and integrity incidents cannot be deleted", async () => {
  const relay = await testRelay();
  try {
    await relay.db.execute("INSERT INTO rulesets (version, envelope, payload_sha256, issued_at) VALUES (1, '{}', 'x', 'x')");
    await rejects(relay.db.execute("UPDATE rulesets SET envelope = '[]'"), /append-only: UPDATE refused/);
    await rejects(relay.db.execute("DELETE FROM rulesets"), /append-only: DELETE refused/);
    const a = await enrolledAppliance(relay);
    await relay.db.execute({
      sql: "INSERT INTO integrity_incidents (id, appliance_id, site_id, kind, code, message, first_seen, last_seen) VALUES ('inc_aaaaaaaa', ?, ?, 'fork', 'fork', 'm', 'x', 'x')",
      args: [a.id, a.siteId],
    });
    await rejects(relay.db.execute("DELETE FROM integrity_incidents"), /are kept: DELETE refused/);
  } finally {
    await relay.close();
  }
});

test.run();
