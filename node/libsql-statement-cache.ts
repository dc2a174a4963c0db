/**
 * Works around a native memory leak in libSQL's Node driver (`libsql` 0.5, under `@libsql/client` 0.18):
 * every `Database.prepare()` allocates a native statement that is never finalised, not even when its
 * JavaScript wrapper is garbage-collected (upstream tursodatabase/libsql-js#153; measured here: ~4 KB per
 * `client.execute()`, so a daemon running a few queries a second grows without bound). `@libsql/client`
 * prepares afresh on every `execute`, `batch` and transaction statement.
 *
 * The fix: cache prepared statements per connection, keyed by SQL text, so each distinct statement is
 * prepared once per connection. `@libsql/client` resets the statement's modes (`safeIntegers`, `raw`) before
 * each use and runs it to completion (`all`/`run`), so reuse is safe. The cache is bounded: a statement pushed
 * out by MAX_CACHED_STATEMENTS newer ones is dropped (and leaks, as before, but only under SQL-text churn,
 * which our code does not have: its SQL is fixed text with bound arguments).
 *
 * Installed once per process by importing this module (the appliance store and the relay database do).
 *
 * Not fixed here: each query that RETURNS rows also leaks its native row cursor (~0.85 KB per query, same
 * upstream issue; the driver has no way to release it from JavaScript). Our daemons' steady query rate keeps
 * that to a few MB a day; it is measured by scripts/bench/appliance.ts (RSS after 1,000 cycles).
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
