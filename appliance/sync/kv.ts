/**
 * The sync client's small persistent state in the store's `kv` table (never secrets): JSON values under the
 * keys below. Writes are upserts, so they can run inside a caller's transaction next to the data they cover.
 */
import { isoTime } from "../../protocol/ids.ts";
import type { Store, Tx } from "../store/index.ts";

export const SYNC_KEYS = {
  /** `relay_time` of the last pull response: orders issued since then are asked for. */
  pullSince: "sync.pull_since",
  /** Set once pushing stopped on an integrity failure (its alert bundle is written with it). */
  halt: "sync.halt",
  /** Set while a clock-offset episode lasts (its one alert bundle is written with it). */
  clockAlert: "sync.clock_alert",
  /** Consecutive failures and when the next attempt is due, so a restart does not hammer an unhappy relay. */
  backoff: "sync.backoff",
  /** The drop-ship registration id while waiting for an MSP to accept this appliance. */
  pendingId: "enroll.pending_id",
  /** SHA-256 of a rotated-in token between writing its file and recording it (crash recovery). */
  rotatingToken: "sync.rotating_token_sha256",
} as const;

/** What `SYNC_KEYS.backoff` holds while sync rounds fail. */
export interface BackoffState {
  failures: number;
  retry_at: string;
  /** The relay's error code of the last failure, if it sent one (`appliance_revoked`: this appliance is cut off). */
  relay_code?: string | null;
}

type Db = Pick<Store, "execute"> | Tx;

/** The parsed JSON value under `key`, or null when absent or unreadable. */
export async function readKv<T>(db: Db, key: string): Promise<T | null> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [key] });
  const row = rs.rows[0];
  if (!row) return null;
  try {
    return JSON.parse(String(row.value)) as T;
  } catch {
    return null;
  }
}

export async function writeKv(db: Db, key: string, value: unknown, now: number): Promise<void> {
  await db.execute({
    sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [key, JSON.stringify(value), isoTime(now)],
  });
}

export async function deleteKv(db: Db, key: string): Promise<void> {
  await db.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [key] });
}
