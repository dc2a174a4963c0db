/**
 * Typed reads of libSQL result rows. A column that is not what the schema promises is a bug or a damaged
 * database, never caller input, so these throw TypeError naming the column.
 */
import type { Row } from "@libsql/client";

export type { Row } from "@libsql/client";

/** A TEXT column that must not be NULL. */
export function str(row: Row, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw new TypeError(`Column ${column} should be TEXT: current value is ${v === null ? "NULL" : typeof v}`);
  return v;
}

/** A TEXT column that may be NULL. */
export function strOrNull(row: Row, column: string): string | null {
  const v = row[column];
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new TypeError(`Column ${column} should be TEXT or NULL: current value is ${typeof v}`);
  return v;
}

/** An INTEGER column that must not be NULL (returned as a JS number; our integers stay below 2^53). */
export function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new TypeError(`Column ${column} should be INTEGER: current value is ${v === null ? "NULL" : typeof v}`);
}
