import { test } from "uvu";
import * as assert from "uvu/assert";
import { backoffDelay, BACKOFF_BASE_MS, BACKOFF_CAP_MS, intervalDelay, MIN_RETRY_MS, PERMANENT_FLOOR_FRACTION, uniform } from "./backoff.ts";

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

test("intervalDelay() stays within 0.9–1.1 × the interval (60 s → 54–66 s), reaching both ends", () => {
  assert.is(intervalDelay(60_000, 0), 54_000);
  assert.is(intervalDelay(60_000, 0.5), 60_000);
  assert.ok(intervalDelay(60_000, 1 - 2 ** -32) <= 66_000);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < 10_000; i++) {
    const d = intervalDelay(60_000, uniform(random));
    min = Math.min(min, d);
    max = Math.max(max, d);
  }
  assert.ok(min >= 54_000 && max <= 66_000, `${min}..${max}`);
  assert.ok(min < 55_000 && max > 65_000, "the jitter uses its whole range");
});

test("backoffDelay() is full jitter under BASE × 2^n, never above the 15 min cap, never below MIN_RETRY_MS", () => {
  for (let n = 1; n <= 30; n++) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n);
    assert.is(backoffDelay(n, 0), MIN_RETRY_MS);
    assert.ok(backoffDelay(n, 1 - 2 ** -32) <= ceiling);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(n, uniform(random));
      assert.ok(d >= MIN_RETRY_MS && d <= ceiling, `failure ${n}: ${d}`);
    }
  }
  assert.is(backoffDelay(50, 0.5), BACKOFF_CAP_MS / 2, "long outages draw under the cap");
});

test("backoffDelay() waits near the cap for a permanent failure and honours Retry-After up to the cap", () => {
  assert.is(backoffDelay(1, 0, { permanent: true }), BACKOFF_CAP_MS * PERMANENT_FLOOR_FRACTION);
  assert.ok(backoffDelay(1, 0.999, { permanent: true }) <= BACKOFF_CAP_MS);
  assert.is(backoffDelay(1, 0, { retryAfterMs: 30_000 }), 30_000);
  assert.is(backoffDelay(1, 0, { retryAfterMs: 10 * BACKOFF_CAP_MS }), BACKOFF_CAP_MS);
});

test("bad arguments are refused with a RangeError naming the value", () => {
  assert.throws(() => intervalDelay(0, 0.5), /'intervalMs' must be a positive number: current value is 0/);
  assert.throws(() => backoffDelay(0, 0.5), /'failures' must be a positive integer: current value is 0/);
  assert.throws(() => backoffDelay(1, 1), /random draw must be in \[0, 1\)/);
  assert.throws(() => uniform(() => new Uint8Array(3)), TypeError);
});

test.run();
