/**
 * A billing month as a clinic lives it: from midnight of the 1st to midnight of the next 1st on the wall clock
 * of the clinic's site (`sites.timezone`, an IANA zone), not in UTC. A clinic in America/Los_Angeles that
 * enrols its appliance on the evening of 30 November local time (already 1 December in UTC) is billed for it
 * in November; one whose device goes away on the evening of 31 October is not billed for it in November.
 *
 * Plan dates (`starts_on`, `ends_on`) are calendar dates the MSP enters for the clinic, so they are already
 * local and the day counts of pro-rating need no zone; the zone decides which *instants* (enrolment,
 * revocation, device first seen / gone) belong to the month, and when the month is over.
 *
 * Wall time → instant (daylight saving included) is the appliance's maintenance-window code, the one place
 * the product converts zoned wall times.
 */
import { TimeZone } from "../../protocol/windows/windows.ts";
import { RelayError } from "../errors.ts";
import { monthBounds } from "./money.ts";

/** Zone used when a clinic has no site yet (and the default of `sites.timezone`). */
export const FALLBACK_ZONE = "UTC";

export interface MonthWindow {
  /** The IANA zone the window is in. */
  readonly zone: string;
  /** First instant of the month (ms since the epoch): local midnight of the 1st. */
  readonly start: number;
  /** First instant after the month: local midnight of the next month's 1st. */
  readonly end: number;
}

const wallMidnight = (date: string) => {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return { year, month, day, hour: 0, minute: 0, second: 0, millisecond: 0 };
};

/** The instants `month` (YYYY-MM) begins and ends in `zone`; throws RelayError `schema` for an unknown zone. */
export function monthWindow(month: string, zone: string): MonthWindow {
  const { first, next } = monthBounds(month);
  let tz: TimeZone;
  try {
    tz = TimeZone.of(zone);
  } catch (e) {
    throw new RelayError("schema", `timezone: cannot bill in ${JSON.stringify(zone)}: ${(e as Error).message}`, { timezone: zone });
  }
  return { zone, start: tz.toInstant(wallMidnight(first)), end: tz.toInstant(wallMidnight(next)) };
}

/** `2026-12-01T08:00:00Z`: an instant to the second, as statements and errors print it. */
export const utcSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
