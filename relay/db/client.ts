/**
 * The relay's database: a libSQL file by default (`file:` URL or a plain path), or a libSQL server (sqld /
 * Turso) by `http://`, `https://` or `libsql://` URL, through the same `@libsql/client` API and SQL.
 *
 * For a file, `openRelayDb` sets WAL (readers never block the writer) and `synchronous=FULL` (an
 * acknowledged push survives power loss) and gives every connection a busy timeout. Reads run at once; every
 * write goes through one in-process queue that group-commits (group-commit.ts): concurrent requests share one
 * write transaction and one fsync, each in its own savepoint, and each learns its outcome only after the
 * COMMIT. Other processes are kept apart by SQLite's locks and the busy timeout (or by the libSQL server).
 * `transaction` is a write transaction (`BEGIN IMMEDIATE`): ingest reads the chain head and writes in one of
 * them, so two relay processes can never append the same seq twice.
 *
 * The schema is brought up to date on open (migrations.ts). A database file and its `-wal`/`-shm` files are
 * readable by the relay's user only (0600), whatever the process umask: they hold password hashes, tokens and
 * sealed credentials.
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import "../../node/libsql-statement-cache.ts";
import { createClient, type Client, type InStatement, type ResultSet } from "@libsql/client";
import { RelayError } from "../errors.ts";
import type { RelayLog } from "../log.ts";
import { GroupCommitDb, type GroupTx } from "./group-commit.ts";
import { migrate } from "./migrate.ts";
import { MIGRATIONS, type Migration } from "./migrations.ts";

/** How long a statement waits for another process's write lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 5000;
/** Writes waiting in the queue: more means requests outrun the disk; refuse rather than grow memory. */
export const MAX_QUEUED_OPERATIONS = 10_000;
/**
 * Connections per client: a file DB holds one for the write group and reads on another (one at a time: the
 * driver is synchronous); over a libSQL server this is how many requests (reads) run at once.
 */
export const MAX_CONNECTIONS = 4;
/** Requests in flight to a libSQL server at once (reads run in parallel there; writes are one group at a time). */
export const MAX_REMOTE_CONCURRENCY = 16;
const SYNCHRONOUS_FULL = 2;

/** Permissions of the database file and its -wal/-shm companions. */
export const DB_FILE_MODE = 0o600;

/** The statements a transaction body may run (`executeMultiple` is for migrations). */
export type Tx = GroupTx;

export interface RelayDb {
  /** The URL the client was opened with (`file:` URL or server URL). */
  readonly url: string;
  /** Whether this is a local file (as opposed to a libSQL server). */
  readonly isFile: boolean;
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Runs statements atomically in one write transaction (possibly shared with other writes: group commit). */
  batch(stmts: InStatement[]): Promise<ResultSet[]>;
  /**
   * Runs `fn` in one write transaction (possibly shared with other writes, each in its own savepoint):
   * resolves after the commit that made it durable; rolls its writes back when it throws (and rethrows).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  schemaVersion(): Promise<number>;
  close(): void;
}

export interface OpenRelayDbOptions {
  log: RelayLog;
  clock: { now(): number };
  /** Auth token for a libSQL server (sqld with JWT auth); never used for files. */
  authToken?: string;
  migrations?: readonly Migration[];
  busyTimeoutMs?: number;
}

const REMOTE = /^(?:https?|libsql|wss?):\/\//i;

/** The client URL for a location: server URLs as they are, `file:` URLs as they are, paths as `file:` URLs. */
export function databaseUrl(location: string): string {
  if (typeof location !== "string" || location.trim() === "") throw new TypeError("Cannot open the relay database as its location is empty");
  if (REMOTE.test(location) || location.startsWith("file:")) return location;
  if (location === ":memory:") {
    // Each libSQL connection to :memory: is a different empty database, and transactions take a fresh one.
    throw new TypeError("Cannot open the relay database at ':memory:': use a file path (a temporary one in tests)");
  }
  return pathToFileURL(resolve(location)).href;
}

/**
 * Opens (creating a file if needed) and migrates the relay database. Throws RelayError `db_unavailable`
 * when it cannot be opened, or `db_schema` when the schema is newer than this code or has another history.
 */
export async function openRelayDb(location: string, options: OpenRelayDbOptions): Promise<RelayDb> {
  const url = databaseUrl(location);
  const isFile = url.startsWith("file:");
  const path = isFile ? filePath(url) : null;
  if (path) await restrictFile(path, url, true);
  let client: Client;
  try {
    client = createClient({
      url,
      ...(isFile ? { timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS } : options.authToken ? { authToken: options.authToken } : {}),
      concurrency: isFile ? MAX_CONNECTIONS : MAX_REMOTE_CONCURRENCY,
    });
  } catch (e) {
    throw new RelayError("db_unavailable", `Cannot open the relay database ${redact(url)}: ${(e as Error).message}`);
  }
  const db = new GroupedDb(client, url, isFile);
  try {
    if (isFile) await setFilePragmas(client, url);
    await migrate(db, options.migrations ?? MIGRATIONS, options.clock, options.log);
    // SQLite gives -wal/-shm the main file's mode, but ones left by an older relay may be wider.
    if (path) for (const suffix of ["-wal", "-shm"]) await restrictFile(path + suffix, url, false);
  } catch (e) {
    client.close();
    if (e instanceof RelayError) throw e;
    throw new RelayError("db_unavailable", `Cannot open the relay database ${redact(url)}: ${(e as Error).message}`);
  }
  return db;
}

/**
 * The file a database location names (a path or a `file:` URL), or null for a libSQL server URL. Throws
 * TypeError like `databaseUrl` for `:memory:`.
 */
export function databaseFile(location: string): string | null {
  const url = databaseUrl(location);
  return url.startsWith("file:") ? filePath(url) : null;
}

/** The file path of a `file:` URL (`file:///abs`, `file:rel`, with or without `?query`); null for in-memory. */
function filePath(url: string): string | null {
  const noQuery = url.replace(/[?#].*$/, "");
  if (noQuery.startsWith("file://")) return fileURLToPath(noQuery);
  const rest = decodeURIComponent(noQuery.slice("file:".length));
  return rest === "" || rest === ":memory:" ? null : resolve(rest);
}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = "SQLite format 3\0";

/**
 * Makes `path` mode 0600: creates it empty with that mode when `create` (an open with O_CREAT and 0600 is not
 * widened by any umask), and narrows an existing file. A missing file is left missing when not `create`. The
 * database file itself is narrowed only once it is known to be an SQLite database (or empty, i.e. new): a
 * mistyped `--db /etc/passwd` is refused and leaves that file exactly as it was.
 */
async function restrictFile(path: string, url: string, create: boolean): Promise<void> {
  const fail = (why: string) => new RelayError("db_unavailable", `Cannot open the relay database ${redact(url)}: ${why}`);
  let handle;
  try {
    handle = await open(path, create ? "a+" : "r", DB_FILE_MODE);
  } catch (e) {
    if (!create && (e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw fail(`cannot make ${path} readable by its owner only: ${(e as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail(`${path} is not a file`);
    if (create && info.size > 0) {
      const head = Buffer.alloc(SQLITE_HEADER.length);
      await handle.read(head, 0, head.length, 0);
      if (head.toString("latin1") !== SQLITE_HEADER) throw fail(`${path} is not an SQLite database (it was left unchanged)`);
    }
    await handle.chmod(DB_FILE_MODE);
  } catch (e) {
    if (e instanceof RelayError) throw e;
    throw fail(`cannot make ${path} readable by its owner only: ${(e as Error).message}`);
  } finally {
    await handle.close();
  }
}

/** A URL without credentials, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//***@").replace(/([?&]authToken=)[^&]*/i, "$1***");
}

async function setFilePragmas(client: Client, url: string): Promise<void> {
  const mode = String((await client.execute("PRAGMA journal_mode = WAL")).rows[0]?.[0]).toLowerCase();
  if (mode !== "wal") throw new RelayError("db_unavailable", `Database ${url} did not switch to WAL journal mode: saw journal_mode=${mode}`);
  await client.execute("PRAGMA synchronous = FULL");
  const sync = Number((await client.execute("PRAGMA synchronous")).rows[0]?.[0]);
  if (sync !== SYNCHRONOUS_FULL) throw new RelayError("db_unavailable", `Database ${url} did not accept synchronous=FULL: saw synchronous=${sync}`);
}

/** See the module comment: reads at once, writes group-committed (group-commit.ts). */
class GroupedDb implements RelayDb {
  readonly #db: GroupCommitDb;

  constructor(
    client: Client,
    readonly url: string,
    readonly isFile: boolean,
  ) {
    this.#db = new GroupCommitDb(client, {
      name: "db",
      maxQueued: MAX_QUEUED_OPERATIONS,
      overloaded: (waiting) => new RelayError("db_busy", `The relay database has ${waiting} writes waiting; refusing more until they drain`),
      lockWaitMs: BUSY_TIMEOUT_MS,
      locked: () => new RelayError("db_busy", `The relay database stayed locked by another writer for ${BUSY_TIMEOUT_MS / 1000} s; try again shortly`),
    });
  }

  execute(stmt: InStatement): Promise<ResultSet> {
    return this.#db.execute(stmt);
  }

  batch(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.#db.batch(stmts);
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#db.transaction(fn);
  }

  async schemaVersion(): Promise<number> {
    const rs = await this.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations");
    return Number(rs.rows[0]?.["v"] ?? 0);
  }

  close(): void {
    this.#db.close();
  }
}
