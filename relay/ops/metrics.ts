/**
 * Prometheus metrics for the MSP's monitoring, derived from the database at scrape time so every relay
 * process sharing one database reports the same figures (no per-process counters to add up):
 * evidence ingested (a counter: `rate()` gives bundles/s), integrity incidents (verification failures) by
 * code, appliances by time since their last sync, and queue depths (pending orders, open escalations,
 * notification deliveries, the WORM archive queue).
 */
import type { RelayDb } from "../db/index.ts";
import { parseIsoTime } from "../../protocol/ids.ts";
import { archiveMetricLines, archiveQueueDepth } from "../archive/index.ts";

/** Last-sync age buckets (upper bounds in seconds), plus "never". */
const AGE_BUCKETS: readonly [string, number][] = [
  ["5m", 300],
  ["1h", 3600],
  ["24h", 86_400],
  ["7d", 7 * 86_400],
  ["older", Number.POSITIVE_INFINITY],
];

/** Queues: metric label → SQL counting what waits. */
const QUEUES: readonly [string, string][] = [
  ["notifications_pending", "SELECT count(*) AS n FROM notification_deliveries WHERE status = 'pending'"],
  ["escalations_open", "SELECT count(*) AS n FROM escalations WHERE status != 'resolved'"],
];

function line(name: string, value: number, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return `${name}${l.length ? `{${l.join(",")}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

async function scalar(db: RelayDb, sql: string, args: (string | number)[] = []): Promise<number> {
  const rs = await db.execute({ sql, args });
  const v = rs.rows[0]?.[Object.keys(rs.rows[0] ?? {})[0] ?? "n"];
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0;
}

export async function renderMetrics(db: RelayDb, now: number): Promise<string> {
  const out: string[] = [];
  const help = (name: string, type: "counter" | "gauge", text: string) => out.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);

  help("osiris_evidence_bundles_ingested_total", "counter", "Evidence bundles verified and stored (append-only, so max(rowid) is the count).");
  out.push(line("osiris_evidence_bundles_ingested_total", await scalar(db, "SELECT coalesce(max(rowid), 0) AS n FROM evidence")));
  help("osiris_checkpoints_countersigned_total", "counter", "Appliance checkpoints countersigned by the relay.");
  out.push(line("osiris_checkpoints_countersigned_total", await scalar(db, "SELECT count(*) AS n FROM checkpoints")));

  help("osiris_verification_failures_total", "counter", "Refused pushes recorded as integrity incidents (forks, gaps, bad signatures, …), by code.");
  const failures = await db.execute("SELECT code, sum(occurrences) AS n FROM integrity_incidents GROUP BY code ORDER BY code");
  if (failures.rows.length === 0) out.push(line("osiris_verification_failures_total", 0, { code: "none" }));
  for (const r of failures.rows) out.push(line("osiris_verification_failures_total", Number(r["n"]), { code: String(r["code"]) }));

  help("osiris_appliances", "gauge", "Active appliances by time since their last stored push (le = at most).");
  const seen = await db.execute("SELECT last_seen_at FROM appliances WHERE state = 'active'");
  const counts = new Map<string, number>([...AGE_BUCKETS.map(([k]) => [k, 0] as [string, number]), ["never", 0]]);
  for (const r of seen.rows) {
    const at = r["last_seen_at"];
    if (typeof at !== "string") {
      counts.set("never", counts.get("never")! + 1);
      continue;
    }
    const age = (now - parseIsoTime(at)) / 1000;
    const bucket = AGE_BUCKETS.find(([, max]) => age <= max)![0];
    counts.set(bucket, counts.get(bucket)! + 1);
  }
  for (const [bucket, n] of counts) out.push(line("osiris_appliances", n, { last_sync: bucket }));
  help("osiris_appliances_revoked", "gauge", "Revoked appliances.");
  out.push(line("osiris_appliances_revoked", await scalar(db, "SELECT count(*) AS n FROM appliances WHERE state = 'revoked'")));

  help("osiris_queue_depth", "gauge", "Work waiting: signed orders not yet done, archive uploads, notification deliveries, open escalations.");
  out.push(line("osiris_queue_depth", await scalar(db, "SELECT count(*) AS n FROM orders WHERE status = 'pending' AND expires_at > ?", [new Date(now).toISOString()]), { queue: "orders_pending" }));
  for (const [queue, sql] of QUEUES) out.push(line("osiris_queue_depth", await scalar(db, sql), { queue }));
  out.push(...archiveMetricLines(await archiveQueueDepth(db, now)));
  return out.join("\n") + "\n";
}
