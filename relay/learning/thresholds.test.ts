import { test } from "uvu";
import * as assert from "uvu/assert";
import { testRelay } from "../_testing.ts";
import { DEFAULT_THRESHOLDS, describeThresholds, learningPolicy, updateLearningPolicy } from "./thresholds.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return "resolved";
}

test("the defaults are the reviewed policy: 5 runs, 3 L2, 90 %, 7 days, 2 sites; canary 70 % over 3 runs in 48 h; drift 30 points vs 30 days", () => {
  const d = DEFAULT_THRESHOLDS;
  assert.equal(
    [d.min_occurrences, d.min_l2_resolutions, d.min_success_pct, d.window_days, d.min_sites, d.canary_min_success_pct, d.canary_min_runs, d.canary_hours, d.drift_drop_points, d.drift_baseline_days],
    [5, 3, 90, 7, 2, 70, 3, 48, 30, 30],
  );
});

test("an MSP's overrides apply to it only, can be put back to the default with null, and auto-promotion is off until turned on", async () => {
  const relay = await testRelay();
  try {
    assert.equal(await learningPolicy(relay.db, relay.mspId), { thresholds: { ...DEFAULT_THRESHOLDS }, overrides: {}, auto_promote: false });
    const p = await updateLearningPolicy(relay.db, relay.clock, relay.mspId, { thresholds: { min_sites: 3, window_days: 14 }, auto_promote: true }, "user_x");
    assert.equal([p.thresholds.min_sites, p.thresholds.window_days, p.thresholds.min_occurrences, p.auto_promote], [3, 14, 5, true]);
    const back = await updateLearningPolicy(relay.db, relay.clock, relay.mspId, { thresholds: { min_sites: null } }, "user_x");
    assert.equal([back.thresholds.min_sites, back.overrides, back.auto_promote], [2, { window_days: 14 }, true]);
    assert.equal(await learningPolicy(relay.db, "msp_someoneelse1"), { thresholds: { ...DEFAULT_THRESHOLDS }, overrides: {}, auto_promote: false });
  } finally {
    await relay.close();
  }
});

test("updateLearningPolicy() refuses unknown names and out-of-bounds values, naming them, and changes nothing", async () => {
  const relay = await testRelay();
  try {
    assert.match(await codeOf(updateLearningPolicy(relay.db, relay.clock, relay.mspId, { thresholds: { min_sitez: 3 } }, "u")), /^schema: thresholds\.min_sitez: not a learning threshold/);
    assert.match(await codeOf(updateLearningPolicy(relay.db, relay.clock, relay.mspId, { thresholds: { min_success_pct: 120 } }, "u")), /^schema: min_success_pct: .*120/);
    assert.match(await codeOf(updateLearningPolicy(relay.db, relay.clock, relay.mspId, { thresholds: { min_sites: 1.5 } }, "u")), /^schema: min_sites/);
    assert.equal((await learningPolicy(relay.db, relay.mspId)).overrides, {});
  } finally {
    await relay.close();
  }
});

test("describeThresholds() gives every threshold a sentence with its value, in a fixed order", () => {
  const d = describeThresholds({ ...DEFAULT_THRESHOLDS, min_sites: 4 });
  assert.equal(d.map((x) => x.name), Object.keys(DEFAULT_THRESHOLDS));
  assert.match(d.find((x) => x.name === "min_sites")!.text, "at 4 or more sites");
});

test.run();
