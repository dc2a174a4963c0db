/**
 * When to sync next. Pure functions of the outcome, the failure count and a uniform random number, so the
 * bounds are tested exactly.
 *
 * - After a successful sync: the interval × a factor uniform in [1 − JITTER, 1 + JITTER] (60 s ± 10 %:
 *   54–66 s). Jitter spreads a fleet that booted together (after a power cut) across the interval.
 * - After the n-th failure in a row: "full jitter" exponential backoff (Brooker, AWS Architecture Blog,
 *   "Exponential Backoff And Jitter", 2015): uniform in [0, min(CAP, BASE × 2^n)], floored at MIN_RETRY_MS so a
 *   draw near zero cannot turn into a tight loop. Full jitter keeps a fleet that lost the relay together from
 *   coming back in lock-step.
 * - After a failure waiting cannot fix (revoked, unknown token): the cap, with the same jitter below it.
 * - A relay's Retry-After is honoured (never beyond the cap).
 */

/** ± fraction of the interval: 0.1 → 0.9 … 1.1 × the interval. */
export const INTERVAL_JITTER = 0.1;
/** First backoff window after one failure is [0, 2 × BASE]. */
export const BACKOFF_BASE_MS = 5_000;
/** Longest wait between attempts while the relay is away (issue 4: "up to 15 min"). */
export const BACKOFF_CAP_MS = 15 * 60_000;
/** Shortest wait after a failure: a full-jitter draw near zero must not retry in a tight loop. */
export const MIN_RETRY_MS = 1_000;
/** Failures counted beyond this do not grow the window further (2^20 × BASE is far past the cap anyway). */
export const MAX_COUNTED_FAILURES = 20;
/** A permanent failure waits between this fraction of the cap and the cap. */
export const PERMANENT_FLOOR_FRACTION = 0.9;

/** A uniform number in [0, 1) from 4 random bytes (the injected CSPRNG). */
export function uniform(random: (n: number) => Uint8Array): number {
  const b = random(4);
  if (!(b instanceof Uint8Array) || b.length !== 4) throw new TypeError("Cannot draw jitter: random(4) must return 4 bytes");
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0) / 2 ** 32;
}

/** The wait after a successful sync: `intervalMs` × [0.9, 1.1). */
export function intervalDelay(intervalMs: number, u: number): number {
  checkPositive("intervalMs", intervalMs);
  checkUnit(u);
  return Math.round(intervalMs * (1 - INTERVAL_JITTER + 2 * INTERVAL_JITTER * u));
}

/** The wait after `failures` failures in a row (≥ 1), full jitter under an exponential ceiling. */
export function backoffDelay(failures: number, u: number, opts: { permanent?: boolean; retryAfterMs?: number } = {}): number {
  if (!Number.isSafeInteger(failures) || failures < 1) throw new RangeError(`Cannot compute a backoff as 'failures' must be a positive integer: current value is ${failures}`);
  checkUnit(u);
  const ceiling = opts.permanent ? BACKOFF_CAP_MS : Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, MAX_COUNTED_FAILURES));
  const floor = opts.permanent ? BACKOFF_CAP_MS * PERMANENT_FLOOR_FRACTION : 0;
  const drawn = Math.max(MIN_RETRY_MS, Math.round(floor + (ceiling - floor) * u));
  const asked = opts.retryAfterMs !== undefined && Number.isFinite(opts.retryAfterMs) ? Math.min(BACKOFF_CAP_MS, Math.max(0, opts.retryAfterMs)) : 0;
  return Math.max(drawn, asked);
}

function checkPositive(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Cannot compute a sync delay as '${name}' must be a positive number: current value is ${v}`);
}

function checkUnit(u: number): void {
  if (!(u >= 0 && u < 1)) throw new RangeError(`Cannot compute a sync delay as the random draw must be in [0, 1): current value is ${u}`);
}
