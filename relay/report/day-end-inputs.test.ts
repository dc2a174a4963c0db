import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { dailyHistory, scoreSite, type ScoreInput } from "../scores/mod.ts";
import { DayEndInputs } from "./day-end-inputs.ts";

const DAY = 86_400_000;
const START = Date.UTC(2026, 8, 1);
const CHECKS = ["linux.backup_status", "linux.disk_encryption", "windows.bitlocker", "windows.local_admins", "linux.time_sync"];
const STATUSES = ["pass", "fail", "error", "not_applicable"] as const;

const inputArb = fc.record({
  check: fc.option(fc.constantFrom(...CHECKS), { freq: 6 }),
  host_id: fc.constantFrom("h1", "h2", "h3"),
  appliance_id: fc.constantFrom("app_aaaaaaaa", "app_bbbbbbbb"),
  status: fc.constantFrom(...STATUSES),
  // Every 6 hours over 40 days, so that ties at one instant are common; some land on a day's last millisecond.
  at: fc.oneof(fc.integer({ min: 0, max: 40 * 4 }).map((q) => START - 5 * DAY + q * 6 * 3_600_000), fc.integer({ min: 0, max: 40 }).map((d) => START + d * DAY - 1)),
});

function toInput(x: { check: string | null; host_id: string; appliance_id: string; status: (typeof STATUSES)[number]; at: number }): ScoreInput {
  const base = { host_id: x.host_id, appliance_id: x.appliance_id, finished_at: new Date(x.at).toISOString() };
  return x.check === null ? { ...base, check: null, status: "error" } : { ...base, check: x.check, status: x.status };
}

test("DayEndInputs keeps scoring at every day's end exactly the same as over all inputs", () => {
  fc.assert(
    fc.property(fc.array(inputArb, { minLength: 20, maxLength: 300, size: "max" }), (raw) => {
      const all = raw.map(toInput);
      const kept = new DayEndInputs();
      for (const x of all) kept.add(x, Date.parse(x.finished_at));
      const compact = kept.inputs();
      assert.is(kept.seen, all.length);
      const range = { from: "2026-08-28", to: "2026-10-05" };
      assert.equal(dailyHistory(compact, range), dailyHistory(all, range));
      for (const day of [0, 7, 29, 34]) {
        const now = new Date(START + (day + 1) * DAY - 1);
        assert.equal(scoreSite(compact, { now, catalogue }), scoreSite(all, { now, catalogue }));
      }
    }),
    { numRuns: 150 },
  );
});

test("DayEndInputs keeps one result per (check, host, day) unless several share the newest instant", () => {
  const kept = new DayEndInputs();
  const add = (check: string | null, host: string, iso: string, status: "pass" | "fail" | "error" = "pass", appliance_id = "app_aaaaaaaa") =>
    kept.add(check === null ? { appliance_id, host_id: host, check: null, status: "error", finished_at: iso } : { appliance_id, host_id: host, check, status, finished_at: iso }, Date.parse(iso));
  add("c.x", "h1", "2026-09-01T01:00:00.000Z");
  add("c.x", "h1", "2026-09-01T03:00:00.000Z", "fail");
  add("c.x", "h1", "2026-09-01T03:00:00.000Z", "pass", "app_bbbbbbbb");
  add("c.x", "h1", "2026-09-01T02:00:00.000Z");
  add("c.x", "h1", "2026-09-02T00:00:00.000Z");
  add(null, "h1", "2026-09-01T04:00:00.000Z");
  add(null, "h1", "2026-09-01T05:00:00.000Z");
  assert.equal(kept.inputs().map((x) => [x.check, x.finished_at.slice(0, 13), x.status, x.appliance_id]), [
    ["c.x", "2026-09-01T03", "fail", "app_aaaaaaaa"],
    ["c.x", "2026-09-01T03", "pass", "app_bbbbbbbb"],
    ["c.x", "2026-09-02T00", "pass", "app_aaaaaaaa"],
    [null, "2026-09-01T05", "error", "app_aaaaaaaa"],
  ]);
});

test.run();
