/**
 * Caches libSQL prepared statements per connection. `@libsql/client` prepares afresh on every `execute`,
 * `batch` and transaction statement, and each `Database.prepare()` in the Node driver (`libsql` 0.5, under
 * `@libsql/client` 0.18) allocates a native statement of ~4 KB that is released only by a finaliser: after
 * the garbage collector found its JS wrapper dead, on the event loop's next turn (upstream
 * tursodatabase/libsql-js#153 reported it as a leak). Preparing once per distinct SQL text per connection
 * takes that churn and the re-parsing away; a tight loop of 10,000 executes that never yields otherwise
 * holds ~40 MB (the test).
 *
 * `@libsql/client` resets the statement's modes (`safeIntegers`, `raw`) before each use and runs it to
 * completion (`all`/`run`), so reuse is safe. The cache is bounded: a statement pushed out by
 * MAX_CACHED_STATEMENTS newer ones is dropped (and freed by its finaliser), which only SQL-text churn would
 * cause; our SQL is fixed text with bound arguments.
 *
 * Installed once per process by importing this module (the appliance store and the relay database do).
 *
 * Not changed here: every statement that returns rows also creates a native row cursor (~1 KB), freed the
 * same way. It is not a leak (measured: 400,000 SELECTs with an event-loop turn every 100 keep native memory
 * flat), but code that runs many queries without ever yielding to the event loop holds all of them until it
 * does; the appliance store therefore yields every OPERATIONS_PER_TURN operations (appliance/store/store.ts).
 */
import Database from "libsql";

/** Distinct SQL texts cached per connection; our schema and queries use well under a hundred. */
export const MAX_CACHED_STATEMENTS = 512;

type Prepare = (this: object, sql: string) => unknown;
const proto = (Database as unknown as { prototype: { prepare: Prepare & { osirisCached?: true } } }).prototype;

if (!proto.prepare.osirisCached) {
  const original = proto.prepare;
  const caches = new WeakMap<object, Map<string, unknown>>();
  const cached: Prepare & { osirisCached?: true } = function (this: object, sql: string) {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    const hit = cache.get(sql);
    if (hit !== undefined) {
      cache.delete(sql); // move to the newest position (Map keeps insertion order)
      cache.set(sql, hit);
      return hit;
    }
    const stmt = original.call(this, sql);
    cache.set(sql, stmt);
    if (cache.size > MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value!);
    return stmt;
  };
  cached.osirisCached = true;
  proto.prepare = cached;
}

/** True once the cache is installed (for tests and diagnostics). */
export function statementCacheInstalled(): boolean {
  return proto.prepare.osirisCached === true;
}
