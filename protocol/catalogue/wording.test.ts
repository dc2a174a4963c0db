import { test } from "uvu";
import * as assert from "uvu/assert";
import { notMet, problemTitle } from "./wording.ts";

test("notMet() words a check's desired state as a problem", () => {
  assert.is(notMet("Virus protection is switched on"), "Not met: Virus protection is switched on");
  assert.is(notMet("windows.defender_realtime"), "Not met: windows.defender_realtime", "an id without a title is worded the same way");
});

test("problemTitle() names where the problem is, and nothing more without a host", () => {
  assert.is(problemTitle("Virus protection is switched on", "FRONT-DESK-01"), "Not met: Virus protection is switched on — FRONT-DESK-01");
  assert.is(problemTitle("Virus protection is switched on", null), "Not met: Virus protection is switched on");
});

test.run();
