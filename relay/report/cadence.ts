/**
 * How often the month's evidence shows each computer being checked. The interval is set per target in the
 * appliance's configuration (appliance/config/schema.ts, `interval_s`), which the relay never receives, so
 * the packet states what the signed evidence shows instead of a configured number it cannot know: per
 * computer, the median time between its check cycles in the month (a rescan after new drift or a gap while
 * the appliance was down moves a median little). Pure.
 */
import type { ResultSeries } from "./evidence-scan.ts";

export interface Cadence {
  /** Computers with at least two check cycles in the month. */
  computers: number;
  /** The median of the computers' medians, and the smallest and largest of them; null without computers. */
  median_ms: number | null;
  fastest_ms: number | null;
  slowest_ms: number | null;
}

/** The median of `values` (the mean of the middle two for an even count), null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The check cadence of the hosts in `series` (the scan's packed results) over [from, to). */
export function checkCadence(series: Iterable<ResultSeries>, from: number, to: number): Cadence {
  // One cycle checks several checks at one instant: a host's cycles are its distinct result times.
  const cycles = new Map<string, Set<number>>();
  for (const sr of series) {
    let times = cycles.get(sr.host_id);
    if (!times) cycles.set(sr.host_id, (times = new Set()));
    for (let k = 0; k < sr.points.length; k += 2) {
      const at = sr.points[k]!;
      if (at >= from && at < to) times.add(at);
    }
  }
  const perHost: number[] = [];
  for (const times of cycles.values()) {
    const sorted = [...times].sort((a, b) => a - b);
    const m = median(sorted.slice(1).map((t, i) => t - sorted[i]!));
    if (m !== null) perHost.push(m);
  }
  return { computers: perHost.length, median_ms: median(perHost), fastest_ms: perHost.length ? Math.min(...perHost) : null, slowest_ms: perHost.length ? Math.max(...perHost) : null };
}
