/**
 * Which seqs of an appliance's evidence fall in a time range (by `finished_at`), for exports, packets and
 * digests, from a sparse index: only every SPARSE_EVERY-th bundle's `finished_at` is indexed, so ingest pays
 * for an index entry once per 64 bundles instead of once per bundle (a full index was ~3 µs of the relay's
 * CPU per bundle).
 *
 * Exact, because of what ingest enforces on every stored chain (protocol/chain.ts): a bundle's `finished_at`
 * is never more than TOLERANCE behind the latest one before it. Hence
 * - an indexed bundle L with finished_at < X − TOLERANCE has every bundle up to L finished before X, so the
 *   first bundle finished at or after X comes after L;
 * - an indexed bundle U with finished_at ≥ Y + TOLERANCE has every bundle after it finished at or after Y, so
 *   the last bundle finished before Y comes before U;
 * and the rest is a short scan in seq order from that bound (the bundles between two indexed ones, plus those
 * within the tolerance window).
 */
import { DEFAULT_TIME_TOLERANCE_MS } from "../../protocol/chain.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { num, type Tx } from "../db/index.ts";
import { SPARSE_EVERY } from "./finished-index-schema.ts";

/** How far finished_at may step back in a stored chain: what ingest's ChainVerifier allows. */
const TOLERANCE_MS = DEFAULT_TIME_TOLERANCE_MS;

type Reader = Pick<Tx, "execute">;

/** The latest time isoTime can write (9999-12-31T23:59:59.999Z). */
const MAX_TIME_MS = 253_402_300_799_999;

/** `iso` moved by `ms`, kept within the times an ISO string can hold (a range may start at the epoch). */
function shifted(iso: string, ms: number): string {
  return isoTime(Math.min(MAX_TIME_MS, Math.max(0, parseIsoTime(iso) + ms)));
}

/** The first seq finished at or after `fromIso` (null: none). */
export async function firstSeqFinishedFrom(db: Reader, applianceId: string, fromIso: string): Promise<number | null> {
  const rs = await db.execute({
    sql: `SELECT seq FROM evidence
           WHERE appliance_id = ?1 AND finished_at >= ?2
             AND seq > coalesce((SELECT seq FROM evidence WHERE appliance_id = ?1 AND seq % ${SPARSE_EVERY} = 1 AND finished_at < ?3
                                  ORDER BY finished_at DESC LIMIT 1), 0)
           ORDER BY seq LIMIT 1`,
    args: [applianceId, fromIso, shifted(fromIso, -TOLERANCE_MS)],
  });
  const row = rs.rows[0];
  return row ? num(row, "seq") : null;
}

/** The last seq finished before `toIso` (null: none). */
export async function lastSeqFinishedBefore(db: Reader, applianceId: string, toIso: string): Promise<number | null> {
  const rs = await db.execute({
    sql: `SELECT seq FROM evidence
           WHERE appliance_id = ?1 AND finished_at < ?2
             AND seq < coalesce((SELECT seq FROM evidence WHERE appliance_id = ?1 AND seq % ${SPARSE_EVERY} = 1 AND finished_at >= ?3
                                  ORDER BY finished_at LIMIT 1), 9223372036854775807)
           ORDER BY seq DESC LIMIT 1`,
    args: [applianceId, toIso, shifted(toIso, TOLERANCE_MS)],
  });
  const row = rs.rows[0];
  return row ? num(row, "seq") : null;
}

/** The seqs finished in [fromIso, toIso): first and last, or null when none is (first > last cannot be returned). */
export async function seqsFinishedIn(db: Reader, applianceId: string, fromIso: string, toIso: string): Promise<{ first: number; last: number } | null> {
  const first = await firstSeqFinishedFrom(db, applianceId, fromIso);
  if (first === null) return null;
  const last = await lastSeqFinishedBefore(db, applianceId, toIso);
  return last === null || last < first ? null : { first, last };
}
