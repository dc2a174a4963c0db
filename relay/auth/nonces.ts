/**
 * Request nonces: each (appliance, nonce) is accepted once. A nonce only needs remembering while a request
 * carrying it could still pass the timestamp check, so rows older than NONCE_RETENTION_MS are pruned.
 */
import { toHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { RelayDb, Tx } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { REQUEST_CLOCK_SKEW_MS } from "./request-message.ts";

/**
 * How long a seen nonce is kept: a timestamp up to the skew ahead of our clock stays acceptable until the
 * skew after it, so twice the skew (plus a minute for slow requests) covers every replay that could pass.
 */
export const NONCE_RETENTION_MS = 2 * REQUEST_CLOCK_SKEW_MS + 60_000;
/** Prune at most this often per relay process (a DELETE per request would double the writes). */
export const NONCE_PRUNE_INTERVAL_MS = 60_000;

/** The stored row an appliance request was checked against: active, with this token, keys and site. */
const CURRENT = "id = ? AND state = 'active' AND token_sha256 = ? AND identity_public_key = ? AND evidence_public_key = ? AND evidence_key_id = ? AND site_id = ?";
const currentArgs = (a: AuthedAppliance & { token_sha256: string }) => [a.id, a.token_sha256, toHex(a.identity_public_key), toHex(a.evidence_public_key), a.evidence_key_id, a.site_id];

/**
 * Records a nonce only while the appliance's stored row is still what the request was checked against. The
 * condition is part of the INSERT, a write, so it runs in the write transaction and sees every committed
 * revocation, token rotation or key change, from any relay process. "changed": nothing was recorded because
 * the row is not that any more (the caller checks the request again); "replayed": the row is current and this
 * appliance already used the nonce.
 */
export async function recordNonceIfCurrent(db: Pick<RelayDb | Tx, "execute">, a: AuthedAppliance & { token_sha256: string }, nonce: string, now: number): Promise<"recorded" | "replayed" | "changed"> {
  const rs = await db.execute({
    sql: `INSERT INTO request_nonces (appliance_id, nonce, seen_at) SELECT id, ?, ? FROM appliances WHERE ${CURRENT} ON CONFLICT (appliance_id, nonce) DO NOTHING`,
    args: [nonce, isoTime(now), ...currentArgs(a)],
  });
  if (rs.rowsAffected === 1) return "recorded";
  const still = await db.execute({ sql: `SELECT 1 FROM appliances WHERE ${CURRENT}`, args: currentArgs(a) });
  return still.rows.length === 1 ? "replayed" : "changed";
}

/**
 * Inside a `recordsNonce` route's write transaction: records the appliance's pending nonce. Throws 401
 * `nonce_replayed` for a replay; "changed" means the stored row is no longer the one the request was checked
 * with: leave the transaction and call `pending_nonce.stale()` for the reason.
 */
export async function claimNonce(tx: Tx, a: AuthedAppliance): Promise<"recorded" | "changed"> {
  const p = a.pending_nonce;
  if (!p) throw new Error(`Internal: no pending nonce for ${a.id}: the route must set recordsNonce`);
  const r = await recordNonceIfCurrent(tx, { ...a, token_sha256: p.token_sha256 }, p.nonce, p.at);
  if (r === "replayed") throw replayed();
  return r;
}

export const replayed = (): RelayError => new RelayError("nonce_replayed", "Request nonce was already used: a replayed request is refused");

/** Deletes nonces too old to matter; returns how many. */
export async function pruneNonces(db: RelayDb, now: number): Promise<number> {
  const rs = await db.execute({ sql: "DELETE FROM request_nonces WHERE seen_at < ?", args: [isoTime(now - NONCE_RETENTION_MS)] });
  return rs.rowsAffected;
}
