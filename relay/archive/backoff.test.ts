import { test } from "uvu";
import * as assert from "uvu/assert";
import { backoffDelay, checkBackoffPolicy, DEFAULT_BACKOFF, uniform } from "./backoff.ts";

test("backoffDelay() draws uniformly under an exponential ceiling: base × 2^(n−1), capped", () => {
  const just = 1 - 2 ** -32;
  assert.is(backoffDelay(1, just), 5_000);
  assert.is(backoffDelay(2, just), 10_000);
  assert.is(backoffDelay(5, just), 80_000);
  assert.is(backoffDelay(9, just), 15 * 60_000, "capped at 15 min");
  assert.is(backoffDelay(1_000, just), 15 * 60_000, "huge attempt counts stay at the cap");
  assert.is(backoffDelay(4, 0.5), 20_000, "full jitter: half the ceiling for u = 0.5");
});

test("backoffDelay() never returns less than minMs, so a draw near zero is not a tight loop", () => {
  assert.is(backoffDelay(1, 0), DEFAULT_BACKOFF.minMs);
  assert.is(backoffDelay(20, 0), DEFAULT_BACKOFF.minMs);
});

test("backoffDelay() refuses a non-positive attempt count or a draw outside [0, 1), naming the value", () => {
  assert.throws(() => backoffDelay(0, 0.5), (e: unknown) => e instanceof RangeError && /current value is 0/.test(e.message));
  assert.throws(() => backoffDelay(1, 1), (e: unknown) => e instanceof RangeError && /current value is 1/.test(e.message));
  assert.throws(() => checkBackoffPolicy({ baseMs: 1, capMs: 10, minMs: 100 }), (e: unknown) => e instanceof RangeError && /capMs/.test(e.message));
});

test("uniform() maps 4 random bytes onto [0, 1)", () => {
  assert.is(uniform(() => new Uint8Array([0, 0, 0, 0])), 0);
  assert.is(uniform(() => new Uint8Array([0x80, 0, 0, 0])), 0.5);
  assert.ok(uniform(() => new Uint8Array([255, 255, 255, 255])) < 1);
  assert.throws(() => uniform(() => new Uint8Array(3)), (e: unknown) => e instanceof TypeError);
});

test.run();
