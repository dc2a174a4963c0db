import { test } from "uvu";
import * as assert from "uvu/assert";
import { monthName, sitePhrase, timePhrase } from "./time-phrase.ts";

// Wed 25 Nov 2026, 10:00 in Chicago (16:00 UTC).
const NOW = Date.parse("2026-11-25T16:00:00Z");
const CHICAGO = "America/Chicago";

test("timePhrase() names nearby times by day word or weekday, in the clinic's zone, 24-hour clock", () => {
  assert.is(timePhrase(Date.parse("2026-11-25T20:30:00Z"), NOW, CHICAGO), "today 14:30");
  assert.is(timePhrase(Date.parse("2026-11-26T08:00:00Z"), NOW, CHICAGO), "tomorrow 02:00");
  assert.is(timePhrase(Date.parse("2026-11-25T05:40:00Z"), NOW, CHICAGO), "yesterday 23:40");
  assert.is(timePhrase(Date.parse("2026-11-28T08:00:00Z"), NOW, CHICAGO), "Sat 02:00");
  assert.is(timePhrase(Date.parse("2026-12-05T08:00:00Z"), NOW, CHICAGO), "Sat 5 Dec 02:00", "a week or more ahead gets its date");
  assert.is(timePhrase(Date.parse("2027-01-09T08:00:00Z"), NOW, CHICAGO), "Sat 9 Jan 2027 02:00", "another year says so");
});

test("timePhrase() follows the zone's own calendar day, not UTC's", () => {
  // 03:00 UTC on the 26th is still the 25th (21:00) in Chicago, but the 26th in Berlin.
  assert.is(timePhrase(Date.parse("2026-11-26T03:00:00Z"), NOW, CHICAGO), "today 21:00");
  assert.is(timePhrase(Date.parse("2026-11-26T03:00:00Z"), NOW, "Europe/Berlin"), "tomorrow 04:00");
});

test("sitePhrase() falls back to the viewer's zone for a zone this browser does not know; timePhrase() throws", () => {
  assert.throws(() => timePhrase(NOW, NOW, "Not/AZone"), (e: unknown) => e instanceof RangeError);
  assert.match(sitePhrase("2026-11-25T16:00:00Z", NOW, "Not/AZone"), /^(today|tomorrow|yesterday) \d\d:\d\d$/);
});

test("monthName() spells a month out and leaves anything else as it is", () => {
  assert.is(monthName("2026-10"), "October 2026");
  assert.is(monthName("2026-13"), "2026-13");
  assert.is(monthName("soon"), "soon");
});

test.run();
