/**
 * The archive queue in the database (`archive_objects`, schema.ts): queue the evidence stored since the last
 * time (from each appliance's cursor), claim the rows that are due, read the
 * exact bytes to upload, record each outcome. A claim is one UPDATE … RETURNING, so two relay processes on one
 * database never take the same row; an outcome is written only while the claim still holds (a checkpoint
 * re-queued meanwhile by a new cosignature is left for the next claim).
 */
import { isoTime } from "../../protocol/ids.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import { KEY_NUMBER_DIGITS } from "./schema.ts";

export const ARCHIVE_KINDS = ["evidence", "checkpoint"] as const;
export type ArchiveKind = (typeof ARCHIVE_KINDS)[number];
export const ARCHIVE_STATES = ["pending", "archived", "failed"] as const;
export type ArchiveState = (typeof ARCHIVE_STATES)[number];

/** The longest error text stored per row. */
export const MAX_ERROR_CHARS = 500;

export interface ClaimedObject {
  object_key: string;
  kind: ArchiveKind;
  site_id: string;
  appliance_id: string;
  /** Evidence seq or checkpoint size. */
  num: number;
  /** Attempts started, this one included (> 1: an earlier attempt may have reached the bucket). */
  attempts: number;
}

/**
 * SQL for appliances whose stored evidence runs past the archive's cursor (`c` their chain_state, `queued` how
 * far their bundles are queued): for the fill below and for the pending counts of status.ts.
 */
export const BEHIND_CURSOR = {
  from: "chain_state c LEFT JOIN archive_evidence_cursor k ON k.appliance_id = c.appliance_id",
  queued: "coalesce(k.queued_seq, 0)",
  where: "c.verified_seq > coalesce(k.queued_seq, 0)",
} as const;

/** Bundles queued per appliance by one `queueNewEvidence` at most: bounds one transaction's work. */
export const QUEUE_FILL_PER_APPLIANCE = 1024;

/**
 * Queues the evidence stored past each appliance's cursor (up to `perAppliance` bundles each), under the same
 * keys and times the ingest trigger used to give them, and moves the cursors, in one transaction. Returns how
 * many rows it queued. Evidence is append-only and contiguous up to `chain_state.verified_seq`, so the cursor
 * alone says what is left; `INSERT OR IGNORE` makes a fill that races another relay process's harmless.
 */
export async function queueNewEvidence(db: RelayDb, perAppliance = QUEUE_FILL_PER_APPLIANCE): Promise<number> {
  return db.transaction(async (tx) => {
    const queued = await tx.execute({
      sql: `INSERT OR IGNORE INTO archive_objects (object_key, kind, site_id, appliance_id, num, enqueued_at, next_attempt_at)
            SELECT 'evidence/' || a.site_id || '/' || e.appliance_id || '/' || printf('%0${KEY_NUMBER_DIGITS}d', e.seq) || '.json',
                   'evidence', a.site_id, e.appliance_id, e.seq, e.received_at, e.received_at
            FROM ${BEHIND_CURSOR.from}
            JOIN appliances a ON a.id = c.appliance_id
            JOIN evidence e ON e.appliance_id = c.appliance_id
                           AND e.seq > ${BEHIND_CURSOR.queued} AND e.seq <= min(c.verified_seq, ${BEHIND_CURSOR.queued} + ?1)
            WHERE ${BEHIND_CURSOR.where}`,
      args: [perAppliance],
    });
    await tx.execute({
      sql: `INSERT INTO archive_evidence_cursor (appliance_id, queued_seq)
            SELECT c.appliance_id, min(c.verified_seq, ${BEHIND_CURSOR.queued} + ?1) FROM ${BEHIND_CURSOR.from} WHERE ${BEHIND_CURSOR.where}
            ON CONFLICT (appliance_id) DO UPDATE SET queued_seq = excluded.queued_seq`,
      args: [perAppliance],
    });
    return queued.rowsAffected;
  });
}

/**
 * Claims up to `limit` rows due at `nowMs` (pending or failed, oldest due first): counts the attempt and
 * moves `next_attempt_at` to the end of the lease, so a process that dies mid-upload leaves them for later.
 */
export async function claimDue(db: RelayDb, opts: { nowMs: number; limit: number; leaseMs: number; claimId: string }): Promise<ClaimedObject[]> {
  const now = isoTime(opts.nowMs);
  const rs = await db.execute({
    sql: `UPDATE archive_objects
             SET attempts = attempts + 1, claim_id = ?, last_attempt_at = ?, next_attempt_at = ?
           WHERE object_key IN (SELECT object_key FROM archive_objects
                                 WHERE state <> 'archived' AND next_attempt_at <= ?
                                 ORDER BY next_attempt_at, object_key LIMIT ?)
          RETURNING object_key, kind, site_id, appliance_id, num, attempts`,
    args: [opts.claimId, now, isoTime(opts.nowMs + opts.leaseMs), now, opts.limit],
  });
  return rs.rows
    .map((r) => ({
      object_key: str(r, "object_key"),
      kind: str(r, "kind") as ArchiveKind,
      site_id: str(r, "site_id"),
      appliance_id: str(r, "appliance_id"),
      num: num(r, "num"),
      attempts: num(r, "attempts"),
    }))
    .sort((a, b) => (a.object_key < b.object_key ? -1 : a.object_key > b.object_key ? 1 : 0));
}

/** The exact text stored for a claimed row (evidence line, countersigned note), or null if it is gone. */
export async function sourceText(db: RelayDb, item: Pick<ClaimedObject, "kind" | "appliance_id" | "num">): Promise<string | null> {
  const rs = await db.execute(
    item.kind === "evidence"
      ? { sql: "SELECT line AS text FROM evidence WHERE appliance_id = ? AND seq = ?", args: [item.appliance_id, item.num] }
      : { sql: "SELECT countersigned_note AS text FROM checkpoints WHERE appliance_id = ? AND size = ?", args: [item.appliance_id, item.num] },
  );
  const row = rs.rows[0];
  return row ? str(row, "text") : null;
}

export type Outcome =
  | { object_key: string; archived: { sha256: string; bytes: number; version_id: string | null; retain_until: string; at: number } }
  | { object_key: string; failed: { state: Exclude<ArchiveState, "archived">; error: string | null; next_attempt_at: number } };

/** Records the outcomes of one claim in one write transaction. Returns how many rows the claim still held. */
export async function recordOutcomes(db: RelayDb, claimId: string, outcomes: readonly Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const results = await db.batch(
    outcomes.map((o) =>
      "archived" in o
        ? {
            sql: `UPDATE archive_objects SET state = 'archived', archived_at = ?, sha256 = ?, bytes = ?, version_id = ?, retain_until = ?, last_error = NULL, claim_id = NULL
                   WHERE object_key = ? AND claim_id = ?`,
            args: [isoTime(o.archived.at), o.archived.sha256, o.archived.bytes, o.archived.version_id, o.archived.retain_until, o.object_key, claimId],
          }
        : {
            // A null error (an attempt aborted by shutdown) keeps the last real error.
            sql: `UPDATE archive_objects SET state = ?, last_error = coalesce(?, last_error), next_attempt_at = ?, claim_id = NULL
                   WHERE object_key = ? AND claim_id = ?`,
            args: [o.failed.state, o.failed.error === null ? null : o.failed.error.slice(0, MAX_ERROR_CHARS), isoTime(o.failed.next_attempt_at), o.object_key, claimId],
          },
    ),
  );
  return results.reduce((n, r) => n + r.rowsAffected, 0);
}

/** Makes a site's `failed` rows due now (after an operator fixed the bucket). Returns how many. */
export async function retryFailedNow(db: Pick<RelayDb, "execute">, siteId: string, nowMs: number): Promise<number> {
  const rs = await db.execute({
    sql: "UPDATE archive_objects SET state = 'pending', next_attempt_at = ? WHERE site_id = ? AND state = 'failed' AND claim_id IS NULL",
    args: [isoTime(nowMs), siteId],
  });
  return rs.rowsAffected;
}
