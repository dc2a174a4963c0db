/**
 * A fixed-window rate limit per caller address for the public routes (enrollment, drop-ship provisioning),
 * kept in memory by one app instance. The map of addresses is bounded: when it is full, windows that have
 * ended are dropped first, then the oldest entries, so a flood of spoofed addresses cannot grow memory.
 * (Several relay processes each count separately; the limit is a brake on abuse, not an exact quota.)
 */
import { RelayError } from "../errors.ts";

/** Requests one address may make to the public routes per window. */
export const PUBLIC_RATE_LIMIT = 30;
/** The window (ms). */
export const PUBLIC_RATE_WINDOW_MS = 60_000;
/** Addresses tracked at once. */
export const MAX_TRACKED_ADDRESSES = 10_000;

export interface RateLimiter {
  /** Counts one request from `address`; RelayError `rate_limited` when over the limit. */
  hit(address: string, now: number): void;
}

export function createRateLimiter(limit = PUBLIC_RATE_LIMIT, windowMs = PUBLIC_RATE_WINDOW_MS, maxAddresses = MAX_TRACKED_ADDRESSES): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const evict = (now: number) => {
    for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k);
    while (windows.size >= maxAddresses) {
      const oldest = windows.keys().next();
      if (oldest.done) break;
      windows.delete(oldest.value);
    }
  };
  return {
    hit(address, now) {
      let w = windows.get(address);
      if (!w || now - w.start >= windowMs) {
        if (!w && windows.size >= maxAddresses) evict(now);
        w = { start: now, count: 0 };
        windows.delete(address);
        windows.set(address, w);
      }
      w.count++;
      if (w.count > limit) {
        const retryAfterS = Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
        throw new RelayError("rate_limited", `Too many requests from this address: at most ${limit} per ${windowMs / 1000} s; retry in ${retryAfterS} s`, { retry_after_s: retryAfterS });
      }
    },
  };
}
