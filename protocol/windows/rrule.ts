/**
 * Strict reading of the RRULE text of a maintenance window (RFC 5545 §3.3.10), into `rrule` package options.
 *
 * The `rrule` package's own parser accepts nonsense silently (`FREQ=FOO` becomes an empty rule, `BYHOUR=25`
 * passes), so we check every part here and say which one is wrong. The text is one RRULE, optionally with a
 * `DTSTART` line before it; `DTSTART` is a wall-clock time in the window's zone (no `Z`; a `TZID` must name
 * the same zone). Without `DTSTART` the time of day is BYHOUR/BYMINUTE/BYSECOND (default 00:00:00) and the
 * rule must name its days itself, because the phase would otherwise depend on an invented start date.
 */
import * as rruleModule from "rrule";
import type { Options, Weekday } from "rrule";
import { WindowError } from "./error.ts";
import { floatingMs, type TimeZone, type WallTime } from "./zone.ts";

// rrule publishes a UMD bundle as "main": Node's ESM loader exposes its CommonJS exports only as `default`,
// while its types (and bundlers) describe named exports. Accept both shapes.
const rrule: typeof rruleModule = (rruleModule as unknown as { default?: typeof rruleModule }).default ?? rruleModule;
export const RRule = rrule.RRule;

/** The rule, ready for `new RRule(...)`; `dtstart` is the floating DTSTART when the text had one. */
export interface ParsedRule {
  readonly options: Partial<Options>;
  readonly dtstart: Date | undefined;
  /** True when the rule has COUNT or UNTIL (it may end). */
  readonly bounded: boolean;
}

/** Sub-daily frequencies make no sense for maintenance windows and would make every look-up iterate millions of times. */
const FREQUENCIES = { DAILY: rrule.RRule.DAILY, WEEKLY: rrule.RRule.WEEKLY, MONTHLY: rrule.RRule.MONTHLY, YEARLY: rrule.RRule.YEARLY } as const;
const WEEKDAYS: Record<string, Weekday> = {
  MO: rrule.RRule.MO, TU: rrule.RRule.TU, WE: rrule.RRule.WE, TH: rrule.RRule.TH, FR: rrule.RRule.FR, SA: rrule.RRule.SA, SU: rrule.RRule.SU,
};
/** Largest INTERVAL and COUNT we accept: beyond these a rule is a typo, not a schedule. */
const MAX_INTERVAL = 1000;
const MAX_COUNT = 100_000;
const PARTS = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSETPOS", "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND", "WKST"];

function fail(message: string): never {
  throw new WindowError("invalid_rrule", message);
}

/** Parses the RRULE text (with optional DTSTART line) for a window in `zone`. */
export function parseRule(text: string, zone: TimeZone): ParsedRule {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  let dtstart: Date | undefined;
  let ruleLine: string | undefined;
  for (const line of lines) {
    const upper = line.toUpperCase();
    if (upper.startsWith("DTSTART")) {
      if (dtstart !== undefined) fail(`RRULE text has more than one DTSTART line: saw ${JSON.stringify(text)}`);
      dtstart = parseDtstart(line, zone);
    } else if (upper.startsWith("RRULE:") || !line.includes(":")) {
      if (ruleLine !== undefined) fail(`RRULE text has more than one rule; write one window per rule: saw ${JSON.stringify(text)}`);
      ruleLine = upper.startsWith("RRULE:") ? line.slice("RRULE:".length) : line;
    } else {
      fail(`RRULE text may hold only a DTSTART line and an RRULE line: saw ${JSON.stringify(line)}`);
    }
  }
  if (ruleLine === undefined) fail(`RRULE is empty; expected e.g. "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22": saw ${JSON.stringify(text)}`);
  return { ...parseParts(ruleLine, zone, dtstart !== undefined), dtstart };
}

function parseDtstart(line: string, zone: TimeZone): Date {
  const m = /^DTSTART(?:;TZID=([^:;]+)|;VALUE=DATE)?:(\d{8})(?:T(\d{6})(Z?))?$/i.exec(line);
  if (!m) fail(`DTSTART must look like "DTSTART:20260103T220000": saw ${JSON.stringify(line)}`);
  const [, tzid, date, time, utc] = m;
  if (utc) fail(`DTSTART must be a wall-clock time in the window's zone ${zone.name}, without "Z": saw ${JSON.stringify(line)}`);
  if (tzid !== undefined && tzid !== zone.name) fail(`DTSTART TZID ${tzid} differs from the window's zone ${zone.name}: saw ${JSON.stringify(line)}`);
  return new Date(floatingMs(dateTime(date!, time ?? "000000", line)));
}

function dateTime(date: string, time: string, seen: string): WallTime {
  const wall: WallTime = {
    year: Number(date.slice(0, 4)), month: Number(date.slice(4, 6)), day: Number(date.slice(6, 8)),
    hour: Number(time.slice(0, 2)), minute: Number(time.slice(2, 4)), second: Number(time.slice(4, 6)), millisecond: 0,
  };
  const back = new Date(floatingMs(wall));
  if (back.getUTCMonth() + 1 !== wall.month || back.getUTCDate() !== wall.day || wall.hour > 23 || wall.minute > 59 || wall.second > 59) {
    fail(`not a valid date and time: saw ${JSON.stringify(seen)}`);
  }
  return wall;
}

function parseParts(line: string, zone: TimeZone, hasDtstart: boolean): Omit<ParsedRule, "dtstart"> {
  const parts = new Map<string, string>();
  for (const part of line.split(";")) {
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? "" : part.slice(eq + 1).toUpperCase();
    if (!PARTS.includes(key)) fail(`unknown RRULE part ${JSON.stringify(key)} (known: ${PARTS.join(", ")}): saw ${JSON.stringify(line)}`);
    if (value === "") fail(`RRULE part ${key} has no value: saw ${JSON.stringify(line)}`);
    if (parts.has(key)) fail(`RRULE part ${key} appears twice: saw ${JSON.stringify(line)}`);
    parts.set(key, value);
  }
  const freqText = parts.get("FREQ");
  if (freqText === undefined) fail(`RRULE needs FREQ (DAILY, WEEKLY, MONTHLY or YEARLY): saw ${JSON.stringify(line)}`);
  if (["HOURLY", "MINUTELY", "SECONDLY"].includes(freqText)) {
    throw new WindowError("unsupported_rrule", `maintenance windows repeat at most daily; FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY (use BYHOUR for several a day): saw FREQ=${freqText}`);
  }
  if (!(freqText in FREQUENCIES)) fail(`FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY: saw FREQ=${freqText}`);
  const freq = freqText as keyof typeof FREQUENCIES;
  const has = (k: string) => parts.has(k);

  const options: Partial<Options> = { freq: FREQUENCIES[freq], tzid: null };
  const ints = (key: string, min: number, max: number, signed: boolean): number[] | undefined => {
    const value = parts.get(key);
    if (value === undefined) return undefined;
    return value.split(",").map((item) => {
      const n = /^[+-]?\d+$/.test(item) ? Number(item) : NaN;
      const ok = Number.isInteger(n) && (signed ? n !== 0 && Math.abs(n) >= min && Math.abs(n) <= max : n >= min && n <= max);
      if (!ok) fail(`${key} values must be ${signed ? `±${min}..${max}, not 0` : `${min}..${max}`}: saw ${key}=${value}`);
      return n;
    });
  };
  const single = (key: string, max: number): number | undefined => {
    const list = ints(key, 1, max, false);
    if (list !== undefined && list.length !== 1) fail(`${key} takes one value: saw ${key}=${parts.get(key)}`);
    return list?.[0];
  };

  options.interval = single("INTERVAL", MAX_INTERVAL) ?? 1;
  const count = single("COUNT", MAX_COUNT);
  if (count !== undefined) options.count = count;
  if (has("UNTIL") && has("COUNT")) fail(`RRULE may have UNTIL or COUNT, not both: saw ${JSON.stringify(line)}`);
  const until = parts.get("UNTIL");
  if (until !== undefined) options.until = parseUntil(until, zone);
  if (!hasDtstart && (options.interval > 1 || count !== undefined)) {
    fail(`RRULE with ${count !== undefined ? "COUNT" : "INTERVAL>1"} needs a DTSTART line to fix where it starts, e.g. "DTSTART:20260103T220000\\nRRULE:${line}"`);
  }

  const bysetpos = ints("BYSETPOS", 1, 366, true);
  const bymonth = ints("BYMONTH", 1, 12, false);
  const bymonthday = ints("BYMONTHDAY", 1, 31, true);
  const byyearday = ints("BYYEARDAY", 1, 366, true);
  const byweekno = ints("BYWEEKNO", 1, 53, true);
  const byhour = ints("BYHOUR", 0, 23, false);
  const byminute = ints("BYMINUTE", 0, 59, false);
  const bysecond = ints("BYSECOND", 0, 59, false);
  const byweekday = parseByday(parts.get("BYDAY"), freq, has("BYWEEKNO"));
  if (bymonthday && freq === "WEEKLY") fail(`BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545): saw ${JSON.stringify(line)}`);
  if (byyearday && freq !== "YEARLY") fail(`BYYEARDAY needs FREQ=YEARLY: saw ${JSON.stringify(line)}`);
  if (byweekno && freq !== "YEARLY") fail(`BYWEEKNO needs FREQ=YEARLY: saw ${JSON.stringify(line)}`);
  if (bysetpos && !(bymonth || bymonthday || byyearday || byweekno || byweekday || byhour || byminute || bysecond)) {
    fail(`BYSETPOS needs another BY part to select from (e.g. BYDAY): saw ${JSON.stringify(line)}`);
  }
  const wkst = parts.get("WKST");
  if (wkst !== undefined) {
    const day = WEEKDAYS[wkst];
    if (day === undefined) fail(`WKST must be one of MO TU WE TH FR SA SU: saw WKST=${wkst}`);
    options.wkst = day;
  }
  if (!hasDtstart) {
    // Without DTSTART, `rrule` would take the missing days from the start date we iterate from, which is an
    // implementation detail; make the rule name them instead.
    const namesDays = byweekday || bymonthday || byyearday || byweekno;
    if (!namesDays && freq !== "DAILY") {
      const hint = freq === "WEEKLY" ? "BYDAY (e.g. BYDAY=SA)" : "BYMONTHDAY or BYDAY (e.g. BYMONTHDAY=1)";
      fail(`FREQ=${freq} without DTSTART needs ${hint} to say which days: saw ${JSON.stringify(line)}`);
    }
  }
  if (bysetpos) options.bysetpos = bysetpos;
  if (bymonth) options.bymonth = bymonth;
  if (bymonthday) options.bymonthday = bymonthday;
  if (byyearday) options.byyearday = byyearday;
  if (byweekno) options.byweekno = byweekno;
  if (byweekday) options.byweekday = byweekday;
  // With DTSTART, missing time parts come from it (RFC 5545); without, the time of day defaults to 00:00:00.
  const midnight = hasDtstart ? undefined : [0];
  const hour = byhour ?? midnight;
  const minute = byminute ?? midnight;
  const second = bysecond ?? midnight;
  if (hour) options.byhour = hour;
  if (minute) options.byminute = minute;
  if (second) options.bysecond = second;
  return { options, bounded: count !== undefined || until !== undefined };
}

function parseByday(value: string | undefined, freq: keyof typeof FREQUENCIES, withWeekno: boolean): Weekday[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((item) => {
    const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
    if (!m) fail(`BYDAY values must be a weekday (MO..SU) with an optional ordinal such as 2TU or -1FR: saw BYDAY=${value}`);
    const day = WEEKDAYS[m[2]!]!;
    if (m[1] === undefined) return day;
    const n = Number(m[1]);
    const max = freq === "MONTHLY" ? 5 : 53;
    if ((freq !== "MONTHLY" && freq !== "YEARLY") || (freq === "YEARLY" && withWeekno)) {
      fail(`BYDAY ordinals such as ${item} need FREQ=MONTHLY or YEARLY (without BYWEEKNO): saw BYDAY=${value}`);
    }
    if (n === 0 || Math.abs(n) > max) fail(`BYDAY ordinal must be ±1..${max}, not 0, for FREQ=${freq}: saw ${item}`);
    return day.nth(n);
  });
}

/** UNTIL as a floating date. A UTC UNTIL ("...Z", as many tools write) is converted to the zone's wall time. */
function parseUntil(value: string, zone: TimeZone): Date {
  const m = /^(\d{8})(?:T(\d{6})(Z?))?$/.exec(value);
  if (!m) fail(`UNTIL must look like 20261231 or 20261231T235959Z: saw UNTIL=${value}`);
  const wall = dateTime(m[1]!, m[2] ?? "235959", `UNTIL=${value}`);
  const floating = floatingMs(wall);
  if (!m[3]) return new Date(floating);
  return new Date(floatingMs(zone.wallTime(floating)));
}
