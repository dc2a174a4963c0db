/**
 * The appliance's one database: a plain local libSQL file (never an embedded replica — libSQL's own sync
 * cannot boot or write offline; replication is our outbox protocol, see anchors-sync-style.md §1).
 *
 * `openStore` sets WAL (persistent, readers never block the writer) and `synchronous=FULL` (a committed
 * evidence append survives power loss), gives every pooled connection a busy timeout, and brings the schema
 * up to date. `Store.transaction` is a libSQL write transaction (`BEGIN IMMEDIATE`): the evidence append and
 * its outbox row commit together or not at all. Open one Store per database file per process (see
 * LibsqlStore for why); other processes are kept apart by SQLite's locks and the busy timeout.
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import "../../node/libsql-statement-cache.ts";
import { SerialDb } from "../../node/serial-db.ts";
import { createClient, type Client, type InStatement, type ResultSet, type Transaction } from "@libsql/client";
import { StoreError } from "./errors.ts";
import { MIGRATIONS, type Migration } from "./migrations.ts";

/** How long a statement waits for another connection's write lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 5000;
/** Pooled connections: readers (status page, sync) proceed while one write transaction holds its own. */
export const MAX_CONNECTIONS = 4;
/** Operations waiting for the store: more means callers outrun the disk; fail loudly rather than grow memory. */
export const MAX_QUEUED_OPERATIONS = 10_000;
/**
 * Store operations between two forced event-loop turns (see LibsqlStore: dead native row cursors are freed
 * only on a turn). Small enough that a tight loop of reads keeps its backlog in the kilobytes; a turn costs
 * microseconds, so even a 10,000-row evidence export pays well under a millisecond for them.
 */
export const OPERATIONS_PER_TURN = 64;
/** SQLite's value for synchronous=FULL. */
const SYNCHRONOUS_FULL = 2;

/** The structured logger the store writes to (JSON lines on stdout in the daemon). */
export interface StoreLog {
  info(event: string, fields?: Record<string, unknown>): void;
}

export interface OpenStoreOptions {
  log: StoreLog;
  /** Defaults to `() => new Date()`; used for `schema_migrations.applied_at`. */
  clock?: () => Date;
  /** Migrations to apply; defaults to MIGRATIONS. Tests pass a prefix to build an older database. */
  migrations?: readonly Migration[];
  busyTimeoutMs?: number;
}

/** The statements a transaction body may run. */
export type Tx = Pick<Transaction, "execute" | "batch">;

export interface Store {
  /** Absolute path of the database file. */
  readonly path: string;
  /** Runs one statement on a pooled connection (autocommit). */
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Runs statements atomically in one write transaction. */
  batch(stmts: InStatement[]): Promise<ResultSet[]>;
  /**
   * Runs `fn` in one write transaction: commits when it resolves, rolls back when it throws (and rethrows).
   * Waits up to the busy timeout for another writer.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** The highest applied migration version. */
  schemaVersion(): Promise<number>;
  close(): void;
}

/**
 * Opens (creating if needed) the database at `path` and migrates it. The directory must exist. Throws
 * StoreError: `open_failed`, `pragma_failed`, `schema_too_new` (written by newer code), `schema_mismatch`
 * (applied migration names differ from this code's), `migration_failed`.
 */
export async function openStore(path: string, options: OpenStoreOptions): Promise<Store> {
  const file = resolve(path);
  const migrations = options.migrations ?? MIGRATIONS;
  checkMigrationList(migrations);
  const clock = options.clock ?? (() => new Date());
  let client: Client;
  try {
    client = createClient({ url: pathToFileURL(file).href, timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS, concurrency: MAX_CONNECTIONS });
  } catch (e) {
    throw new StoreError("open_failed", `cannot open database ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await setPragmas(client, file);
    await migrate(client, file, migrations, clock, options.log);
  } catch (e) {
    client.close();
    throw e;
  }
  return new LibsqlStore(client, file);
}

/**
 * Every operation goes through one queue per store. The libSQL driver is synchronous underneath: a second
 * connection's `BEGIN IMMEDIATE` (or autocommit write) that meets a held write lock spins in SQLite's busy
 * handler *on the JS thread*, so the transaction holding the lock can never resume to commit — the process
 * stalls for the whole busy timeout and then fails with SQLITE_BUSY. Queuing in-process and leaving the busy
 * timeout for other processes avoids that. Reads are queued too: they take microseconds, and a statement's
 * text is no reliable guide to whether it writes.
 *
 * Every OPERATIONS_PER_TURN operations the queue also waits for one turn of the event loop. libSQL's native
 * row cursor (~1 KB per statement that returns rows) is released by a finaliser that Node runs only on an
 * event-loop turn after the garbage collector found the cursor's JS wrapper dead; the driver, the lab
 * collector and our code are otherwise promise-only, so a caller looping over the store without other I/O
 * (the benchmark's back-to-back cycles, a long export) would hold every cursor until it stopped: measured
 * ~50 KB per lab cycle, growing linearly. With the turn, native memory stays flat (store.test.ts).
 */
class LibsqlStore implements Store {
  readonly #db: SerialDb;
  readonly #client: Client;
  #sinceTurn = 0;

  constructor(
    client: Client,
    readonly path: string,
  ) {
    this.#client = client;
    this.#db = new SerialDb(client, {
      name: "store",
      maxQueued: MAX_QUEUED_OPERATIONS,
      overloaded: (waiting) => new StoreError("queue_full", `store ${path} has ${waiting} operations waiting; refusing more until they drain`),
    });
  }

  execute(stmt: InStatement): Promise<ResultSet> {
    this.#turnNow();
    return this.#db.execute(stmt);
  }

  batch(stmts: InStatement[]): Promise<ResultSet[]> {
    this.#turnNow();
    return this.#db.batch(stmts);
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.#turnNow();
    return this.#db.transaction(fn);
  }

  schemaVersion(): Promise<number> {
    return this.#db.queued("schemaVersion", () => currentVersion(this.#client));
  }

  /**
   * Every OPERATIONS_PER_TURN operations, queues a wait for the next event-loop turn ahead of the operation
   * being submitted, so operations keep their order. A refusal (queue full, or a call from inside a
   * transaction body) is the operation's own to report: the operation meets the same refusal.
   */
  #turnNow(): void {
    if (++this.#sinceTurn < OPERATIONS_PER_TURN) return;
    this.#sinceTurn = 0;
    this.#db.queued("turn", nextTurn).catch(() => undefined);
  }

  close(): void {
    this.#db.close();
  }
}

/** Resolves on the event loop's next check phase, after the finalisers Node queued there. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A raw write transaction on the client, before the store's queue exists (migrations need executeMultiple). */
async function inTransaction<T>(client: Client, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const tx = await client.transaction("write");
  try {
    const result = await fn(tx);
    await tx.commit();
    return result;
  } catch (e) {
    if (!tx.closed) await tx.rollback().catch(() => undefined);
    throw e;
  } finally {
    tx.close();
  }
}

async function setPragmas(client: Client, file: string): Promise<void> {
  const mode = String((await client.execute("PRAGMA journal_mode = WAL")).rows[0]?.[0]).toLowerCase();
  if (mode !== "wal") throw new StoreError("pragma_failed", `database ${file} did not switch to WAL journal mode: saw journal_mode=${mode}`);
  // synchronous is per connection. SQLite's default in this libSQL build is FULL on every connection (the
  // store test checks it on a transaction's connection too); set it explicitly here all the same.
  await client.execute("PRAGMA synchronous = FULL");
  const sync = Number((await client.execute("PRAGMA synchronous")).rows[0]?.[0]);
  if (sync !== SYNCHRONOUS_FULL) throw new StoreError("pragma_failed", `database ${file} did not accept synchronous=FULL: saw synchronous=${sync}`);
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new TypeError(`Cannot migrate as migration versions must run 1, 2, 3, … without gaps: current value at index ${i} is ${m.version}`);
    }
  });
}

async function currentVersion(client: Client): Promise<number> {
  const rs = await client.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations");
  return Number(rs.rows[0]?.v ?? 0);
}

async function migrate(client: Client, file: string, migrations: readonly Migration[], clock: () => Date, log: StoreLog): Promise<void> {
  await client.execute(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
  );
  const latest = migrations.length;
  await checkApplied(client, file, migrations);
  for (const migration of migrations) {
    // Re-read inside the write transaction: another process may have migrated since we looked.
    const applied = await inTransaction(client, async (tx) => {
      const rs = await tx.execute({ sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [migration.version] });
      if (rs.rows.length > 0) return false;
      try {
        await tx.executeMultiple(migration.sql);
      } catch (e) {
        throw new StoreError("migration_failed", `migration ${migration.version} (${migration.name}) failed on ${file}: ${(e as Error).message}`, { cause: e });
      }
      await tx.execute({
        sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        args: [migration.version, migration.name, clock().toISOString()],
      });
      return true;
    });
    if (applied) log.info("store_migration_applied", { path: file, version: migration.version, name: migration.name, latest });
  }
}

/** Refuses a database written by newer code, or one whose history differs from ours. */
async function checkApplied(client: Client, file: string, migrations: readonly Migration[]): Promise<void> {
  const rs = await client.execute("SELECT version, name FROM schema_migrations ORDER BY version");
  for (const row of rs.rows) {
    const version = Number(row.version);
    const known = migrations[version - 1];
    if (known === undefined) {
      throw new StoreError(
        "schema_too_new",
        `database ${file} is at schema version ${Number(rs.rows.at(-1)?.version)} but this software knows versions up to ${migrations.length}; ` +
          "refusing to open it (upgrade the appliance software, or restore a backup made by this version)",
      );
    }
    if (known.name !== String(row.name)) {
      throw new StoreError("schema_mismatch", `database ${file} has migration ${version} named ${JSON.stringify(row.name)}, but this software's migration ${version} is ${JSON.stringify(known.name)}`);
    }
  }
}
