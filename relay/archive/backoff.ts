/**
 * When an archive upload that failed is tried again: "full jitter" exponential backoff (Brooker, AWS
 * Architecture Blog, "Exponential Backoff And Jitter", 2015) — uniform in [0, min(cap, base × 2^(n−1))] after
 * the n-th failed attempt, floored so a draw near zero cannot turn into a tight loop. Jitter keeps thousands of
 * queued objects from hitting a bucket that just came back in lock-step.
 */
import type { Random } from "../deps.ts";

export interface BackoffPolicy {
  /** The first failure waits up to this long. */
  baseMs: number;
  /** No wait is longer than this (failed rows are still retried, at most this far apart). */
  capMs: number;
  /** The shortest wait after a failure. */
  minMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 5_000,
  /** Once the bucket is reachable again, every row is retried within 15 minutes. */
  capMs: 15 * 60_000,
  minMs: 1_000,
};

/** Exponents beyond this do not grow the window (2^30 × base is far past any cap). */
const MAX_EXPONENT = 30;

/** A uniform number in [0, 1) from 4 bytes of the injected CSPRNG. */
export function uniform(random: Random): number {
  const b = random(4);
  if (b.length !== 4) throw new TypeError(`Cannot draw jitter: random(4) must return 4 bytes: current length is ${b.length}`);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0) / 2 ** 32;
}

/** The wait after the `attempts`-th failed attempt (attempts ≥ 1), for a uniform draw `u` in [0, 1). */
export function backoffDelay(attempts: number, u: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw new RangeError(`Cannot compute a backoff as 'attempts' must be a positive integer: current value is ${attempts}`);
  if (!(u >= 0 && u < 1)) throw new RangeError(`Cannot compute a backoff as the random draw must be in [0, 1): current value is ${u}`);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempts - 1, MAX_EXPONENT));
  return Math.max(policy.minMs, Math.round(ceiling * u));
}

/** Checks a policy from configuration; throws RangeError naming the bad field and its value. */
export function checkBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  for (const k of ["baseMs", "capMs", "minMs"] as const) {
    const v = policy[k];
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Cannot use the archive backoff as '${k}' must be a non-negative integer: current value is ${v}`);
  }
  if (policy.capMs < policy.minMs) throw new RangeError(`Cannot use the archive backoff as 'capMs' must be at least 'minMs' (${policy.minMs}): current value is ${policy.capMs}`);
  return policy;
}
