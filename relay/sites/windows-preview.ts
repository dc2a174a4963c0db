/**
 * Maintenance window preview for the settings editor: the next occurrences of an RRULE + duration + time
 * zone, computed by the same window code the appliance enforces (protocol/windows/windows.ts — pure: `rrule` and `Intl`, no
 * Node APIs), so the preview shows exactly what the appliance's gate will do. Each occurrence comes with a
 * human-readable line in the window's zone, and the rule with a one-sentence description.
 */
import { nextWindows, parseWindow, WindowError, type WindowOccurrence } from "../../protocol/windows/windows.ts";
import { RelayError } from "../errors.ts";

/** Most occurrences one preview lists. */
export const MAX_PREVIEW_COUNT = 20;
export const DEFAULT_PREVIEW_COUNT = 5;

export interface WindowPreview {
  /** One sentence, e.g. "Every Saturday at 02:00 for 4 hours (America/Chicago)". */
  description: string;
  windows: { start: string; end: string; text: string }[];
}

const WEEKDAYS: Readonly<Record<string, string>> = { MO: "Monday", TU: "Tuesday", WE: "Wednesday", TH: "Thursday", FR: "Friday", SA: "Saturday", SU: "Sunday" };
const ORDINALS: Readonly<Record<string, string>> = { "1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth", "-1": "last" };

function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** "PT3H30M" → "3 hours 30 minutes" (the duration was validated by parseWindow). */
export function durationText(duration: string): string {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration);
  if (!m) return duration;
  const parts: string[] = [];
  const units = ["week", "day", "hour", "minute", "second"];
  m.slice(1).forEach((v, i) => {
    const n = Number(v ?? 0);
    if (n > 0) parts.push(`${n} ${units[i]}${n === 1 ? "" : "s"}`);
  });
  return parts.join(" ") || duration;
}

/** A plain-English sentence for the common rules; other rules are quoted as written. */
export function describeRule(rrule: string, duration: string, tz: string): string {
  const line = rrule.split(/\r?\n/).map((l) => l.trim()).find((l) => /^(RRULE:)?FREQ=/i.test(l)) ?? rrule;
  const parts = new Map(line.replace(/^RRULE:/i, "").split(";").map((p) => p.split("=") as [string, string]).map(([k, v]) => [k.toUpperCase(), v ?? ""]));
  const interval = Number(parts.get("INTERVAL") ?? "1");
  const hours = (parts.get("BYHOUR") ?? "0").split(",");
  const minutes = (parts.get("BYMINUTE") ?? "0").split(",");
  const times = hours.flatMap((h) => minutes.map((mi) => `${h.padStart(2, "0")}:${mi.padStart(2, "0")}`));
  const days = (parts.get("BYDAY") ?? "").split(",").filter(Boolean);
  let when: string | null = null;
  const freq = parts.get("FREQ");
  const simple = [...parts.keys()].every((k) => ["FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE", "BYMONTHDAY", "WKST"].includes(k));
  if (simple && freq === "DAILY" && days.length === 0) when = interval === 1 ? "Every day" : `Every ${interval} days`;
  else if (simple && freq === "WEEKLY" && days.length > 0 && days.every((d) => WEEKDAYS[d])) when = `${interval === 1 ? "Every" : `Every ${interval} weeks on`} ${list(days.map((d) => WEEKDAYS[d]!))}`;
  else if (simple && freq === "DAILY" && days.length > 0 && days.every((d) => WEEKDAYS[d])) when = `Every ${list(days.map((d) => WEEKDAYS[d]!))}`;
  else if (simple && freq === "MONTHLY" && days.length === 1 && !parts.has("BYMONTHDAY")) {
    const m = /^([+-]?\d)([A-Z]{2})$/.exec(days[0]!);
    if (m && ORDINALS[m[1]!.replace("+", "")] && WEEKDAYS[m[2]!]) when = `On the ${ORDINALS[m[1]!.replace("+", "")]} ${WEEKDAYS[m[2]!]} of every ${interval === 1 ? "month" : `${interval} months`}`;
  } else if (simple && freq === "MONTHLY" && parts.has("BYMONTHDAY") && days.length === 0) when = `On day ${list(parts.get("BYMONTHDAY")!.split(","))} of every ${interval === 1 ? "month" : `${interval} months`}`;
  const head = when ?? `Repeats by the rule ${line}`;
  return `${head} at ${list(times)} for ${durationText(duration)} (${tz})`;
}

/**
 * "Sat 28 Nov, 02:00–06:00 CST", with the end date when the window crosses midnight, and the zone name at
 * both ends when a daylight-saving change falls inside the window ("23:00 GMT–03:00 GMT+1").
 */
export function occurrenceText(o: WindowOccurrence, tz: string): string {
  const date = new Intl.DateTimeFormat("en-GB", { timeZone: tz, weekday: "short", day: "numeric", month: "short" });
  const time = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const zoneName = (d: Date) => new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "short" }).formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? tz;
  const [startZone, endZone] = [zoneName(o.start), zoneName(o.end)];
  const sameDay = date.format(o.start) === date.format(o.end);
  const start = `${date.format(o.start)}, ${time.format(o.start)}${startZone === endZone ? "" : ` ${startZone}`}`;
  return `${start}–${sameDay ? "" : `${date.format(o.end)}, `}${time.format(o.end)} ${endZone}`;
}

/** The next `count` occurrences (from `now`). RelayError `schema` naming the problem for a bad window. */
export function previewWindows(spec: { rrule: string; duration: string; tz: string }, now: Date, count = DEFAULT_PREVIEW_COUNT): WindowPreview {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) throw new RelayError("schema", `count: 1 to ${MAX_PREVIEW_COUNT}: current value is ${count}`);
  let occurrences: WindowOccurrence[];
  try {
    occurrences = nextWindows(parseWindow(spec), now, count);
  } catch (e) {
    if (e instanceof WindowError) throw new RelayError("schema", e.message, { field: e.code === "invalid_zone" ? "tz" : e.code === "invalid_duration" ? "duration" : "rrule" });
    throw e;
  }
  return {
    description: describeRule(spec.rrule, spec.duration, spec.tz),
    windows: occurrences.map((o) => ({ start: o.start.toISOString(), end: o.end.toISOString(), text: occurrenceText(o, spec.tz) })),
  };
}
