import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_TIME_TOLERANCE_MS, verifyChain } from "../../protocol/chain.ts";
import { isoTime } from "../../protocol/ids.ts";
import { APP, collect, cycleDraft, SITE, T0, withLog } from "./_testing.ts";
import { ClockGuard } from "./clock-guard.ts";

const MIN = 60_000;

test("ClockGuard stays quiet while the clock moves forward or steps back within the tolerance", () => {
  const guard = new ClockGuard({ latest: isoTime(T0) });
  assert.is(guard.observe(T0 + MIN), null);
  assert.is(guard.observe(T0 + MIN - DEFAULT_TIME_TOLERANCE_MS), null);
  assert.is(guard.latest, T0 + MIN);
});

test("ClockGuard returns one alert draft for a backward jump beyond the tolerance, then re-baselines", () => {
  const guard = new ClockGuard({ latest: T0 });
  const back = T0 - 10 * MIN;
  const alert = guard.observe(back);
  assert.ok(alert);
  assert.is(alert.kind, "system");
  assert.is(alert.outcome, "alert");
  assert.equal(alert.timestamps, { started_at: isoTime(back), finished_at: isoTime(back) });
  assert.equal(alert.pre_state, { latest_time: isoTime(T0) });
  assert.equal(alert.post_state, { event: "clock_backwards", clock_time: isoTime(back), behind_ms: 10 * MIN, tolerance_ms: DEFAULT_TIME_TOLERANCE_MS });
  assert.is(guard.observe(back + MIN), null, "no second alert for the same jump");
  assert.ok(guard.observe(back - 6 * MIN), "a further jump alerts again");
});

test("ClockGuard with no time on record never alerts on its first reading", () => {
  assert.is(new ClockGuard().observe(T0), null);
});

test("ClockGuard refuses a negative tolerance and a non-time reference", () => {
  assert.throws(() => new ClockGuard({ toleranceMs: -1 }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => new ClockGuard({ latest: "yesterday" }), (e: unknown) => e instanceof RangeError);
});

test("a clock that steps back within 5 minutes: bundles append as given and the chain verifies under the protocol tolerance", async () => {
  await withLog(async (f) => {
    const guard = new ClockGuard({ latest: (await f.log.head()).last_time });
    await f.log.append([cycleDraft(T0 + 10 * MIN)]);
    guard.observe(T0 + 10 * MIN);
    const back = T0 + 6 * MIN;
    assert.is(guard.observe(back), null);
    await f.log.append([cycleDraft(back)]);
    const lines = await collect(f.log.lines(1, 2));
    assert.match(lines[1]!, `"finished_at":"${isoTime(back)}"`);
    const keys = new Map([[APP, { publicKey: f.identity.evidenceSigner.publicKey, siteId: SITE }]]);
    assert.ok((await verifyChain(lines, keys, { fromGenesis: true })).ok);
    const local = await f.log.verifyLocal();
    assert.ok(local.ok && local.clock_regression_count === 0, JSON.stringify(local));
  });
});

test("a clock that jumps back more than 5 minutes: the alert and the bundles still append, the relay's verifier flags them, verifyLocal lists them", async () => {
  await withLog(async (f) => {
    await f.log.append([cycleDraft(T0 + 30 * MIN)]);
    const guard = new ClockGuard({ latest: (await f.log.head()).last_time });
    const back = T0;
    const alert = guard.observe(back);
    assert.ok(alert);
    const { seqs } = await f.log.append([alert, cycleDraft(back)]);
    assert.equal(seqs, [2, 3]);

    const lines = await collect(f.log.lines(1, 3));
    const keys = new Map([[APP, { publicKey: f.identity.evidenceSigner.publicKey, siteId: SITE }]]);
    const relayView = await verifyChain(lines, keys, { fromGenesis: true });
    assert.ok(!relayView.ok && relayView.failure.code === "time_backwards" && relayView.failure.seq === 2, JSON.stringify(relayView));

    const local = await f.log.verifyLocal();
    assert.ok(local.ok, JSON.stringify(local));
    assert.is(local.clock_regression_count, 2);
    assert.equal(local.clock_regressions.map((r) => [r.seq, r.behind_ms]), [[2, 30 * MIN], [3, 30 * MIN]]);
  });
});

test.run();
