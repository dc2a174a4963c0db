/**
 * The clinic digest: a short e-mail, daily by default (or weekly), to a site's client e-mail channels saying
 * what changed: problems the appliance fixed by itself, issues handed to the IT provider and resolved, and
 * what is still open, by plain category titles. It carries counts and category titles only: no clinic name,
 * host, check id or reason (PHI-free by construction), and a link to the portal.
 *
 * A digest is due once per local day (or week, from Monday) at or after DIGEST_HOUR in the site's time zone;
 * its delivery key (`digest:<cadence>:<local date>`) makes it go out once even if several ticks see it due.
 */
import { isoTime } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { channelFromRow } from "./channels.ts";
import { enqueueDelivery } from "./dispatch.ts";
import { categoryTitle, NOTIFY_SCHEMA, type DigestEvent } from "./events.ts";
import { seqsFinishedIn } from "../ingest/finished-bounds.ts";

/** Local hour (site time zone) from which the day's digest is sent: before the clinic opens. */
export const DIGEST_HOUR = 7;
const DAY_MS = 24 * 60 * 60_000;

interface LocalTime {
  date: string;
  hour: number;
  /** 1 = Monday … 7 = Sunday. */
  weekday: number;
}

const WEEKDAYS: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** The local date, hour and weekday of `ms` in `timeZone` (UTC when the zone is unknown). */
export function localTime(ms: number, timeZone: string): LocalTime {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", weekday: "short", hourCycle: "h23" });
  } catch {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", weekday: "short", hourCycle: "h23" });
  }
  const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { date: `${p["year"]}-${p["month"]}-${p["day"]}`, hour: Number(p["hour"]), weekday: WEEKDAYS[p["weekday"] ?? "Mon"] ?? 1 };
}

/** The digest key due now for a cadence, or null when none is due yet. */
export function dueDigestKey(cadence: "daily" | "weekly", nowMs: number, timeZone: string, hour = DIGEST_HOUR): string | null {
  const t = localTime(nowMs, timeZone);
  if (cadence === "daily") return t.hour >= hour ? `digest:daily:${t.date}` : null;
  if (t.weekday === 1 && t.hour < hour) return null;
  const monday = localTime(nowMs - (t.weekday - 1) * DAY_MS, timeZone).date;
  return `digest:weekly:${monday}`;
}

/** What changed at a site between `fromMs` and `toMs` (counts and category titles only). */
export async function buildDigest(db: RelayDb, siteId: string, cadence: "daily" | "weekly", fromMs: number, toMs: number, key: string): Promise<DigestEvent> {
  const from = isoTime(fromMs);
  const to = isoTime(toMs);
  const counts = await db.execute({
    sql: `SELECT
            SUM(CASE WHEN created_at >= ?1 AND created_at < ?2 THEN 1 ELSE 0 END) AS opened,
            SUM(CASE WHEN resolved_at >= ?1 AND resolved_at < ?2 THEN 1 ELSE 0 END) AS resolved,
            SUM(CASE WHEN status <> 'resolved' THEN 1 ELSE 0 END) AS open_now
          FROM escalations WHERE site_id = ?3`,
    args: [from, to, siteId],
  });
  const byCategory = await db.execute({
    sql: "SELECT category, COUNT(*) AS n FROM escalations WHERE site_id = ? AND created_at >= ? AND created_at < ? GROUP BY category ORDER BY n DESC, category",
    args: [siteId, from, to],
  });
  let fixedCount = 0;
  for (const a of (await db.execute({ sql: "SELECT id FROM appliances WHERE site_id = ?", args: [siteId] })).rows) {
    const id = str(a, "id");
    const seqs = await seqsFinishedIn(db, id, from, to);
    if (!seqs) continue;
    const rs = await db.execute({
      sql: `SELECT COUNT(*) AS n FROM evidence
             WHERE appliance_id = ? AND seq BETWEEN ? AND ? AND finished_at >= ? AND finished_at < ?
               AND json_extract(line, '$.kind') = 'remediation' AND json_extract(line, '$.outcome') = 'success'`,
      args: [id, seqs.first, seqs.last, from, to],
    });
    fixedCount += num(rs.rows[0]!, "n");
  }
  const c = counts.rows[0];
  const n = (v: unknown) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0);
  const merged = new Map<string, { category: string; title: string; opened: number }>();
  for (const r of byCategory.rows) {
    const category = strOrNull(r, "category") ?? "other";
    const title = categoryTitle(strOrNull(r, "category"));
    const prev = merged.get(title);
    merged.set(title, { category, title, opened: (prev?.opened ?? 0) + num(r, "n") });
  }
  return {
    schema: NOTIFY_SCHEMA,
    event: "digest",
    event_id: key,
    occurred_at: to,
    cadence,
    period_from: from,
    period_to: to,
    opened: n(c?.["opened"]),
    resolved: n(c?.["resolved"]),
    open_now: n(c?.["open_now"]),
    fixed_automatically: fixedCount,
    by_category: [...merged.values()],
  };
}

/** Queues every digest that is due now. Returns how many were queued. */
export async function enqueueDueDigests(deps: Env & { db: RelayDb }, hour = DIGEST_HOUR): Promise<number> {
  const now = deps.clock.now();
  const rs = await deps.db.execute({
    sql: `SELECT c.*, s.timezone AS site_timezone FROM notification_channels c JOIN sites s ON s.id = c.site_id
          WHERE c.deleted_at IS NULL AND c.audience = 'client' AND c.digest <> 'off' ORDER BY c.id`,
    args: [],
  });
  let queued = 0;
  for (const row of rs.rows) {
    const channel = channelFromRow(row);
    const cadence = channel.digest === "weekly" ? "weekly" : "daily";
    const key = dueDigestKey(cadence, now, str(row, "site_timezone"), hour);
    if (key === null) continue;
    const done = await deps.db.execute({ sql: "SELECT 1 FROM notification_deliveries WHERE channel_id = ? AND event_key = ?", args: [channel.id, key] });
    if (done.rows.length > 0) continue;
    const digest = await buildDigest(deps.db, channel.site_id!, cadence, now - (cadence === "daily" ? DAY_MS : 7 * DAY_MS), now, key);
    await deps.db.transaction((tx) => enqueueDelivery(tx, deps, channel, key, digest, { escalation_id: null, site_id: channel.site_id }));
    queued++;
  }
  return queued;
}
