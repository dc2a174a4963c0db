/** The evidence log's error type, and the mapping of database failures onto it. */
import { StoreError } from "../store/index.ts";

export type EvidenceErrorCode =
  /** The database's disk (or its quota) is full; nothing was written. Retry once space is freed. */
  | "disk_full"
  /** The database could not read or write its file (I/O error, read-only file system, locked too long). */
  | "store_failed"
  /** A draft or outbox entry is not valid; nothing was written. */
  | "invalid_draft"
  /** More drafts, or more bytes, than one append may carry. */
  | "batch_too_large"
  /** Another writer moved the chain head between signing and writing, again and again. */
  | "head_moved"
  /** Persisted chain state disagrees with the stored rows (e.g. a missing row inside the kept range). */
  | "corrupt_state"
  /** No checkpoint of that size was signed by this appliance. */
  | "unknown_checkpoint"
  /** A countersigned checkpoint whose body differs from ours, or that lacks our signature. */
  | "checkpoint_mismatch"
  /** No pinned relay key's cosignature verifies on a countersigned checkpoint. */
  | "bad_cosignature"
  /** The relay acknowledged a seq this appliance never wrote. */
  | "ack_beyond_head";

export class EvidenceError extends Error {
  override readonly name = "EvidenceError";
  constructor(
    readonly code: EvidenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** SQLite result codes (primary, the low byte of extended codes) we tell apart. */
const SQLITE_FULL = 13;
const SQLITE_IOERR = 10;
const SQLITE_BUSY = 5;
const SQLITE_READONLY = 8;
const SQLITE_CANTOPEN = 14;

function sqliteCode(e: unknown): { name: string; raw: number | undefined } | null {
  if (!(e instanceof Error)) return null;
  const { code, rawCode } = e as Error & { code?: unknown; rawCode?: unknown };
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return null;
  return { name: code, raw: typeof rawCode === "number" ? rawCode & 0xff : undefined };
}

/**
 * Maps a failure of a database operation to an EvidenceError naming `action`; errors that are not
 * database errors (programming errors, our own typed errors) are returned unchanged.
 */
export function storeFailure(e: unknown, action: string, path: string): unknown {
  if (e instanceof EvidenceError || e instanceof TypeError || e instanceof RangeError) return e;
  if (e instanceof StoreError) return new EvidenceError("store_failed", `cannot ${action}: ${e.message}`, { cause: e });
  const sql = sqliteCode(e);
  if (!sql) return e;
  const message = (e as Error).message;
  if (sql.raw === SQLITE_FULL || sql.name.startsWith("SQLITE_FULL") || /disk is full|database or disk is full/i.test(message)) {
    return new EvidenceError("disk_full", `cannot ${action}: the disk holding ${path} is full; nothing was written (free space and it resumes)`, { cause: e });
  }
  const kind =
    sql.raw === SQLITE_IOERR ? "an I/O error" : sql.raw === SQLITE_BUSY ? "the database stayed locked by another process" : sql.raw === SQLITE_READONLY ? "the database is read-only" : sql.raw === SQLITE_CANTOPEN ? "the database file cannot be opened" : sql.name;
  return new EvidenceError("store_failed", `cannot ${action} in ${path}: ${kind} (${message})`, { cause: e });
}
