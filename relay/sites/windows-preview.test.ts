import { test } from "uvu";
import * as assert from "uvu/assert";
import { RelayError } from "../errors.ts";
import { describeRule, durationText, previewWindows } from "./windows-preview.ts";

const NOW = new Date("2026-11-27T12:00:00.000Z");

test("describeRule() says common rules in plain words, with the time, duration and zone", () => {
  assert.is(describeRule("FREQ=DAILY;BYHOUR=1;BYMINUTE=0", "PT3H", "America/Chicago"), "Every day at 01:00 for 3 hours (America/Chicago)");
  assert.is(describeRule("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=22", "PT1H30M", "UTC"), "Every Monday, Wednesday and Friday at 22:00 for 1 hour 30 minutes (UTC)");
  assert.is(describeRule("RRULE:FREQ=MONTHLY;BYDAY=1SU;BYHOUR=3;BYMINUTE=15", "PT6H", "Europe/Berlin"), "On the first Sunday of every month at 03:15 for 6 hours (Europe/Berlin)");
  assert.is(describeRule("FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=2", "P1D", "UTC"), "On day 15 of every month at 02:00 for 1 day (UTC)");
  assert.is(describeRule("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1;BYHOUR=0", "PT2H", "UTC"), "Repeats by the rule FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1;BYHOUR=0 at 00:00 for 2 hours (UTC)");
  assert.is(durationText("PT45M"), "45 minutes");
});

test("previewWindows() lists occurrences in the window's zone across a DST change, crossing midnight when the window does", () => {
  // Three hours of real time: 23:00 GMT to 02:00 GMT, which the clocks show as 03:00 GMT+1 (BST).
  const p = previewWindows({ rrule: "FREQ=DAILY;BYHOUR=23;BYMINUTE=0", duration: "PT3H", tz: "Europe/London" }, new Date("2027-03-26T12:00:00Z"), 3);
  assert.equal(p.windows.map((w) => w.text), ["Fri 26 Mar, 23:00–Sat 27 Mar, 02:00 GMT", "Sat 27 Mar, 23:00 GMT–Sun 28 Mar, 03:00 GMT+1", "Sun 28 Mar, 23:00–Mon 29 Mar, 02:00 GMT+1"]);
  assert.is(p.windows[0]!.start, "2027-03-26T23:00:00.000Z");
  assert.is(p.windows[2]!.start, "2027-03-28T22:00:00.000Z", "after the change, 23:00 local is 22:00 UTC");
});

test("previewWindows() refuses a bad rule, zone or duration with the field and the reason, and bounds the count", () => {
  const refused = (spec: { rrule: string; duration: string; tz: string }, count?: number) => {
    try {
      previewWindows(spec, NOW, count);
    } catch (e) {
      if (e instanceof RelayError && e.code === "schema") return e;
      throw e;
    }
    throw new Error("expected a refusal");
  };
  assert.is(refused({ rrule: "FREQ=HOURLY", duration: "PT1H", tz: "UTC" }).details?.["field"], "rrule");
  assert.is(refused({ rrule: "FREQ=DAILY", duration: "PT1H", tz: "Atlantis/Capital" }).details?.["field"], "tz");
  assert.is(refused({ rrule: "FREQ=DAILY", duration: "P9D", tz: "UTC" }).details?.["field"], "duration");
  assert.match(refused({ rrule: "FREQ=DAILY", duration: "PT1H", tz: "UTC" }, 21).message, /count: 1 to 20/);
});

test.run();
