import { test } from "uvu";
import * as assert from "uvu/assert";
import { Throttle } from "./throttle.ts";

const clock = { now: () => Date.now() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("never more than `concurrency` tasks in flight, and starts spaced by 1/rate", async () => {
  const t = new Throttle({ concurrency: 3, ratePerSecond: 100, clock });
  const starts: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 20 }, () =>
      t.run(async () => {
        starts.push(Date.now() - t0);
        peak = Math.max(peak, ++inFlight);
        await sleep(25);
        inFlight--;
      }),
    ),
  );
  assert.ok(peak <= 3, `peak ${peak}`);
  assert.is(t.peak, peak);
  assert.is(t.started, 20);
  // 20 starts at 100/s: the last one no earlier than 19 × 10 ms after the first (timers may fire up to 1 ms early).
  assert.ok(starts[19]! - starts[0]! >= 185, `last start after ${starts[19]! - starts[0]!} ms`);
});

test("an abort rejects queued work with the reason and starts nothing new", async () => {
  const t = new Throttle({ concurrency: 1, ratePerSecond: 1000, clock });
  const ac = new AbortController();
  let ran = 0;
  const first = t.run(async () => {
    ran++;
    await sleep(50);
  }, ac.signal);
  const queued = t.run(async () => void ran++, ac.signal);
  await sleep(10); // the first task is running, the second waits for its slot
  ac.abort(new Error("stop"));
  const r = await queued.then(() => "ran", (e: Error) => e.message);
  assert.is(r, "stop");
  await first;
  assert.is(ran, 1);
  await assert.not.throws(() => t.run(async () => undefined));
});

test("bad settings are refused with the current value", () => {
  assert.throws(() => new Throttle({ concurrency: 0, ratePerSecond: 1, clock }), (e: unknown) => e instanceof RangeError && e.message.includes("'concurrency'") && e.message.endsWith("0"));
  assert.throws(() => new Throttle({ concurrency: 1, ratePerSecond: -5, clock }), (e: unknown) => e instanceof RangeError && e.message.includes("-5"));
});

test.run();
