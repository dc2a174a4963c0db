import { test } from "uvu";
import * as assert from "uvu/assert";
import { duration, slaView, urgency } from "./sla.ts";

const T = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => new Date(T + ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

test("duration() is exact to the second under an hour and coarser above", () => {
  assert.is(duration(45_400), "45 s");
  assert.is(duration(12 * MIN + 5_000), "12 min 05 s");
  assert.is(duration(3 * HOUR + 7 * MIN + 59_000), "3 h 07 min");
  assert.is(duration(52 * HOUR), "2 d 4 h");
  assert.is(duration(-5_000), "0 s", "never negative");
});

test("slaView() counts down a running target, second by second", () => {
  const start = at(0);
  const due = at(HOUR);
  assert.equal(slaView(start, due, null, T + 47 * MIN + 48_000), { state: "running", text: "12 min 12 s left", cls: "info" });
  assert.equal(slaView(start, due, null, T + 47 * MIN + 49_000).text, "12 min 11 s left", "one second later, one second less");
  assert.equal(slaView(start, due, null, T + 52 * MIN), { state: "running", text: "8 min 00 s left", cls: "warn" }, "the last fifth of the allowed time is amber");
});

test("slaView() says by how much a target is overdue, and whether a done one was met", () => {
  assert.equal(slaView(at(0), at(HOUR), null, T + HOUR + 3 * MIN), { state: "overdue", text: "overdue by 3 min 00 s", cls: "bad" });
  assert.equal(slaView(at(0), at(HOUR), at(20 * MIN), T + 5 * HOUR), { state: "met", text: "met", cls: "ok" });
  assert.equal(slaView(at(0), at(HOUR), at(HOUR + 20 * MIN), T + 5 * HOUR), { state: "met_late", text: "met 20 min 00 s late", cls: "warn" });
});

test("urgency() orders open tickets by their next target and puts resolved ones last", () => {
  const open = { status: "open", response_due_at: at(HOUR), resolution_due_at: at(24 * HOUR) };
  const acked = { status: "acknowledged", response_due_at: at(-HOUR), resolution_due_at: at(2 * HOUR) };
  assert.is(urgency(open, T), HOUR);
  assert.is(urgency(acked, T), 2 * HOUR, "an acknowledged ticket only has its resolution left");
  assert.is(urgency({ ...open, status: "resolved" }, T), Number.POSITIVE_INFINITY);
});

test.run();
