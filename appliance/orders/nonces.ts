/**
 * The record of order nonces used, which makes every order run at most once (table `order_nonces`).
 *
 * Retention deletes a nonce once its order expired more than NONCE_GRACE_MS ago (`pruneNonces`); an expired
 * order is refused anyway, so in the normal case nothing depends on the deleted rows. But a clock set back past
 * that grace would make an old order look valid again, and its nonce would no longer be on record. So each
 * pruning step also raises a watermark (`kv` key NONCES_PRUNED_THROUGH_KEY): the latest `expires_at` it
 * deleted. An order that expires at or before the watermark might have been seen and forgotten, whatever the
 * clock now says, and is refused (`nonceState`). An order expiring after it has its nonce on record if it was
 * ever accepted: deletion never reaches past the watermark.
 */
import { ISO_TIME_PATTERN } from "../../protocol/ids.ts";
import type { Tx } from "../store/index.ts";

/** `kv` key of the latest `expires_at` whose nonces may have been deleted (a JSON string, wire time). */
export const NONCES_PRUNED_THROUGH_KEY = "order_nonces.pruned_through";

/** Why an order's nonce cannot be used: it is on record, or it may have been deleted from the record. */
export type NonceRefusal = "replayed" | "nonce_record_pruned";

/** Whether an order with this nonce and expiry may run: null when it may, otherwise why not. */
export async function nonceState(tx: Tx, nonce: string, expiresAt: string): Promise<NonceRefusal | null> {
  const seen = await tx.execute({ sql: "SELECT 1 FROM order_nonces WHERE nonce = ?", args: [nonce] });
  if (seen.rows.length > 0) return "replayed";
  const through = await prunedThrough(tx);
  // Wire times have one fixed-width format, so text order is time order.
  return through !== null && expiresAt <= through ? "nonce_record_pruned" : null;
}

/** Records a nonce as used (in the transaction that accepts or refuses its order). */
export async function recordNonce(tx: Tx, r: { nonce: string; order_id: string; seen_at: string; expires_at: string }): Promise<void> {
  await tx.execute({ sql: "INSERT INTO order_nonces (nonce, order_id, seen_at, expires_at) VALUES (?, ?, ?, ?)", args: [r.nonce, r.order_id, r.seen_at, r.expires_at] });
}

/**
 * Deletes up to `limit` nonces whose order expired before `cutoff` (oldest first) and raises the watermark to
 * the latest expiry deleted, in the caller's transaction. Returns how many it deleted.
 */
export async function pruneNonces(tx: Tx, cutoff: string, limit: number, now: string): Promise<number> {
  const oldest = "SELECT nonce, expires_at FROM order_nonces WHERE expires_at < ? ORDER BY expires_at LIMIT ?";
  const rs = await tx.execute({ sql: `SELECT MAX(expires_at) AS latest FROM (${oldest})`, args: [cutoff, limit] });
  const latest = rs.rows[0]?.latest;
  if (latest === null || latest === undefined) return 0;
  const deleted = await tx.execute({ sql: `DELETE FROM order_nonces WHERE nonce IN (SELECT nonce FROM (${oldest}))`, args: [cutoff, limit] });
  const through = await prunedThrough(tx);
  if (through === null || String(latest) > through) {
    await tx.execute({
      sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      args: [NONCES_PRUNED_THROUGH_KEY, JSON.stringify(String(latest)), now],
    });
  }
  return deleted.rowsAffected;
}

/**
 * The watermark, or null when no nonce was ever deleted. An unreadable value counts as reaching the time it was
 * written (later than anything it could have held).
 */
async function prunedThrough(tx: Tx): Promise<string | null> {
  const rs = await tx.execute({ sql: "SELECT value, updated_at FROM kv WHERE key = ?", args: [NONCES_PRUNED_THROUGH_KEY] });
  const row = rs.rows[0];
  if (!row) return null;
  try {
    const v: unknown = JSON.parse(String(row.value));
    if (typeof v === "string" && ISO_TIME_PATTERN.test(v)) return v;
  } catch {
    // fall through: a damaged watermark must not open the replay window it guards
  }
  return String(row.updated_at);
}
