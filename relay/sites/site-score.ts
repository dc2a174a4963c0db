/**
 * A site's score and trend for the dashboard, computed with THE scoring function (scores/score.ts:
 * `scoreSite`, `dailyHistory`) over the digest's day summaries (digest.ts). The fleet view's numbers are
 * cached per site for one digest version and one clock hour (the score of unchanged evidence only moves as
 * results age, which an hour bounds well below any freshness limit in the catalogue).
 */
import { isoTime } from "../../protocol/ids.ts";
import { dailyHistory, scoreSite, SCORE_WINDOW_MS, type HistoryPoint, type SiteScore } from "../scores/mod.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import { digestVersion, scoreInputs } from "./digest.ts";

/** Days in the fleet view's trend sparkline. */
export const TREND_DAYS = 30;
/** Longest trend a site view may ask for. */
export const MAX_TREND_DAYS = 90;
const DAY_MS = 86_400_000;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The first day whose summaries can matter for a trend of `days` days ending at `now`. */
export function firstInputDay(now: number, days: number): string {
  return dayOf(now - (days - 1) * DAY_MS - SCORE_WINDOW_MS - DAY_MS);
}

/** Daily overall scores for the `days` days ending today (UTC), oldest first. */
export function trendOf(inputs: Parameters<typeof dailyHistory>[0], now: number, days: number): HistoryPoint[] {
  if (!Number.isInteger(days) || days < 1 || days > MAX_TREND_DAYS) throw new RangeError(`Cannot build a trend of ${days} days: 1 to ${MAX_TREND_DAYS}`);
  return dailyHistory(inputs, { from: dayOf(now - (days - 1) * DAY_MS), to: dayOf(now) });
}

/** The full score (categories, controls, latest results) and a trend, for the site view. */
export async function siteScore(db: RelayDb, siteId: string, now: number, days: number): Promise<{ score: SiteScore; trend: HistoryPoint[] }> {
  const inputs = await scoreInputs(db, siteId, firstInputDay(now, days));
  return { score: scoreSite(inputs, { now: new Date(now) }), trend: trendOf(inputs, now, days) };
}

export interface SiteSummaryScore {
  /** 0..100, or null when nothing was reported ("no data", never 100). */
  overall: number | null;
  trend: HistoryPoint[];
  /** Latest results that fail. */
  failing: number;
  /** Latest results that could not be evaluated (the check errored or the host did not answer); they count as not passing. */
  unchecked: number;
}

/** The fleet view's score, trend and failing count, from the cache when still valid. */
export async function siteSummaryScore(db: RelayDb, siteId: string, now: number): Promise<SiteSummaryScore> {
  const version = await digestVersion(db, siteId);
  const hour = isoTime(now).slice(0, 13);
  const cached = (await db.execute({ sql: "SELECT * FROM site_summaries WHERE site_id = ? AND digest_version = ? AND hour = ?", args: [siteId, version, hour] })).rows[0];
  if (cached) {
    const overall = cached["overall"];
    return { overall: typeof overall === "number" ? overall : null, trend: JSON.parse(str(cached, "trend")) as HistoryPoint[], failing: num(cached, "failing"), unchecked: num(cached, "unchecked") };
  }
  const { score, trend } = await siteScore(db, siteId, now, TREND_DAYS);
  const failing = score.latest.filter((r) => r.status === "fail").length;
  const unchecked = score.latest.filter((r) => r.status === "error").length;
  await db.execute({
    sql: `INSERT INTO site_summaries (site_id, digest_version, hour, overall, trend, failing, unchecked, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (site_id) DO UPDATE SET digest_version = excluded.digest_version, hour = excluded.hour, overall = excluded.overall,
            trend = excluded.trend, failing = excluded.failing, unchecked = excluded.unchecked, computed_at = excluded.computed_at`,
    args: [siteId, version, hour, score.overall, JSON.stringify(trend), failing, unchecked, isoTime(now)],
  });
  return { overall: score.overall, trend, failing, unchecked };
}
