/**
 * The relay's database access: reads run at once, writes are group-committed.
 *
 * Every write (a `transaction` body, a `batch`, an `execute` that is not a read) is a unit in one queue. The
 * queue runs units one after the other inside a shared write transaction (`BEGIN IMMEDIATE`), each in its own
 * SAVEPOINT: a unit that throws is rolled back alone and rejects alone, the others go on. Units that arrive
 * while a group runs join the next one, so under load one commit (one fsync with `synchronous=FULL`) covers
 * many requests instead of one each; measured on this project's fleet benchmark, the fsync per request was
 * what capped the relay at a few hundred requests a second. A unit's promise resolves only after the COMMIT
 * that made it durable, so an acknowledgement sent from it is never ahead of the disk.
 *
 * Reads (`execute` of a SELECT, EXPLAIN or a bare PRAGMA) skip the queue: with WAL a reader on another
 * connection never waits for the writer and sees the last commit; over a libSQL server reads run in parallel.
 * A read therefore never sees a queued or running unit's writes before they commit.
 *
 * Only one group runs at a time in a process (the file driver is synchronous underneath: a second connection
 * waiting for the write lock would spin on the JS thread). Other processes are kept apart by SQLite's lock
 * and busy timeout, or by the libSQL server. A group stops taking new units after MAX_GROUP_UNITS or
 * MAX_GROUP_MS, which bounds how long it holds the write lock (sqld steals a lock held for 5 s).
 *
 * Another writer's lock (a second relay process, a backup tool) can make a group's BEGIN fail with SQLITE_BUSY:
 * a libSQL server answers so within a fraction of a second, and a file's busy timeout may be shorter than the
 * lock is held. Nothing of the group has run then, so it is started again after a short pause, for up to
 * `lockWaitMs` in all; only then do the waiting writes fail, with `locked(cause)` (the relay answers 503, and
 * the appliance pushes again later) rather than as an internal error.
 *
 * A call made from inside a transaction body (it would wait for the group it is part of) is refused at once,
 * and the queue is bounded: beyond `maxQueued` waiting units new writes fail fast instead of growing memory.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Client, InStatement, ResultSet, Transaction } from "@libsql/client";

/** Units committed together at most: bounds one group's work and the wait of the last unit in it. */
export const MAX_GROUP_UNITS = 256;
/** A group takes no new unit after this long (ms): bounds how long it holds the write lock. */
export const MAX_GROUP_MS = 50;

/** The statements a transaction body may run (`executeMultiple` is for migrations). */
export type GroupTx = Pick<Transaction, "execute" | "batch" | "executeMultiple">;

/**
 * A queued write: a transaction body (`run`), or plain statements, which go to the server together with their
 * SAVEPOINT and RELEASE in one batch (one round trip to a libSQL server instead of three).
 */
interface Unit {
  run?: (tx: GroupTx) => Promise<unknown>;
  stmts?: InStatement[];
  /** For `execute`: resolve with the one statement's result rather than the list. */
  single?: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** How long writes wait in all for another writer's lock (ms) unless told otherwise. */
const LOCK_WAIT_MS = 5000;
/** The pause before the first new try after SQLITE_BUSY (ms); it doubles up to LOCK_RETRY_MAX_MS. */
const LOCK_RETRY_FIRST_MS = 10;
const LOCK_RETRY_MAX_MS = 250;

/** Whether `e` says another connection holds the write lock (SQLITE_BUSY from a file or a libSQL server). */
function isLockBusy(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return (typeof code === "string" && code.startsWith("SQLITE_BUSY")) || /\bSQLITE_BUSY\b|database is locked/.test(e.message);
}

/** Runs `fn` after pending I/O callbacks (setImmediate where the runtime has it). */
const defer: (fn: () => void) => void = typeof globalThis.setImmediate === "function" ? (fn) => void globalThis.setImmediate(fn) : (fn) => void setTimeout(fn, 0);

const READ = /^\s*(?:SELECT|EXPLAIN)\b/i;
const BARE_PRAGMA = /^\s*PRAGMA\s+[\w.]+\s*;?\s*$/i;

/** Whether a statement only reads (so it may skip the write queue). Anything unsure is treated as a write. */
export function isReadStatement(stmt: InStatement): boolean {
  const sql = typeof stmt === "string" ? stmt : stmt.sql;
  return (READ.test(sql) && !/\bRETURNING\b/i.test(sql)) || BARE_PRAGMA.test(sql);
}

export interface GroupCommitOptions {
  /** How callers name it in errors ("db"). */
  name: string;
  /** Units allowed to wait before new writes are refused with `overloaded(waiting)`. */
  maxQueued: number;
  overloaded: (waiting: number) => Error;
  /** What waiting writes fail with once another writer's lock outlasted `lockWaitMs` (default: the driver's error). */
  locked?: (cause: unknown) => Error;
  /** How long writes wait in all for another writer's lock (default LOCK_WAIT_MS). */
  lockWaitMs?: number;
  /** Clock for MAX_GROUP_MS and lockWaitMs (monotonic is best; tests may pass their own). */
  now?: () => number;
  maxGroupUnits?: number;
  maxGroupMs?: number;
}

export class GroupCommitDb {
  readonly #client: Client;
  readonly #opts: Required<GroupCommitOptions>;
  readonly #inside = new AsyncLocalStorage<true>();
  readonly #queue: Unit[] = [];
  #running = false;
  #groups = 0;
  #units = 0;

  constructor(client: Client, opts: GroupCommitOptions) {
    this.#client = client;
    this.#opts = { maxGroupUnits: MAX_GROUP_UNITS, maxGroupMs: MAX_GROUP_MS, lockWaitMs: LOCK_WAIT_MS, locked: (cause) => (cause instanceof Error ? cause : new Error(String(cause))), now: () => performance.now(), ...opts };
    if (!Number.isSafeInteger(this.#opts.maxGroupUnits) || this.#opts.maxGroupUnits < 1) {
      throw new RangeError(`Cannot group commits: maxGroupUnits must be a positive integer, current value is ${opts.maxGroupUnits}`);
    }
  }

  /** Groups committed and units run so far (for metrics and tests). */
  get stats(): { groups: number; units: number; queued: number } {
    return { groups: this.#groups, units: this.#units, queued: this.#queue.length };
  }

  execute(stmt: InStatement): Promise<ResultSet> {
    if (isReadStatement(stmt)) {
      const refused = this.#refuseInside("execute");
      return refused ?? this.#client.execute(stmt);
    }
    return this.#enqueue("execute", { stmts: [stmt], single: true });
  }

  /** Runs statements atomically (as one unit of a group). */
  batch(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.#enqueue("batch", { stmts });
  }

  /** Runs `fn` as one unit: its writes commit with its group if it resolves, and are rolled back if it throws. */
  transaction<T>(fn: (tx: GroupTx) => Promise<T>): Promise<T> {
    return this.#enqueue("transaction", { run: (tx) => this.#inside.run(true, () => fn(tx)) });
  }

  close(): void {
    this.#client.close();
  }

  #refuseInside(what: string): Promise<never> | null {
    if (!this.#inside.getStore()) return null;
    return Promise.reject(new TypeError(`Cannot call ${this.#opts.name}.${what}() inside ${this.#opts.name}.transaction(): use the transaction's tx.execute() / tx.batch()`));
  }

  #enqueue<T>(what: string, work: Pick<Unit, "run" | "stmts" | "single">): Promise<T> {
    const refused = this.#refuseInside(what);
    if (refused) return refused;
    if (this.#queue.length >= this.#opts.maxQueued) return Promise.reject(this.#opts.overloaded(this.#queue.length));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ ...work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#running) {
        // Start on the next turn of the event loop, not now: the file driver runs a whole group synchronously
        // (fsync included), so starting at once would commit each write alone. One turn lets every request
        // whose I/O is ready queue its write first, and they share the commit.
        this.#running = true;
        defer(() => void this.#pump());
      }
    });
  }

  async #pump(): Promise<void> {
    try {
      let lockedSince: number | null = null;
      let pause = LOCK_RETRY_FIRST_MS;
      while (this.#queue.length > 0) {
        const tried = this.#opts.now();
        const busy = await this.#group();
        if (busy === undefined) {
          lockedSince = null;
          pause = LOCK_RETRY_FIRST_MS;
        } else {
          // Counted from the first try's start: a file's BEGIN has already waited out its busy timeout.
          lockedSince ??= tried;
          if (this.#opts.now() - lockedSince >= this.#opts.lockWaitMs) {
            // Everyone waiting would meet the same lock: they all fail now, and later writes try afresh.
            const error = this.#opts.locked(busy.cause);
            for (const u of this.#queue.splice(0)) u.reject(error);
            lockedSince = null;
          } else {
            await new Promise<void>((r) => setTimeout(r, pause));
            pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS);
          }
          continue;
        }
        // Let requests that arrived during the group queue up before the next one starts.
        if (this.#queue.length > 0) await new Promise<void>((r) => defer(r));
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * One group: BEGIN IMMEDIATE, units in savepoints while they keep coming (within the bounds), COMMIT.
   * Returns `{ cause }` when the BEGIN met another writer's lock: nothing ran, every unit is still queued.
   */
  async #group(): Promise<{ cause: unknown } | undefined> {
    let tx: Transaction;
    try {
      tx = await this.#client.transaction("write");
    } catch (e) {
      if (isLockBusy(e)) return { cause: e };
      // The server is gone (or the database unusable): everyone waiting would meet the same, so they all
      // fail now rather than each trying again.
      for (const u of this.#queue.splice(0)) u.reject(e);
      return undefined;
    }
    const started = this.#opts.now();
    const done: { unit: Unit; value: unknown }[] = [];
    let current: Unit | null = null; // taken from the queue, not yet settled
    // Whether a statement of this group has run. A libSQL server's transaction sends its BEGIN with the first
    // statement, so SQLITE_BUSY before then means the BEGIN met another writer's lock and nothing ran.
    let begun = false;
    try {
      for (let n = 0; this.#queue.length > 0 && n < this.#opts.maxGroupUnits && (n === 0 || this.#opts.now() - started < this.#opts.maxGroupMs); n++) {
        const unit = this.#queue.shift()!;
        current = unit;
        let value: unknown;
        try {
          if (unit.stmts) {
            const rs = await tx.batch(["SAVEPOINT unit", ...unit.stmts, "RELEASE unit"]);
            begun = true;
            value = unit.single ? rs[1] : rs.slice(1, -1);
          } else {
            await tx.execute("SAVEPOINT unit");
            begun = true;
            value = await unit.run!(tx);
            await tx.execute("RELEASE unit");
          }
        } catch (e) {
          if (!begun && isLockBusy(e)) {
            this.#queue.unshift(unit);
            current = null;
            if (!tx.closed) await tx.rollback().catch(() => undefined);
            return { cause: e };
          }
          // Undo this unit only. If that fails too, the transaction itself is gone: the group fails below
          // (this unit with its own error).
          current = null;
          try {
            await tx.execute("ROLLBACK TO unit");
            await tx.execute("RELEASE unit");
          } finally {
            unit.reject(e);
          }
          continue;
        }
        done.push({ unit, value });
        current = null;
      }
      await tx.commit();
    } catch (e) {
      // Nothing of this group is durable: every unit in it fails with the reason.
      if (!tx.closed) await tx.rollback().catch(() => undefined);
      current?.reject(e);
      for (const d of done) d.unit.reject(e);
      return undefined;
    } finally {
      tx.close();
    }
    this.#groups++;
    this.#units += done.length;
    for (const d of done) d.unit.resolve(d.value);
    return undefined;
  }
}
