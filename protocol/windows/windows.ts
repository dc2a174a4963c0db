/**
 * Maintenance windows: when disruptive healing steps may run.
 *
 * A window is an RRULE (RFC 5545) + an ISO 8601 duration + an IANA time zone, e.g. "FREQ=WEEKLY;BYDAY=SA;
 * BYHOUR=22" + "PT4H" + "America/New_York". The RRULE's times are wall-clock times in that zone. `rrule`'s own
 * TZID support converts through the host's zone and goes wrong around DST, so we let it generate *floating*
 * wall-clock times (UTC fields standing for local fields) and convert each one to the real instant with Intl
 * (zone.ts: gap → shifted forward, overlap → first). The appliance's gate (`appliance/heal/gates.ts`) and
 * `osiris windows preview` both call these functions, so the preview shows exactly what the gate will do.
 */
import { parseDuration, type WindowDuration } from "./duration.ts";
import { WindowError } from "./error.ts";
import { parseRule, RRule, type ParsedRule } from "./rrule.ts";
import { floatingMs, floatingWall, formatOffsetIso, TimeZone } from "./zone.ts";

export { formatOffsetIso, TimeZone } from "./zone.ts";
export { WindowError, type WindowErrorCode } from "./error.ts";
export { MAX_WINDOW_DAYS } from "./duration.ts";

/** A window as written in config: `tz` is the site's zone unless the window names its own. */
export interface WindowSpec {
  rrule: string;
  duration: string;
  tz: string;
}

/** One occurrence of a window: `start` inclusive, `end` exclusive. */
export interface WindowOccurrence {
  start: Date;
  end: Date;
}

/** Where `at` falls relative to a set of windows. */
export interface WindowStatus {
  inside: boolean;
  /** The occurrence containing `at` (the one ending last, if several overlap). */
  current?: WindowOccurrence;
  /** The first occurrence starting after `at`. */
  next?: WindowOccurrence;
}

/** Most occurrences one call returns; a preview or a gate never needs more. */
export const MAX_WINDOWS_PER_CALL = 1000;
/** How far ahead we look for occurrences: a rule whose next window is further away than this is a misconfiguration. */
export const SEARCH_HORIZON_DAYS = 10 * 366;
const DAY_MS = 86_400_000;
/** Floating start of the span parseWindow scans to prove an open-ended rule ever produces a window. */
const PROBE_FROM = Date.UTC(2000, 0, 1);

/** A parsed, validated maintenance window. Build with `parseWindow`. */
export class MaintenanceWindow {
  readonly #rule: ParsedRule;

  constructor(
    readonly spec: Readonly<WindowSpec>,
    readonly zone: TimeZone,
    readonly duration: WindowDuration,
    rule: ParsedRule,
  ) {
    this.#rule = rule;
  }

  /**
   * Occurrences whose end is after `from`, in start order, collected until `more(found)` returns false or the
   * search horizon is passed.
   */
  scan(from: Date, more: (found: readonly WindowOccurrence[]) => boolean): WindowOccurrence[] {
    const fromMs = from.getTime();
    if (!Number.isFinite(fromMs)) throw new RangeError(`Cannot look up windows from an invalid Date: current value is ${String(from)}`);
    const fromFloating = fromMs + this.zone.offsetMs(fromMs);
    // An occurrence that started up to one window length (+ a day for offsets) before `from` may still be open.
    const lo = startOfDay(fromFloating - (this.duration.days + 2) * DAY_MS - this.duration.exactMs);
    return this.#collect(lo, fromFloating + SEARCH_HORIZON_DAYS * DAY_MS, (occ, found) => {
      if (occ.end.getTime() > fromMs) found.push(occ);
      return more(found);
    });
  }

  /** The occurrence for one floating RRULE date. */
  occurrenceAt(floating: Date): WindowOccurrence {
    const wall = floatingWall(floating.getTime());
    const start = this.zone.toInstant(wall);
    const endBase = this.duration.days === 0 ? start : this.zone.toInstant(floatingWall(floatingMs(wall) + this.duration.days * DAY_MS));
    return { start: new Date(start), end: new Date(endBase + this.duration.exactMs) };
  }

  /** Runs the rule over floating [lo, hi]; `visit` returns false to stop. Results sorted by start, de-duplicated. */
  #collect(lo: number, hi: number, visit: (occ: WindowOccurrence, found: WindowOccurrence[]) => boolean): WindowOccurrence[] {
    const found: WindowOccurrence[] = [];
    // Without DTSTART the rule names every day and time itself (rrule.ts), so any start at or before
    // `lo` gives the same occurrences; starting at `lo` keeps each look-up short. `noCache`: a long-lived window
    // asked about ever-new instants would otherwise grow rrule's memo without bound.
    const rule = new RRule({ ...this.#rule.options, dtstart: this.#rule.dtstart ?? new Date(lo) }, true);
    rule.between(new Date(lo), new Date(hi), true, (date: Date) => visit(this.occurrenceAt(date), found));
    // Several wall times in one spring-forward gap can map onto or past a later one; keep the order strict.
    found.sort((a, b) => a.start.getTime() - b.start.getTime() || a.end.getTime() - b.end.getTime());
    return found.filter((o, i) => i === 0 || o.start.getTime() !== found[i - 1]!.start.getTime());
  }

  /** True when the rule produces at least one occurrence (checked over ten years from its start). */
  occursAtAll(): boolean {
    const lo = this.#rule.dtstart?.getTime() ?? PROBE_FROM;
    return this.#collect(lo, lo + SEARCH_HORIZON_DAYS * DAY_MS, (occ, found) => (found.push(occ), false)).length > 0;
  }

  /** True when the rule has COUNT or UNTIL. */
  get bounded(): boolean {
    return this.#rule.bounded;
  }
}

/**
 * Validates and parses a window. Throws WindowError (`invalid_rrule`, `unsupported_rrule`, `invalid_zone`,
 * `invalid_duration`) with a message that says what was wrong and what was seen.
 */
export function parseWindow(spec: WindowSpec): MaintenanceWindow {
  const zone = TimeZone.of(spec.tz);
  const duration = parseDuration(spec.duration);
  const rule = parseRule(spec.rrule, zone);
  const window = new MaintenanceWindow({ ...spec }, zone, duration, rule);
  if (!window.bounded && !window.occursAtAll()) {
    throw new WindowError("invalid_rrule", `RRULE never produces a window (e.g. a date that does not exist): saw ${JSON.stringify(spec.rrule)}`);
  }
  return window;
}

/**
 * The next `count` occurrences of `window` that end after `from`, in start order. A window already open at
 * `from` is included (its start is before `from`). Fewer are returned when the rule ends or its next
 * occurrence is beyond the search horizon.
 */
export function nextWindows(window: MaintenanceWindow, from: Date, count: number): WindowOccurrence[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_WINDOWS_PER_CALL) {
    throw new RangeError(`Cannot list windows as 'count' must be an integer from 1 to ${MAX_WINDOWS_PER_CALL}: current value is ${count}`);
  }
  return window.scan(from, (found) => found.length < count).slice(0, count);
}

/**
 * Whether `at` is inside any of `windows` (start inclusive, end exclusive), the occurrence it is in, and the
 * first occurrence of any window starting after `at` (when a deferred step can run).
 */
export function isInWindow(windows: readonly MaintenanceWindow[], at: Date): WindowStatus {
  const atMs = at.getTime();
  let current: WindowOccurrence | undefined;
  let next: WindowOccurrence | undefined;
  for (const window of windows) {
    const found = window.scan(at, (list) => !list.some((o) => o.start.getTime() > atMs));
    for (const occ of found) {
      const start = occ.start.getTime();
      if (start <= atMs && atMs < occ.end.getTime()) {
        if (current === undefined || occ.end.getTime() > current.end.getTime()) current = occ;
      } else if (start > atMs && (next === undefined || start < next.start.getTime())) {
        next = occ;
      }
    }
  }
  const status: WindowStatus = { inside: current !== undefined };
  if (current) status.current = current;
  if (next) status.next = next;
  return status;
}

function startOfDay(floating: number): number {
  return Math.floor(floating / DAY_MS) * DAY_MS;
}

/** `formatOffsetIso` for each end of an occurrence: `START END`, the preview's line format. */
export function formatOccurrence(occ: WindowOccurrence, zone: TimeZone): string {
  return `${formatOffsetIso(occ.start, zone)} ${formatOffsetIso(occ.end, zone)}`;
}
