/**
 * Wall-clock time ↔ instant in an IANA time zone, using only `Intl` (no tz database of our own).
 *
 * A maintenance window says "22:00 on Saturdays in America/New_York": the RRULE produces wall-clock times and
 * this module turns each into the real instant. Two cases have no single answer, and we resolve them the way
 * RFC 5545 §3.3.5 and Temporal's "compatible" disambiguation do:
 * - a wall time in the spring-forward gap (02:30 when clocks jump 02:00 → 03:00) does not exist; it is shifted
 *   forward by the length of the gap (→ 03:30 daylight time);
 * - a wall time in the fall-back overlap (01:30 when clocks go 02:00 → 01:00) happens twice; we take the first.
 */
import { WindowError } from "./error.ts";

/** A calendar date and time of day with no zone attached. `month` is 1–12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Years we convert; outside this range `Intl` and `Date` disagree about eras and the answers are useless. */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

/** Milliseconds since the epoch of `wall` read as if it were UTC (the "floating" representation). */
export function floatingMs(wall: WallTime): number {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 onto 1900–1999.
  d.setUTCFullYear(wall.year, wall.month - 1, wall.day);
  d.setUTCHours(wall.hour, wall.minute, wall.second, wall.millisecond);
  return d.getTime();
}

/** The wall time whose floating representation is `ms` (the inverse of floatingMs). */
export function floatingWall(ms: number): WallTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

/** One IANA time zone. Holds its `Intl.DateTimeFormat`, which is costly to build, so callers keep one per zone. */
export class TimeZone {
  readonly #format: Intl.DateTimeFormat;

  private constructor(
    readonly name: string,
    format: Intl.DateTimeFormat,
  ) {
    this.#format = format;
  }

  /** The zone called `name` (e.g. `Europe/Berlin`, `UTC`); throws WindowError `invalid_zone` if Intl does not know it. */
  static of(name: string): TimeZone {
    // Intl also accepts raw offsets such as "+05:00" on newer runtimes; a site zone must be a named zone so
    // that daylight saving follows the law of the place, not a fixed offset.
    if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) {
      throw new WindowError("invalid_zone", `time zone must be an IANA zone name such as "Europe/Berlin": saw ${JSON.stringify(name)}`);
    }
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new WindowError("invalid_zone", `unknown time zone ${JSON.stringify(name)}: expected an IANA zone name such as "America/New_York"`);
    }
    return new TimeZone(name, format);
  }

  /** The wall time in this zone at `instant` (ms since the epoch). */
  wallTime(instant: number): WallTime {
    checkRange(instant);
    const fields: Record<string, string> = {};
    for (const part of this.#format.formatToParts(new Date(instant))) fields[part.type] = part.value;
    return {
      year: Number(fields.year),
      month: Number(fields.month),
      day: Number(fields.day),
      hour: Number(fields.hour),
      minute: Number(fields.minute),
      second: Number(fields.second),
      millisecond: mod(instant, 1000),
    };
  }

  /** The zone's offset from UTC at `instant`, in ms (e.g. -18000000 for New York in winter). */
  offsetMs(instant: number): number {
    return floatingMs(this.wallTime(instant)) - instant;
  }

  /**
   * The instant at which this zone's clocks show `wall`. Nonexistent times (spring-forward gap) move forward by
   * the gap; ambiguous times (fall-back overlap) resolve to the earlier instant.
   */
  toInstant(wall: WallTime): number {
    const local = floatingMs(wall);
    checkRange(local);
    // Offsets in force around the wall time. Zones change offset at most once in any two days in practice,
    // so the offsets a day before, at, and a day after cover every candidate.
    const before = this.offsetMs(local - DAY_MS);
    const candidates = new Set([before, this.offsetMs(local), this.offsetMs(local + DAY_MS)]);
    let best: number | undefined;
    for (const offset of candidates) {
      const instant = local - offset;
      if (instant + this.offsetMs(instant) === local && (best === undefined || instant < best)) best = instant;
    }
    if (best !== undefined) return best;
    // In a gap: read the wall time with the offset from before the transition, which lands the same distance
    // past the transition as the wall time is past the gap's start (02:30 EST-that-never-was → 03:30 EDT).
    return local - before;
  }
}

/**
 * `date` as ISO 8601 with the offset `tz` has at that instant: `2026-03-08T03:30:00-04:00`. Milliseconds
 * appear only when not zero; UTC is written `+00:00` (the zone's offset, not `Z`).
 */
export function formatOffsetIso(date: Date, tz: string | TimeZone): string {
  const zone = typeof tz === "string" ? TimeZone.of(tz) : tz;
  const instant = date.getTime();
  if (!Number.isFinite(instant)) throw new RangeError(`Cannot format an invalid Date: current value is ${String(date)}`);
  const wall = zone.wallTime(instant);
  const offset = Math.round((floatingMs(wall) - instant) / 1000);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  let zoneText = `${sign}${pad(Math.floor(abs / 3600), 2)}:${pad(Math.floor((abs % 3600) / 60), 2)}`;
  // Historical local mean time offsets have seconds; show them rather than print a wrong local time.
  if (abs % 60 !== 0) zoneText += `:${pad(abs % 60, 2)}`;
  const ms = wall.millisecond === 0 ? "" : `.${pad(wall.millisecond, 3)}`;
  return `${pad(wall.year, 4)}-${pad(wall.month, 2)}-${pad(wall.day, 2)}T${pad(wall.hour, 2)}:${pad(wall.minute, 2)}:${pad(wall.second, 2)}${ms}${zoneText}`;
}

function checkRange(ms: number): void {
  const year = new Date(ms).getUTCFullYear();
  if (!Number.isFinite(ms) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new RangeError(`Cannot convert times outside the years ${MIN_YEAR}–${MAX_YEAR}: current value is ${Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)}`);
  }
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
