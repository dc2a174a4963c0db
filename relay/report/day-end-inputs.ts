/**
 * Fewer scoring inputs, same scores at every day's end. A packet scores the site at the end of each day of
 * the month (the trend) and at the month's end, which is a day's end too; at such an instant `scoreSite`
 * (relay/scores) only ever uses, per (check, host), the newest result in its 30-day window, and per host the
 * newest unreachable report. So of the results of one (check, host) in one UTC day, only the newest can
 * matter at any day's end: an older one of the same day is either outside the window too (the window starts
 * at a day's last millisecond) or beaten by the newest. Results at the newest instant are all kept, because
 * scoring breaks ties by status and appliance. The same holds for unreachable reports per (host, day).
 *
 * A month of 15-minute cycles shrinks from ~100 results per (check, host, day) to 1, which is what keeps the
 * packet's 31 daily scores fast and its memory flat. Not valid for instants other than a day's end.
 */
import type { ScoreInput } from "../scores/mod.ts";

const DAY_MS = 86_400_000;

export class DayEndInputs {
  readonly #latest = new Map<string, { at: number; items: ScoreInput[] }>();
  #seen = 0;

  /** Adds one input finished at `at` (ms; the parsed `finished_at`). */
  add(input: ScoreInput, at: number): void {
    this.#seen++;
    const day = Math.floor(at / DAY_MS);
    const key = input.check === null ? `\u0001${input.host_id}\0${day}` : `${input.check}\0${input.host_id}\0${day}`;
    const cur = this.#latest.get(key);
    if (!cur || at > cur.at) this.#latest.set(key, { at, items: [input] });
    else if (at === cur.at) cur.items.push(input);
  }

  /** How many inputs were added. */
  get seen(): number {
    return this.#seen;
  }

  /** The kept inputs, in the order their keys were first seen. */
  inputs(): ScoreInput[] {
    return [...this.#latest.values()].flatMap((v) => v.items);
  }
}
