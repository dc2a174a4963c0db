/**
 * Request nonces: each (appliance, nonce) is accepted once. A nonce only needs remembering while a request
 * carrying it could still pass the timestamp check, so rows older than NONCE_RETENTION_MS are pruned.
 */
import { isoTime } from "../../protocol/ids.ts";
import type { RelayDb } from "../db/index.ts";
import { REQUEST_CLOCK_SKEW_MS } from "./request-message.ts";

/**
 * How long a seen nonce is kept: a timestamp up to the skew ahead of our clock stays acceptable until the
 * skew after it, so twice the skew (plus a minute for slow requests) covers every replay that could pass.
 */
export const NONCE_RETENTION_MS = 2 * REQUEST_CLOCK_SKEW_MS + 60_000;
/** Prune at most this often per relay process (a DELETE per request would double the writes). */
export const NONCE_PRUNE_INTERVAL_MS = 60_000;

/** Records a nonce; false when this appliance already used it (a replay). */
export async function recordNonce(db: RelayDb, applianceId: string, nonce: string, now: number): Promise<boolean> {
  const rs = await db.execute({
    sql: "INSERT INTO request_nonces (appliance_id, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT (appliance_id, nonce) DO NOTHING",
    args: [applianceId, nonce, isoTime(now)],
  });
  return rs.rowsAffected === 1;
}

/** Deletes nonces too old to matter; returns how many. */
export async function pruneNonces(db: RelayDb, now: number): Promise<number> {
  const rs = await db.execute({ sql: "DELETE FROM request_nonces WHERE seen_at < ?", args: [isoTime(now - NONCE_RETENTION_MS)] });
  return rs.rowsAffected;
}
