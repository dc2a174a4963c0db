/**
 * What the dashboard and /metrics show about the archive: how many objects are pending, archived and
 * failed, how long the oldest one not yet archived has waited, and the latest error. Reads only the queue
 * rows that are not archived (plus an index-only count of the archived ones) and, per appliance, how far its
 * stored evidence runs past the archive's cursor (bundles not queued yet are pending too: queue.ts
 * `queueNewEvidence`), so it stays cheap however much evidence is stored.
 */
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import { BEHIND_CURSOR } from "./queue.ts";

/**
 * Evidence stored but not queued yet (past each appliance's cursor), and when the oldest such bundle arrived:
 * the relay's, or one site's (`?1`).
 */
function unqueuedSql(bySite: boolean): string {
  return `SELECT coalesce(SUM(c.verified_seq - ${BEHIND_CURSOR.queued}), 0) AS n, MIN(e.received_at) AS oldest
            FROM ${BEHIND_CURSOR.from}
            ${bySite ? "JOIN appliances a ON a.id = c.appliance_id AND a.site_id = ?1" : ""}
            LEFT JOIN evidence e ON e.appliance_id = c.appliance_id AND e.seq = ${BEHIND_CURSOR.queued} + 1
           WHERE ${BEHIND_CURSOR.where}`;
}

function earliest(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null || a <= b ? a : b;
}

export interface ArchiveStatus {
  site_id: string;
  pending: number;
  archived: number;
  failed: number;
  /** When the oldest object not yet archived was queued (stored by ingest), or null. */
  oldest_pending_at: string | null;
  /** Its age in whole seconds, or null. */
  oldest_pending_age_s: number | null;
  /** The most recent failure among the objects not yet archived, or null. */
  last_error: { object_key: string; error: string; at: string | null } | null;
}

/** The archive state of one site's evidence and checkpoints. */
export async function archiveStatus(db: RelayDb, siteId: string, nowMs: number): Promise<ArchiveStatus> {
  const counts = await db.execute({
    sql: "SELECT state, COUNT(*) AS n, MIN(enqueued_at) AS oldest FROM archive_objects WHERE site_id = ? GROUP BY state",
    args: [siteId],
  });
  const status: ArchiveStatus = { site_id: siteId, pending: 0, archived: 0, failed: 0, oldest_pending_at: null, oldest_pending_age_s: null, last_error: null };
  for (const r of counts.rows) {
    const state = str(r, "state");
    if (state !== "pending" && state !== "archived" && state !== "failed") continue;
    status[state] = num(r, "n");
    const oldest = strOrNull(r, "oldest");
    if (state !== "archived") status.oldest_pending_at = earliest(status.oldest_pending_at, oldest);
  }
  const unqueued = (await db.execute({ sql: unqueuedSql(true), args: [siteId] })).rows[0];
  if (unqueued) {
    status.pending += num(unqueued, "n");
    status.oldest_pending_at = earliest(status.oldest_pending_at, strOrNull(unqueued, "oldest"));
  }
  status.oldest_pending_age_s = ageSeconds(status.oldest_pending_at, nowMs);
  const err = (
    await db.execute({
      sql: `SELECT object_key, last_error, last_attempt_at FROM archive_objects
             WHERE site_id = ? AND state IN ('pending', 'failed') AND last_error IS NOT NULL
             ORDER BY last_attempt_at DESC, object_key LIMIT 1`,
      args: [siteId],
    })
  ).rows[0];
  if (err) status.last_error = { object_key: str(err, "object_key"), error: str(err, "last_error"), at: strOrNull(err, "last_attempt_at") };
  return status;
}

export interface ArchiveQueueDepth {
  /** Not archived yet, being retried normally. */
  pending: number;
  /** Not archived, needing attention (still retried). */
  failed: number;
  oldest_pending_age_s: number | null;
}

/** The whole relay's archive backlog, for the Prometheus /metrics endpoint. */
export async function archiveQueueDepth(db: RelayDb, nowMs: number): Promise<ArchiveQueueDepth> {
  const rs = await db.execute("SELECT state, COUNT(*) AS n, MIN(enqueued_at) AS oldest FROM archive_objects WHERE state <> 'archived' GROUP BY state");
  const depth: ArchiveQueueDepth = { pending: 0, failed: 0, oldest_pending_age_s: null };
  let oldest: string | null = null;
  for (const r of rs.rows) {
    const state = str(r, "state");
    if (state === "pending" || state === "failed") depth[state] = num(r, "n");
    oldest = earliest(oldest, strOrNull(r, "oldest"));
  }
  const unqueued = (await db.execute(unqueuedSql(false))).rows[0];
  if (unqueued) {
    depth.pending += num(unqueued, "n");
    oldest = earliest(oldest, strOrNull(unqueued, "oldest"));
  }
  depth.oldest_pending_age_s = ageSeconds(oldest, nowMs);
  return depth;
}

/** Prometheus text lines for the archive backlog (for /metrics to append). */
export function archiveMetricLines(depth: ArchiveQueueDepth): string[] {
  return [
    "# HELP osiris_archive_queue_depth Evidence bundles and checkpoints not yet in the WORM archive, by state.",
    "# TYPE osiris_archive_queue_depth gauge",
    `osiris_archive_queue_depth{state="pending"} ${depth.pending}`,
    `osiris_archive_queue_depth{state="failed"} ${depth.failed}`,
    "# HELP osiris_archive_oldest_pending_seconds Age of the oldest object not yet archived (0 when none).",
    "# TYPE osiris_archive_oldest_pending_seconds gauge",
    `osiris_archive_oldest_pending_seconds ${depth.oldest_pending_age_s ?? 0}`,
  ];
}

function ageSeconds(at: string | null, nowMs: number): number | null {
  if (at === null) return null;
  const t = Date.parse(at);
  return Number.isFinite(t) ? Math.max(0, Math.floor((nowMs - t) / 1000)) : null;
}
