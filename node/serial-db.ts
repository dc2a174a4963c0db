/**
 * One libSQL client used strictly one operation at a time. The local driver is synchronous underneath: two
 * write transactions in one process block each other until SQLITE_BUSY (measured: the second waits out the
 * busy timeout and fails). So both the appliance store and the relay database queue every operation here.
 * A call made from inside a transaction body (which would wait on itself forever) is refused at once, and
 * the queue is bounded so an overload fails fast instead of growing without limit.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Client, InStatement, ResultSet, Transaction } from "@libsql/client";

export class SerialDb {
  readonly #client: Client;
  readonly #name: string;
  readonly #maxQueued: number;
  readonly #overloaded: (waiting: number) => Error;
  readonly #inside = new AsyncLocalStorage<true>();
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  /**
   * @param name how callers name it in errors ("store", "db")
   * @param maxQueued operations allowed to wait before new ones are refused with `overloaded(waiting)`
   */
  constructor(client: Client, opts: { name: string; maxQueued: number; overloaded: (waiting: number) => Error }) {
    this.#client = client;
    this.#name = opts.name;
    this.#maxQueued = opts.maxQueued;
    this.#overloaded = opts.overloaded;
  }

  execute(stmt: InStatement): Promise<ResultSet> {
    return this.queued("execute", () => this.#client.execute(stmt));
  }

  batch(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.queued("batch", () => this.#client.batch(stmts, "write"));
  }

  /** Runs `fn` in a write transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.queued("transaction", async () => {
      const tx = await this.#client.transaction("write");
      try {
        const result = await this.#inside.run(true, () => fn(tx));
        await tx.commit();
        return result;
      } catch (e) {
        // A failed rollback (connection already gone) must not hide the error that caused it.
        if (!tx.closed) await tx.rollback().catch(() => undefined);
        throw e;
      } finally {
        tx.close();
      }
    });
  }

  /** Queues `fn` behind every earlier operation. */
  queued<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#inside.getStore()) {
      return Promise.reject(new TypeError(`Cannot call ${this.#name}.${what}() inside ${this.#name}.transaction(): use the transaction's tx.execute() / tx.batch()`));
    }
    if (this.#waiting >= this.#maxQueued) return Promise.reject(this.#overloaded(this.#waiting));
    this.#waiting++;
    const run = this.#tail.then(fn, fn).finally(() => this.#waiting--);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.#client.close();
  }
}
