/**
 * The dashboard digest: what the fleet and site views read instead of re-parsing every stored bundle on
 * every request. It follows each appliance's evidence (by seq) and outbox receipts (by outbox_seq) from a
 * cursor, in bounded pages, and keeps:
 *
 * - `site_results`: per site, UTC day, check and host, the day's latest result, chosen with exactly the
 *   order `scoreSite` uses (newest, then the worse status, then the smaller appliance id). This is lossless
 *   for scoring: `scoreSite` keeps one result per (check, host) — the maximum under that order among the
 *   results inside its window [now − 30 d, now] — and the window cuts a day only by time, so the maximum of
 *   a day is inside the window exactly when any of that day's winners could be. The same holds for
 *   "host unreachable" markers (`check_id = ''`), kept as the day's latest per host. Inputs are produced by
 *   `resultsFromBundleLines`, the scoring module's own adapter.
 * - `site_incidents` / `site_hosts` from the appliance's incident and inventory entries, and version / clock
 *   offset from heartbeats. Healing attempts are not copied: the push records them in the learning loop's
 *   `healing_attempts` (their one owner), which the incident timeline reads through the `site_attempts` view.
 * - approval requests for healing attempts that ended `pending_approval` (approvals.ts).
 *
 * Everything is written with idempotent upserts and the cursor only moves forward (`max`), in one batch per
 * page, so two relay processes refreshing at once do the same work twice at worst and never lose a row.
 * Reads happen outside the write lock; a page is at most DIGEST_PAGE_ROWS rows.
 */
import { parseBundleLine, type Bundle, type CheckStatus } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { healingAttemptBodySchema, heartbeatBodySchema, incidentBodySchema, inventoryBodySchema } from "../../protocol/sync.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { resultsFromBundleLines, type ScoreInput } from "../scores/mod.ts";
import { approvalFromAttempt } from "./approvals.ts";

/** Rows read per query (evidence lines are at most a few KB each: a page is a few MB at most). */
export const DIGEST_PAGE_ROWS = 500;
/** Rows one refresh reads across all of a site's appliances; the rest waits for the next call. */
export const DEFAULT_DIGEST_BUDGET_ROWS = 20_000;
/** Longest rendering of a result's expected/actual value kept for the dashboard. */
export const MAX_VALUE_CHARS = 200;

type Stmt = { sql: string; args: (string | number | null)[] };

/** SQL rank of a status, the same order as scores/score.ts SEVERITY. */
const RANK_SQL = (col: string) => `(CASE ${col} WHEN 'error' THEN 3 WHEN 'fail' THEN 2 WHEN 'pass' THEN 1 ELSE 0 END)`;
const RANK: Readonly<Record<CheckStatus, number>> = { not_applicable: 0, pass: 1, fail: 2, error: 3 };

/** The day-summary row candidate for one scoring input. */
interface DayResult {
  site_id: string;
  day: string;
  check_id: string;
  host_id: string;
  appliance_id: string;
  status: CheckStatus;
  finished_at: string;
  expected: string | null;
  actual: string | null;
}

/** Whether `a` replaces `b` as the day's latest (scores/score.ts `newer`). */
function beats(a: DayResult, b: DayResult): boolean {
  if (a.finished_at !== b.finished_at) return a.finished_at > b.finished_at;
  if (a.status !== b.status) return RANK[a.status] > RANK[b.status];
  return a.appliance_id < b.appliance_id;
}

export function clipJson(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value) ?? "null";
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

const upsertResult = (r: DayResult): Stmt => ({
  sql: `INSERT INTO site_results (site_id, day, check_id, host_id, appliance_id, status, finished_at, expected, actual)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (site_id, day, check_id, host_id) DO UPDATE SET
          appliance_id = excluded.appliance_id, status = excluded.status, finished_at = excluded.finished_at,
          expected = excluded.expected, actual = excluded.actual
        WHERE excluded.finished_at > site_results.finished_at
           OR (excluded.finished_at = site_results.finished_at AND ${RANK_SQL("excluded.status")} > ${RANK_SQL("site_results.status")})
           OR (excluded.finished_at = site_results.finished_at AND excluded.status = site_results.status AND excluded.appliance_id < site_results.appliance_id)`,
  args: [r.site_id, r.day, r.check_id, r.host_id, r.appliance_id, r.status, r.finished_at, r.expected, r.actual],
});

interface Cursor {
  appliance_id: string;
  site_id: string;
  evidence_seq: number;
  outbox_seq: number;
}

async function cursors(db: RelayDb, siteId: string, now: string): Promise<Cursor[]> {
  await db.execute({
    sql: `INSERT INTO site_digest_cursors (appliance_id, site_id, updated_at) SELECT id, site_id, ? FROM appliances WHERE site_id = ?
          ON CONFLICT (appliance_id) DO NOTHING`,
    args: [now, siteId],
  });
  const rs = await db.execute({ sql: "SELECT appliance_id, site_id, evidence_seq, outbox_seq FROM site_digest_cursors WHERE site_id = ? ORDER BY appliance_id", args: [siteId] });
  return rs.rows.map((r) => ({ appliance_id: str(r, "appliance_id"), site_id: str(r, "site_id"), evidence_seq: num(r, "evidence_seq"), outbox_seq: num(r, "outbox_seq") }));
}

/** Reads one page of evidence after the cursor; returns the statements to write and rows read. */
async function evidencePage(db: RelayDb, c: Cursor): Promise<{ stmts: Stmt[]; rows: number; last: number }> {
  const rs = await db.execute({ sql: "SELECT seq, line FROM evidence WHERE appliance_id = ? AND seq > ? ORDER BY seq LIMIT ?", args: [c.appliance_id, c.evidence_seq, DIGEST_PAGE_ROWS] });
  const best = new Map<string, DayResult>();
  let simulated = false;
  let lastCycle: string | null = null;
  let last = c.evidence_seq;
  for (const row of rs.rows) {
    last = num(row, "seq");
    const line = str(row, "line");
    let bundle: Bundle;
    try {
      bundle = parseBundleLine(line);
    } catch {
      continue; // verified at ingest; a line that no longer parses is left to the integrity checks
    }
    if (bundle.kind !== "check_cycle") continue;
    if (bundle.post_state["simulated"] === true) simulated = true;
    if (lastCycle === null || bundle.timestamps.finished_at > lastCycle) lastCycle = bundle.timestamps.finished_at;
    const values = new Map(bundle.results.map((r) => [r.check, r]));
    for (const input of resultsFromBundleLines([line]) as Iterable<ScoreInput>) {
      const v = input.check === null ? undefined : values.get(input.check);
      const candidate: DayResult = {
        site_id: c.site_id,
        day: input.finished_at.slice(0, 10),
        check_id: input.check ?? "",
        host_id: input.host_id,
        appliance_id: input.appliance_id,
        status: input.status,
        finished_at: input.finished_at,
        expected: v ? clipJson(v.expected) : null,
        actual: v ? clipJson(v.actual) : null,
      };
      const key = `${candidate.day}\0${candidate.check_id}\0${candidate.host_id}`;
      const prev = best.get(key);
      if (!prev || beats(candidate, prev)) best.set(key, candidate);
    }
  }
  const stmts = [...best.values()].map(upsertResult);
  if (rs.rows.length > 0) {
    stmts.push({
      sql: `UPDATE site_digest_cursors SET evidence_seq = max(evidence_seq, ?), simulated = max(simulated, ?),
              last_cycle_at = CASE WHEN ? IS NOT NULL AND (last_cycle_at IS NULL OR ? > last_cycle_at) THEN ? ELSE last_cycle_at END
            WHERE appliance_id = ?`,
      args: [last, simulated ? 1 : 0, lastCycle, lastCycle, lastCycle, c.appliance_id],
    });
  }
  return { stmts, rows: rs.rows.length, last };
}

/** Reads one page of outbox receipts after the cursor (incidents, attempts, heartbeats, inventory). */
async function receiptPage(db: RelayDb, c: Cursor, env: Env): Promise<{ stmts: Stmt[]; rows: number; last: number }> {
  const rs = await db.execute({ sql: "SELECT outbox_seq, type, body FROM outbox_receipts WHERE appliance_id = ? AND outbox_seq > ? ORDER BY outbox_seq LIMIT ?", args: [c.appliance_id, c.outbox_seq, DIGEST_PAGE_ROWS] });
  const stmts: Stmt[] = [];
  let last = c.outbox_seq;
  for (const row of rs.rows) {
    last = num(row, "outbox_seq");
    const type = str(row, "type");
    if (type === "evidence" || type === "order_result" || type === "escalation") continue;
    let body: unknown;
    try {
      body = JSON.parse(str(row, "body"));
    } catch {
      continue;
    }
    if (type === "incident") {
      const p = incidentBodySchema.safeParse(body);
      if (!p.success) continue;
      const i = p.data;
      stmts.push({
        sql: `INSERT INTO site_incidents (appliance_id, incident_id, site_id, host_id, check_id, severity, status, opened_at, updated_at, resolved_at, occurrences)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (appliance_id, incident_id) DO UPDATE SET host_id = excluded.host_id, check_id = excluded.check_id, severity = excluded.severity,
                status = excluded.status, opened_at = excluded.opened_at, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, occurrences = excluded.occurrences
              WHERE excluded.updated_at >= site_incidents.updated_at`,
        args: [c.appliance_id, i.incident_id, c.site_id, i.host_id, i.check, i.severity, i.status, i.opened_at, i.updated_at, i.resolved_at, i.occurrences],
      });
    } else if (type === "healing_attempt") {
      const p = healingAttemptBodySchema.safeParse(body);
      if (!p.success) continue;
      const approval = approvalFromAttempt(c, p.data, env);
      if (approval) stmts.push(approval);
    } else if (type === "heartbeat") {
      const p = heartbeatBodySchema.safeParse(body);
      if (!p.success) continue;
      const mode = p.data.healing_mode;
      stmts.push({
        sql: "UPDATE site_digest_cursors SET version = ?, ntp_offset_ms = ?, healing_mode = coalesce(?, healing_mode), healing_mode_source = coalesce(?, healing_mode_source) WHERE appliance_id = ?",
        args: [p.data.version, p.data.ntp_offset_ms, mode?.mode ?? null, mode?.source ?? null, c.appliance_id],
      });
    } else if (type === "inventory") {
      const p = inventoryBodySchema.safeParse(body);
      if (!p.success) continue;
      for (const h of p.data.hosts) {
        stmts.push({
          sql: `INSERT INTO site_hosts (site_id, host_id, appliance_id, hostname, platform, os_version, reachable, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (site_id, host_id) DO UPDATE SET appliance_id = excluded.appliance_id, hostname = excluded.hostname, platform = excluded.platform,
                  os_version = excluded.os_version, reachable = excluded.reachable, seen_at = excluded.seen_at
                WHERE excluded.seen_at >= site_hosts.seen_at`,
          args: [c.site_id, h.host_id, c.appliance_id, h.hostname, h.platform, h.os_version, h.reachable ? 1 : 0, p.data.at],
        });
      }
    }
  }
  if (rs.rows.length > 0) stmts.push({ sql: "UPDATE site_digest_cursors SET outbox_seq = max(outbox_seq, ?) WHERE appliance_id = ?", args: [last, c.appliance_id] });
  return { stmts, rows: rs.rows.length, last };
}

export interface DigestRefresh {
  /** Rows read (evidence + receipts). */
  rows: number;
  /** True when the budget ran out before every appliance was caught up. */
  behind: boolean;
}

/**
 * Brings a site's digest up to date with what its appliances pushed, reading at most `budgetRows` rows.
 * Safe to call from several requests or processes at once.
 */
export async function refreshSiteDigest(db: RelayDb, siteId: string, env: Env, budgetRows = DEFAULT_DIGEST_BUDGET_ROWS): Promise<DigestRefresh> {
  const now = isoTime(env.clock.now());
  let rows = 0;
  let changed = false;
  for (const c of await cursors(db, siteId, now)) {
    for (const page of [evidencePage, receiptPage] as const) {
      const cur = { ...c };
      for (;;) {
        if (rows >= budgetRows) return finish(db, siteId, rows, true, changed);
        const r = await page(db, cur, env);
        rows += r.rows;
        if (r.rows === 0) break;
        await db.batch([...r.stmts, { sql: "UPDATE site_digest_cursors SET updated_at = ? WHERE appliance_id = ?", args: [now, cur.appliance_id] }]);
        changed = true;
        if (page === evidencePage) cur.evidence_seq = r.last;
        else cur.outbox_seq = r.last;
        if (r.rows < DIGEST_PAGE_ROWS) break;
      }
    }
  }
  return finish(db, siteId, rows, false, changed);
}

async function finish(db: RelayDb, siteId: string, rows: number, behind: boolean, changed: boolean): Promise<DigestRefresh> {
  if (changed) {
    await db.execute({ sql: "INSERT INTO site_digest_versions (site_id, version) VALUES (?, 1) ON CONFLICT (site_id) DO UPDATE SET version = version + 1", args: [siteId] });
  }
  return { rows, behind };
}

/** The digest version of a site (0 before anything was read). */
export async function digestVersion(db: RelayDb, siteId: string): Promise<number> {
  const rs = await db.execute({ sql: "SELECT version FROM site_digest_versions WHERE site_id = ?", args: [siteId] });
  return rs.rows[0] ? num(rs.rows[0], "version") : 0;
}

/** The scoring inputs of a site from `fromDay` (YYYY-MM-DD) on: what `scoreSite` / `dailyHistory` take. */
export async function scoreInputs(db: RelayDb, siteId: string, fromDay: string): Promise<ScoreInput[]> {
  const rs = await db.execute({ sql: "SELECT check_id, host_id, appliance_id, status, finished_at FROM site_results WHERE site_id = ? AND day >= ?", args: [siteId, fromDay] });
  return rs.rows.map((r): ScoreInput => {
    const check = str(r, "check_id");
    const base = { appliance_id: str(r, "appliance_id"), host_id: str(r, "host_id"), finished_at: str(r, "finished_at"), site_id: siteId };
    return check === "" ? { ...base, check: null, status: "error" } : { ...base, check, status: str(r, "status") as CheckStatus };
  });
}

/** The stored expected/actual values of a (check, host)'s result at `finished_at`, for the device list. */
export async function resultValues(db: RelayDb, siteId: string, fromDay: string): Promise<Map<string, { expected: string | null; actual: string | null }>> {
  const rs = await db.execute({ sql: "SELECT check_id, host_id, finished_at, expected, actual FROM site_results WHERE site_id = ? AND day >= ? AND check_id <> ''", args: [siteId, fromDay] });
  const out = new Map<string, { expected: string | null; actual: string | null }>();
  for (const r of rs.rows) out.set(`${str(r, "check_id")}\0${str(r, "host_id")}\0${str(r, "finished_at")}`, { expected: strOrNull(r, "expected"), actual: strOrNull(r, "actual") });
  return out;
}
