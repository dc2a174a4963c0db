import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatOffsetIso, isInWindow, nextWindows, parseWindow, WindowError, type WindowErrorCode, type WindowOccurrence } from "./windows.ts";

/** `START END` lines as the preview prints them. */
function lines(occs: WindowOccurrence[], tz: string): string[] {
  return occs.map((o) => `${formatOffsetIso(o.start, tz)} ${formatOffsetIso(o.end, tz)}`);
}
function preview(rrule: string, duration: string, tz: string, from: string, count: number): string[] {
  return lines(nextWindows(parseWindow({ rrule, duration, tz }), new Date(from), count), tz);
}
function rejects(spec: { rrule: string; duration: string; tz: string }, code: WindowErrorCode, message: RegExp): void {
  try {
    parseWindow(spec);
    assert.unreachable(`accepted ${JSON.stringify(spec)}`);
  } catch (e) {
    if (!(e instanceof WindowError)) throw e;
    assert.is(e.code, code, e.message);
    assert.match(e.message, message);
  }
}

test("a daily 02:30 window in New York moves to 03:30 on the spring-forward day", () => {
  assert.equal(preview("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "America/New_York", "2026-03-07T00:00:00Z", 3), [
    "2026-03-07T02:30:00-05:00 2026-03-07T03:30:00-05:00",
    "2026-03-08T03:30:00-04:00 2026-03-08T04:30:00-04:00",
    "2026-03-09T02:30:00-04:00 2026-03-09T03:30:00-04:00",
  ]);
});

test("a daily 02:30 window in Berlin moves to 03:30 on the spring-forward day", () => {
  assert.equal(preview("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "Europe/Berlin", "2026-03-28T00:00:00Z", 3), [
    "2026-03-28T02:30:00+01:00 2026-03-28T03:30:00+01:00",
    "2026-03-29T03:30:00+02:00 2026-03-29T04:30:00+02:00",
    "2026-03-30T02:30:00+02:00 2026-03-30T03:30:00+02:00",
  ]);
});

test("on the fall-back day a window in the repeated hour starts at the first occurrence", () => {
  assert.equal(preview("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "PT1H", "America/New_York", "2026-10-31T12:00:00Z", 2), [
    // PT1H is elapsed time: one hour after 01:30 EDT is 01:30 EST.
    "2026-11-01T01:30:00-04:00 2026-11-01T01:30:00-05:00",
    "2026-11-02T01:30:00-05:00 2026-11-02T02:30:00-05:00",
  ]);
  assert.equal(preview("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT30M", "Europe/Berlin", "2026-10-24T12:00:00Z", 2), [
    "2026-10-25T02:30:00+02:00 2026-10-25T02:00:00+01:00",
    "2026-10-26T02:30:00+01:00 2026-10-26T03:00:00+01:00",
  ]);
});

test("a 22:00 + PT4H window spans midnight and is four real hours across DST changes", () => {
  const tz = "America/New_York";
  assert.equal(preview("FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", "PT4H", tz, "2026-10-24T00:00:00Z", 3), [
    "2026-10-24T22:00:00-04:00 2026-10-25T02:00:00-04:00",
    "2026-10-31T22:00:00-04:00 2026-11-01T01:00:00-05:00",
    "2026-11-07T22:00:00-05:00 2026-11-08T02:00:00-05:00",
  ]);
  assert.equal(preview("FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", "PT4H", tz, "2026-03-07T00:00:00Z", 1), ["2026-03-07T22:00:00-05:00 2026-03-08T03:00:00-04:00"]);
});

test("day durations are calendar days: P1D across spring-forward is 23 hours", () => {
  const [occ] = nextWindows(parseWindow({ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", duration: "P1D", tz: "Europe/Berlin" }), new Date("2026-03-27T00:00:00Z"), 1);
  assert.is(formatOffsetIso(occ!.end, "Europe/Berlin"), "2026-03-29T22:00:00+02:00");
  assert.is(occ!.end.getTime() - occ!.start.getTime(), 23 * 3_600_000);
});

test("BYSETPOS picks the second Tuesday of each month", () => {
  assert.equal(preview("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2;BYHOUR=22", "PT4H", "Europe/Berlin", "2026-01-01T00:00:00Z", 4), [
    "2026-01-13T22:00:00+01:00 2026-01-14T02:00:00+01:00",
    "2026-02-10T22:00:00+01:00 2026-02-11T02:00:00+01:00",
    "2026-03-10T22:00:00+01:00 2026-03-11T02:00:00+01:00",
    "2026-04-14T22:00:00+02:00 2026-04-15T02:00:00+02:00",
  ]);
  // The ordinal form 2TU means the same.
  assert.equal(preview("FREQ=MONTHLY;BYDAY=2TU;BYHOUR=22", "PT4H", "Europe/Berlin", "2026-01-01T00:00:00Z", 4), preview("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2;BYHOUR=22", "PT4H", "Europe/Berlin", "2026-01-01T00:00:00Z", 4));
});

test("BYDAY=MO..FR with BYSETPOS=-1 is the last weekday of the month", () => {
  const starts = preview("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=19", "PT3H", "America/New_York", "2026-01-01T12:00:00Z", 6).map((l) => l.slice(0, 10));
  // 2026-01-31 and 2026-05-31 are weekend days; 2026-02-28 is a Saturday.
  assert.equal(starts, ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29", "2026-06-30"]);
});

test("without DTSTART, looking up from any instant gives the same windows as iterating from 2000", () => {
  const rules = [
    "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
    "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=22;BYMINUTE=15",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=-1;BYHOUR=3",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=19",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=23",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;BYHOUR=4",
  ];
  for (const rule of rules) {
    for (const from of ["2026-03-08T06:00:00Z", "2026-10-31T23:59:59Z", "2031-01-01T00:00:00Z"]) {
      // Three: a 29 February rule has only three occurrences in the ten-year search horizon.
      const fast = preview(rule, "PT4H", "America/New_York", from, 3);
      const slow = preview(`DTSTART:20000101T000000\nRRULE:${rule}`, "PT4H", "America/New_York", from, 3);
      assert.equal(fast, slow, `${rule} from ${from}`);
      assert.is(fast.length, 3);
    }
  }
});

test("DTSTART fixes the phase of INTERVAL and the time of day", () => {
  assert.equal(preview("DTSTART:20260103T220000\nRRULE:FREQ=WEEKLY;INTERVAL=2", "PT2H", "UTC", "2026-01-10T00:00:00Z", 2), [
    "2026-01-17T22:00:00+00:00 2026-01-18T00:00:00+00:00",
    "2026-01-31T22:00:00+00:00 2026-02-01T00:00:00+00:00",
  ]);
  assert.equal(preview("DTSTART;TZID=Europe/Berlin:20260103T220000\nRRULE:FREQ=DAILY;COUNT=2", "PT1H", "Europe/Berlin", "2026-01-01T00:00:00Z", 5).length, 2);
});

test("UNTIL ends the rule; a UTC UNTIL is read in the window's zone", () => {
  const list = preview("FREQ=DAILY;BYHOUR=22;UNTIL=20260105T030000Z", "PT1H", "America/New_York", "2026-01-01T12:00:00Z", 10);
  // 03:00Z on the 5th is 22:00 EST on the 4th: that occurrence is the last.
  assert.is(list.length, 4);
  assert.is(list.at(-1)!.slice(0, 16), "2026-01-04T22:00");
});

test("nextWindows includes a window already open at `from` and excludes one ending exactly at `from`", () => {
  const w = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=22", duration: "PT4H", tz: "UTC" });
  assert.is(nextWindows(w, new Date("2026-06-02T01:00:00Z"), 1)[0]!.start.toISOString(), "2026-06-01T22:00:00.000Z");
  assert.is(nextWindows(w, new Date("2026-06-02T02:00:00Z"), 1)[0]!.start.toISOString(), "2026-06-02T22:00:00.000Z");
  assert.throws(() => nextWindows(w, new Date(0), 0), /'count' must be an integer from 1 to 1000: current value is 0/);
  assert.throws(() => nextWindows(w, new Date("x"), 1), /invalid Date/);
});

test("isInWindow: start is inclusive, end is exclusive, next is the following start", () => {
  const w = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=22", duration: "PT4H", tz: "Europe/Berlin" });
  const start = new Date("2026-06-01T20:00:00Z");
  const end = new Date("2026-06-02T00:00:00Z");
  const atStart = isInWindow([w], start);
  assert.ok(atStart.inside);
  assert.equal(atStart.current, { start, end });
  assert.equal(atStart.next?.start, new Date("2026-06-02T20:00:00Z"));
  const before = isInWindow([w], new Date(start.getTime() - 1));
  assert.not.ok(before.inside);
  assert.is(before.current, undefined);
  assert.equal(before.next, { start, end });
  const lastMs = isInWindow([w], new Date(end.getTime() - 1));
  assert.ok(lastMs.inside);
  const atEnd = isInWindow([w], end);
  assert.not.ok(atEnd.inside);
  assert.equal(atEnd.next?.start, new Date("2026-06-02T20:00:00Z"));
});

test("isInWindow combines several windows and reports the earliest next start", () => {
  const nightly = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=23", duration: "PT1H", tz: "UTC" });
  const weekend = parseWindow({ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=6", duration: "PT12H", tz: "UTC" });
  const sat = isInWindow([nightly, weekend], new Date("2026-06-06T10:00:00Z"));
  assert.ok(sat.inside);
  assert.equal(sat.current?.end, new Date("2026-06-06T18:00:00Z"));
  assert.equal(sat.next?.start, new Date("2026-06-06T23:00:00Z"));
  assert.equal(isInWindow([], new Date()), { inside: false });
});

test("invalid RRULEs are rejected with the part that is wrong", () => {
  const tz = "UTC";
  const d = "PT1H";
  rejects({ rrule: "", duration: d, tz }, "invalid_rrule", /RRULE is empty/);
  rejects({ rrule: "FREQ=FOO", duration: d, tz }, "invalid_rrule", /FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY: saw FREQ=FOO/);
  rejects({ rrule: "BYDAY=MO", duration: d, tz }, "invalid_rrule", /needs FREQ/);
  rejects({ rrule: "FREQ=HOURLY", duration: d, tz }, "unsupported_rrule", /at most daily/);
  rejects({ rrule: "FREQ=WEEKLY;BYDAY=XX", duration: d, tz }, "invalid_rrule", /BYDAY=XX/);
  rejects({ rrule: "FREQ=DAILY;BYHOUR=25", duration: d, tz }, "invalid_rrule", /BYHOUR values must be 0..23: saw BYHOUR=25/);
  rejects({ rrule: "FREQ=DAILY;BYHOUR=1;BYHOUR=2", duration: d, tz }, "invalid_rrule", /appears twice/);
  rejects({ rrule: "FREQ=DAILY;FOO=1", duration: d, tz }, "invalid_rrule", /unknown RRULE part "FOO"/);
  rejects({ rrule: "FREQ=WEEKLY", duration: d, tz }, "invalid_rrule", /needs BYDAY/);
  rejects({ rrule: "FREQ=WEEKLY;BYDAY=2TU", duration: d, tz }, "invalid_rrule", /ordinals/);
  rejects({ rrule: "FREQ=MONTHLY;BYDAY=6TU", duration: d, tz }, "invalid_rrule", /±1..5/);
  rejects({ rrule: "FREQ=DAILY;BYSETPOS=1", duration: d, tz }, "invalid_rrule", /BYSETPOS needs another BY part/);
  rejects({ rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", duration: d, tz }, "invalid_rrule", /needs a DTSTART/);
  rejects({ rrule: "FREQ=DAILY;COUNT=1;UNTIL=20260101", duration: d, tz }, "invalid_rrule", /UNTIL or COUNT, not both/);
  rejects({ rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", duration: d, tz }, "invalid_rrule", /never produces a window/);
  rejects({ rrule: "DTSTART:20260103T220000Z\nRRULE:FREQ=DAILY", duration: d, tz }, "invalid_rrule", /without "Z"/);
  rejects({ rrule: "DTSTART;TZID=Europe/Paris:20260103T220000\nRRULE:FREQ=DAILY", duration: d, tz: "Europe/Berlin" }, "invalid_rrule", /differs from the window's zone Europe\/Berlin/);
  rejects({ rrule: "DTSTART:20260231T220000\nRRULE:FREQ=DAILY", duration: d, tz }, "invalid_rrule", /not a valid date/);
  rejects({ rrule: "FREQ=DAILY\nEXDATE:20260101T000000", duration: d, tz }, "invalid_rrule", /only a DTSTART line and an RRULE line/);
});

test("invalid durations and zones are rejected with what was seen", () => {
  const rrule = "FREQ=DAILY;BYHOUR=22";
  rejects({ rrule, duration: "4h", tz: "UTC" }, "invalid_duration", /ISO 8601.*saw "4h"/);
  rejects({ rrule, duration: "P", tz: "UTC" }, "invalid_duration", /saw "P"/);
  rejects({ rrule, duration: "PT", tz: "UTC" }, "invalid_duration", /saw "PT"/);
  rejects({ rrule, duration: "PT0S", tz: "UTC" }, "invalid_duration", /longer than zero/);
  rejects({ rrule, duration: "P1M", tz: "UTC" }, "invalid_duration", /years or months/);
  rejects({ rrule, duration: "P8D", tz: "UTC" }, "invalid_duration", /at most 7 days/);
  rejects({ rrule, duration: "PT4H", tz: "America/Nowhere" }, "invalid_zone", /unknown time zone "America\/Nowhere"/);
});

test("durations combine days and exact time", () => {
  const w = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=22", duration: "P1DT2H30M", tz: "UTC" });
  assert.equal({ days: w.duration.days, exactMs: w.duration.exactMs }, { days: 1, exactMs: 9_000_000 });
  assert.is(parseWindow({ rrule: "FREQ=DAILY", duration: "P1W", tz: "UTC" }).duration.days, 7);
});

test("a look-up stays fast for a rule without DTSTART", () => {
  const w = parseWindow({ rrule: "FREQ=DAILY;BYHOUR=22", duration: "PT4H", tz: "America/New_York" });
  const started = performance.now();
  for (let i = 0; i < 100; i++) isInWindow([w], new Date(Date.UTC(2026, 0, 1) + i * 3_600_000 * 7));
  // Iterating from a fixed anchor in 2000 took ~50 ms per call; from `lo` it is well under one.
  assert.ok(performance.now() - started < 2000, `100 look-ups took ${performance.now() - started} ms`);
});

test.run();
