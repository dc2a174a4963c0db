/**
 * Detects the appliance clock going backwards, so the jump is on record before the bundles it affects.
 *
 * The evidence log records time exactly as the clock gives it; it never clamps or invents timestamps. The
 * protocol's chain verifier (relay ingest, auditors) tolerates `finished_at` going back by up to
 * DEFAULT_TIME_TOLERANCE_MS (5 min: NTP steps, small corrections) behind the latest time seen in the chain and
 * flags anything further back as `time_backwards`. So when the clock steps back by more than that:
 * - the appliance keeps appending (checks and healing go on; evidence is never dropped);
 * - the daemon calls `observe(clock.now())` before each append; on such a jump it returns an `alert` draft
 *   (kind `system`) to append first, saying how far back the clock went and from what;
 * - the relay flags the bundles behind the latest time (starting with that alert) as `time_backwards` and shows
 *   them; the appliance's own `verifyLocal` lists them as `clock_regressions` rather than failing, since the
 *   chain itself (signatures, seqs, hashes) is intact.
 * After alerting, the guard takes the new time as its reference, so one jump gives one alert, not one per
 * cycle until the clock catches up; a further jump back beyond the tolerance alerts again.
 */
import { DEFAULT_TIME_TOLERANCE_MS } from "../../protocol/chain.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import type { EvidenceDraft } from "../engine/types.ts";

export interface ClockGuardOptions {
  /** How far back the clock may step without an alert (default: the protocol's chain tolerance, 5 min). */
  toleranceMs?: number;
  /** Latest time already on record, e.g. `(await log.head()).last_time`; null for an empty log. */
  latest?: string | number | null;
}

export class ClockGuard {
  readonly #toleranceMs: number;
  #latest: number | null;

  constructor(options: ClockGuardOptions = {}) {
    this.#toleranceMs = options.toleranceMs ?? DEFAULT_TIME_TOLERANCE_MS;
    if (!Number.isFinite(this.#toleranceMs) || this.#toleranceMs < 0) {
      throw new RangeError(`Cannot guard the clock as 'toleranceMs' must be a non-negative number: current value is ${options.toleranceMs}`);
    }
    const latest = options.latest ?? null;
    this.#latest = typeof latest === "string" ? parseIsoTime(latest) : latest;
    if (this.#latest !== null && !Number.isFinite(this.#latest)) throw new RangeError(`Cannot guard the clock as 'latest' is not a time: current value is ${String(latest)}`);
  }

  /** The latest time seen (ms), or null. */
  get latest(): number | null {
    return this.#latest;
  }

  /**
   * Records `now` (ms) and returns an alert draft if it is more than the tolerance behind the latest time seen;
   * otherwise null.
   */
  observe(now: number): EvidenceDraft | null {
    if (!Number.isSafeInteger(now) || now < 0) throw new RangeError(`Cannot observe the clock: 'now' must be integer milliseconds, current value is ${now}`);
    const latest = this.#latest;
    if (latest === null || now >= latest) {
      this.#latest = now;
      return null;
    }
    const behind = latest - now;
    if (behind <= this.#toleranceMs) return null;
    this.#latest = now;
    const at = isoTime(now);
    return {
      kind: "system",
      outcome: "alert",
      check: null,
      host_id: null,
      timestamps: { started_at: at, finished_at: at },
      pre_state: { latest_time: isoTime(latest) },
      post_state: { event: "clock_backwards", clock_time: at, behind_ms: behind, tolerance_ms: this.#toleranceMs },
    };
  }
}
