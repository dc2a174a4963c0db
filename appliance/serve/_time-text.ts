/**
 * Short, plain time phrases for the status page, in the clinic's zone: "today 10:15", "yesterday 23:40",
 * "Sat 02:00" (within the coming week), "Wed 25 Nov 10:15" (further away). 24-hour clock, so a phrase never
 * depends on a locale's AM/PM rules. Pure: the caller passes `now`.
 */
import { formatOffsetIso, type TimeZone } from "../heal/index.ts";
import type { TimeText } from "./status-types.ts";

const DAY_MS = 86_400_000;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;
/** A future time up to this many days ahead is named by its weekday alone ("Sat 02:00"). */
const WEEKDAY_ONLY_DAYS = 6;

const pad2 = (n: number) => String(n).padStart(2, "0");

/** The local calendar day number (days since 1970-01-01 in the zone) and the wall time of `instant`. */
function local(zone: TimeZone, instant: number) {
  const wall = zone.wallTime(instant);
  // The local date's midnight as if it were UTC: a day count and weekday that ignore the zone's offset.
  const midnight = Date.UTC(wall.year, wall.month - 1, wall.day);
  return { wall, day: Math.round(midnight / DAY_MS), weekday: new Date(midnight).getUTCDay() };
}

/** "today 10:15" / "yesterday 23:40" / "Sat 02:00" (coming days) / "Wed 25 Nov 10:15" (anything else). */
export function timePhrase(instant: number, now: number, zone: TimeZone): string {
  const t = local(zone, instant);
  const n = local(zone, now);
  const clock = `${pad2(t.wall.hour)}:${pad2(t.wall.minute)}`;
  const days = t.day - n.day;
  if (days === 0) return `today ${clock}`;
  if (days === -1) return `yesterday ${clock}`;
  const weekday = WEEKDAYS[t.weekday]!;
  if (days > 0 && days <= WEEKDAY_ONLY_DAYS) return `${weekday} ${clock}`;
  return `${weekday} ${t.wall.day} ${MONTHS[t.wall.month - 1]!}${t.wall.year === n.wall.year ? "" : ` ${t.wall.year}`} ${clock}`;
}

/** `timePhrase` plus the ISO 8601 time with the zone's offset. */
export function timeText(instant: number, now: number, zone: TimeZone): TimeText {
  return { at: formatOffsetIso(new Date(instant), zone), text: timePhrase(instant, now, zone) };
}

/** "02:00" — the wall clock time alone (the end of a window that starts the same day). */
export function clockPhrase(instant: number, zone: TimeZone): string {
  const w = zone.wallTime(instant);
  return `${pad2(w.hour)}:${pad2(w.minute)}`;
}

/** Whether two instants fall on the same local calendar day. */
export function sameLocalDay(a: number, b: number, zone: TimeZone): boolean {
  return local(zone, a).day === local(zone, b).day;
}
