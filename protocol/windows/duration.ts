/**
 * ISO 8601 durations for maintenance windows (`PT4H`, `P1D`, `P1DT2H30M`, `P1W`).
 *
 * Following RFC 5545 §3.3.6, weeks and days are *nominal*: `P1D` ends at the same wall-clock time the next day,
 * which is 23 or 25 hours across a daylight-saving change. Hours, minutes and seconds are *exact* elapsed time:
 * a 22:00 + `PT4H` window on the fall-back night ends at 01:00, four real hours later. Years and months are
 * refused: their length depends on the calendar and no clinic needs a month-long window.
 */
import { WindowError } from "./error.ts";

/** A parsed duration: `days` of calendar arithmetic, then `exactMs` of elapsed time. */
export interface WindowDuration {
  readonly text: string;
  readonly days: number;
  readonly exactMs: number;
}

/** A window longer than a week is a misconfiguration (use allow_disruptive_outside_window instead). */
export const MAX_WINDOW_DAYS = 7;

const PATTERN = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Parses `text`; throws WindowError `invalid_duration` saying what was wrong and what was seen. */
export function parseDuration(text: string): WindowDuration {
  const seen = JSON.stringify(text);
  const m = PATTERN.exec(text);
  if (!m || text === "P" || text.endsWith("T")) {
    throw new WindowError("invalid_duration", `duration must be ISO 8601 such as "PT4H", "PT90M" or "P1DT2H": saw ${seen}`);
  }
  const [, years, months, weeks, days, hours, minutes, seconds] = m;
  if (years !== undefined || months !== undefined) {
    throw new WindowError("invalid_duration", `duration must not use years or months (their length varies); use days or weeks: saw ${seen}`);
  }
  const n = (s: string | undefined): number => (s === undefined ? 0 : Number(s));
  const totalDays = n(weeks) * 7 + n(days);
  const exactMs = ((n(hours) * 60 + n(minutes)) * 60 + n(seconds)) * 1000;
  if (totalDays === 0 && exactMs === 0) {
    throw new WindowError("invalid_duration", `duration must be longer than zero: saw ${seen}`);
  }
  if (totalDays * 86_400_000 + exactMs > MAX_WINDOW_DAYS * 86_400_000) {
    throw new WindowError("invalid_duration", `duration must be at most ${MAX_WINDOW_DAYS} days: saw ${seen}`);
  }
  return { text, days: totalDays, exactMs };
}
