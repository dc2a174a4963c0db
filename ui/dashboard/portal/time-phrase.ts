/**
 * Short, plain time phrases for clinic staff, in the clinic's own time zone: "today 14:00", "tomorrow
 * 02:00", "Sat 02:00" (within the coming week), "Sat 12 Dec 02:00" (further away; the year only when it is
 * not this one). The same wording as the appliance's status page, with a 24-hour clock so a phrase never
 * depends on a locale's AM/PM rules. Pure: `now` is passed in. Uses Intl (no zone database in the bundle).
 */

const DAY_MS = 86_400_000;
/** A future time up to this many days ahead is named by its weekday alone ("Sat 02:00"). */
const WEEKDAY_ONLY_DAYS = 6;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;
const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"] as const;

interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** Days since 1970-01-01 of the local calendar date. */
  dayNumber: number;
  weekday: number;
}

function local(instant: number, timeZone: string): Local {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", hourCycle: "h23" }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  const [year, month, day] = [get("year"), get("month"), get("day")];
  const midnight = Date.UTC(year, month - 1, day);
  return { year, month, day, hour: get("hour"), minute: get("minute"), dayNumber: Math.round(midnight / DAY_MS), weekday: new Date(midnight).getUTCDay() };
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** "today 14:00" / "tomorrow 02:00" / "yesterday 23:40" / "Sat 02:00" / "Sat 12 Dec 02:00". Throws RangeError for an unknown zone. */
export function timePhrase(instant: number, now: number, timeZone: string): string {
  const t = local(instant, timeZone);
  const n = local(now, timeZone);
  const clock = `${pad2(t.hour)}:${pad2(t.minute)}`;
  const days = t.dayNumber - n.dayNumber;
  if (days === 0) return `today ${clock}`;
  if (days === 1) return `tomorrow ${clock}`;
  if (days === -1) return `yesterday ${clock}`;
  const weekday = WEEKDAYS[t.weekday]!;
  if (days > 0 && days <= WEEKDAY_ONLY_DAYS) return `${weekday} ${clock}`;
  return `${weekday} ${t.day} ${MONTHS[t.month - 1]!}${t.year === n.year ? "" : ` ${t.year}`} ${clock}`;
}

/** `timePhrase`, falling back to the viewer's zone when the site's zone is unknown to this browser. */
export function sitePhrase(iso: string, now: number, timeZone: string): string {
  try {
    return timePhrase(Date.parse(iso), now, timeZone);
  } catch {
    return timePhrase(Date.parse(iso), now, Intl.DateTimeFormat().resolvedOptions().timeZone);
  }
}

/** "2026-10" → "October 2026" (the text itself when it is not a month). */
export function monthName(month: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  const name = m ? MONTH_NAMES[Number(m[2]) - 1] : undefined;
  return m && name ? `${name} ${m[1]}` : month;
}
