/**
 * Multi-row INSERT statements for ingest: one statement per chunk of rows instead of one per row (per-statement
 * overhead dominated storing a push of a few hundred bundles). Chunks have fixed sizes, so the number of
 * distinct SQL texts stays small (each is prepared once per connection and cached: see
 * node/libsql-statement-cache.ts, which would churn on a different text for every row count).
 */
import type { InStatement } from "@libsql/client";

export type Statement = Extract<InStatement, { sql: string }>;
type Value = string | number | null;

/** Rows per statement, largest first; any count is a sum of these (the last is 1). 64 × 7 columns = 448 parameters. */
export const INSERT_CHUNKS = [64, 16, 4, 1] as const;

/** INSERTs of `rows` into `table` (each row's values in `columns` order), in order, in as few statements as the chunk sizes allow. */
export function insertRows(table: string, columns: readonly string[], rows: readonly (readonly Value[])[]): Statement[] {
  const out: Statement[] = [];
  const head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  let i = 0;
  for (const chunk of INSERT_CHUNKS) {
    for (; rows.length - i >= chunk; i += chunk) {
      const args: Value[] = [];
      for (const row of rows.slice(i, i + chunk)) {
        if (row.length !== columns.length) throw new TypeError(`Cannot insert into ${table}: a row has ${row.length} values for ${columns.length} columns`);
        args.push(...row);
      }
      out.push({ sql: head + Array(chunk).fill(tuple).join(", "), args });
    }
  }
  return out;
}
