import { test } from "uvu";
import * as assert from "uvu/assert";
import { WindowError } from "./error.ts";
import { formatOffsetIso, TimeZone, type WallTime } from "./zone.ts";

const wall = (y: number, mo: number, d: number, h: number, mi = 0, s = 0): WallTime => ({ year: y, month: mo, day: d, hour: h, minute: mi, second: s, millisecond: 0 });
const iso = (ms: number) => new Date(ms).toISOString();

test("toInstant converts ordinary wall times in winter and summer", () => {
  const ny = TimeZone.of("America/New_York");
  assert.is(iso(ny.toInstant(wall(2026, 1, 15, 22))), "2026-01-16T03:00:00.000Z");
  assert.is(iso(ny.toInstant(wall(2026, 7, 15, 22))), "2026-07-16T02:00:00.000Z");
  assert.is(iso(TimeZone.of("Asia/Kathmandu").toInstant(wall(2026, 1, 1, 0))), "2025-12-31T18:15:00.000Z");
  assert.is(iso(TimeZone.of("UTC").toInstant(wall(2026, 1, 1, 0))), "2026-01-01T00:00:00.000Z");
});

test("toInstant shifts a wall time in the spring-forward gap forward by the gap (New York, Berlin)", () => {
  // 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist and becomes 03:30 EDT.
  assert.is(iso(TimeZone.of("America/New_York").toInstant(wall(2026, 3, 8, 2, 30))), "2026-03-08T07:30:00.000Z");
  // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 becomes 03:30 CEST.
  assert.is(iso(TimeZone.of("Europe/Berlin").toInstant(wall(2026, 3, 29, 2, 30))), "2026-03-29T01:30:00.000Z");
  // Lord Howe Island moves only 30 minutes: 02:15 (gap 02:00–02:30) becomes 02:45.
  assert.is(iso(TimeZone.of("Australia/Lord_Howe").toInstant(wall(2026, 10, 4, 2, 15))), "2026-10-03T15:45:00.000Z");
});

test("toInstant takes the first of two instants in the fall-back overlap (New York, Berlin)", () => {
  // 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
  assert.is(iso(TimeZone.of("America/New_York").toInstant(wall(2026, 11, 1, 1, 30))), "2026-11-01T05:30:00.000Z");
  // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens at 00:30Z and 01:30Z.
  assert.is(iso(TimeZone.of("Europe/Berlin").toInstant(wall(2026, 10, 25, 2, 30))), "2026-10-25T00:30:00.000Z");
});

test("toInstant round-trips wallTime at every hour of a DST year except gap hours", () => {
  const zone = TimeZone.of("Europe/Berlin");
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 3_600_000) {
    const back = zone.toInstant(zone.wallTime(t));
    // In the overlap the earlier instant wins, so the later one maps back one hour early.
    if (back !== t) assert.is(t - back, 3_600_000, `at ${iso(t)}`);
  }
});

test("formatOffsetIso writes the zone's offset at that instant", () => {
  const at = new Date("2026-03-08T07:30:00Z");
  assert.is(formatOffsetIso(at, "America/New_York"), "2026-03-08T03:30:00-04:00");
  assert.is(formatOffsetIso(new Date("2026-01-16T03:00:00Z"), "America/New_York"), "2026-01-15T22:00:00-05:00");
  assert.is(formatOffsetIso(at, "UTC"), "2026-03-08T07:30:00+00:00");
  assert.is(formatOffsetIso(at, "Asia/Kolkata"), "2026-03-08T13:00:00+05:30");
  assert.is(formatOffsetIso(new Date("2026-03-08T07:30:00.250Z"), "Europe/Berlin"), "2026-03-08T08:30:00.250+01:00");
  assert.is(Date.parse(formatOffsetIso(at, "Australia/Lord_Howe")), at.getTime());
});

test("TimeZone.of rejects unknown zones and raw offsets with invalid_zone", () => {
  for (const bad of ["Mars/Olympus", "+05:00", "", "America/New York"]) {
    try {
      TimeZone.of(bad);
      assert.unreachable(`accepted ${bad}`);
    } catch (e) {
      assert.instance(e, WindowError);
      assert.is((e as WindowError).code, "invalid_zone");
      assert.match((e as Error).message, JSON.stringify(bad));
    }
  }
});

test("conversions outside the supported years throw RangeError", () => {
  assert.throws(() => TimeZone.of("UTC").wallTime(Number.NaN), (e: unknown) => e instanceof RangeError);
  assert.throws(() => formatOffsetIso(new Date("nope"), "UTC"), (e: unknown) => e instanceof RangeError);
});

test.run();
