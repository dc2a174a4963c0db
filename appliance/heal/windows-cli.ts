/**
 * `osiris windows preview`: prints the next maintenance windows of a rule, one `START END` line each (ISO 8601
 * with the zone's offset), computed by the same `nextWindows` the healing gate uses, so an MSP can check a
 * rule before deploying it. Invalid input → one line on stderr and exit code 2.
 */
import { parseArgs } from "node:util";
import { formatOccurrence, MAX_WINDOWS_PER_CALL, nextWindows, parseWindow, WindowError } from "../../protocol/windows/windows.ts";
import { floatingMs, TimeZone } from "../../protocol/windows/zone.ts";

export const summary = "print the next maintenance windows of an RRULE + duration + time zone";

const DEFAULT_COUNT = 10;
const USAGE = `Usage: osiris windows preview --rrule RULE --duration ISO8601 --tz ZONE [--from ISO] [--count N]

  --rrule     RFC 5545 rule, e.g. "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2;BYHOUR=22" (optionally "DTSTART:...\\nRRULE:...")
  --duration  ISO 8601 duration, e.g. PT4H (hours are elapsed time; days are calendar days)
  --tz        IANA time zone of the site, e.g. America/New_York
  --from      start looking here (ISO 8601; without an offset it is a wall-clock time in --tz); default: now
  --count     how many windows, 1..${MAX_WINDOWS_PER_CALL} (default ${DEFAULT_COUNT})

Prints one line per window: START END, ISO 8601 with the zone's offset. A window open at --from is included.`;

/** Runs the command; `now` is injectable for tests of the default --from. */
export async function run(args: string[], now: () => Date = () => new Date()): Promise<number> {
  const name = "osiris windows preview";
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        rrule: { type: "string" },
        duration: { type: "string" },
        tz: { type: "string" },
        from: { type: "string" },
        count: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const missing = (["rrule", "duration", "tz"] as const).filter((k) => values[k] === undefined);
    if (missing.length > 0) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(", ")} (see --help)`);
    const window = parseWindow({ rrule: values.rrule!, duration: values.duration!, tz: values.tz! });
    const count = parseCount(values.count);
    const from = values.from === undefined ? now() : parseFrom(values.from, window.zone);
    for (const occ of nextWindows(window, from, count)) console.log(formatOccurrence(occ, window.zone));
    return 0;
  } catch (e) {
    if (e instanceof WindowError || e instanceof UsageError || e instanceof RangeError) {
      console.error(`${name}: ${e.message.split("\n").join(" ")}`);
      return 2;
    }
    throw e;
  }
}

class UsageError extends Error {}

function parseCount(text: string | undefined): number {
  if (text === undefined) return DEFAULT_COUNT;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_WINDOWS_PER_CALL)) throw new UsageError(`--count must be an integer from 1 to ${MAX_WINDOWS_PER_CALL}: saw ${JSON.stringify(text)}`);
  return n;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** An ISO 8601 instant; without an offset (or a date only) it is a wall-clock time in `zone`. */
function parseFrom(text: string, zone: TimeZone): Date {
  const m = ISO.exec(text);
  const bad = () => new UsageError(`--from must be ISO 8601 such as 2026-03-01T00:00:00Z or 2026-03-01T09:00 (local to --tz): saw ${JSON.stringify(text)}`);
  if (!m) throw bad();
  const [, y, mo, d, h, mi, s, ms, offset] = m;
  const wall = {
    year: Number(y), month: Number(mo), day: Number(d), hour: Number(h ?? 0), minute: Number(mi ?? 0),
    second: Number(s ?? 0), millisecond: Number((ms ?? "0").padEnd(3, "0")),
  };
  const floating = floatingMs(wall);
  const back = new Date(floating);
  if (back.getUTCMonth() + 1 !== wall.month || back.getUTCDate() !== wall.day || wall.hour > 23 || wall.minute > 59 || wall.second > 59) throw bad();
  if (offset === undefined) return new Date(zone.toInstant(wall));
  if (offset.toUpperCase() === "Z") return new Date(floating);
  const sign = offset.startsWith("-") ? -1 : 1;
  const offsetMs = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;
  return new Date(floating - offsetMs);
}
