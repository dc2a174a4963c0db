/**
 * Applies migrations in order, each in its own write transaction, recording it in `schema_migrations`
 * (version, name, applied_at). Refuses a database written by newer code or with another migration history,
 * rather than guess: a relay must never run against a schema it does not understand.
 */
import { isoTime } from "../../protocol/ids.ts";
import { RelayError } from "../errors.ts";
import type { RelayLog } from "../log.ts";
import type { RelayDb } from "./client.ts";
import type { Migration } from "./migrations.ts";

export async function migrate(db: RelayDb, migrations: readonly Migration[], clock: { now(): number }, log: RelayLog): Promise<void> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new TypeError(`Cannot migrate as migration versions must run 1, 2, 3, … without gaps: current value at index ${i} is ${m.version}`);
  });
  await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT");
  const rs = await db.execute("SELECT version, name FROM schema_migrations ORDER BY version");
  for (const row of rs.rows) {
    const version = Number(row["version"]);
    const known = migrations[version - 1];
    if (!known) {
      throw new RelayError("db_schema", `Database ${db.url} is at schema version ${Number(rs.rows.at(-1)?.["version"])}, but this relay knows versions up to ${migrations.length}; upgrade the relay`);
    }
    if (known.name !== String(row["name"])) {
      throw new RelayError("db_schema", `Database ${db.url} has migration ${version} named ${JSON.stringify(row["name"])}, but this relay's migration ${version} is ${JSON.stringify(known.name)}`);
    }
  }
  for (const m of migrations) {
    // Re-check inside the write transaction: another relay process may have migrated since we looked.
    const applied = await db.transaction(async (tx) => {
      const done = await tx.execute({ sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [m.version] });
      if (done.rows.length > 0) return false;
      try {
        await tx.executeMultiple(m.sql);
      } catch (e) {
        throw new RelayError("db_schema", `Migration ${m.version} (${m.name}) failed on ${db.url}: ${(e as Error).message}`);
      }
      await tx.execute({ sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", args: [m.version, m.name, isoTime(clock.now())] });
      return true;
    });
    if (applied) log.info("relay_db_migrated", { version: m.version, name: m.name });
  }
}
