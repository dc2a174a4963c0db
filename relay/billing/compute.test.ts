/** Statement arithmetic, checked against numbers worked out by hand (the working is in each test). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RelayError } from "../errors.ts";
import { computeStatement, type ClinicInput } from "./compute.ts";
import { formatBp, formatCents, monthBounds, overlapDays, prorate, roundDiv, shareOf } from "./money.ts";

const clinic = (org_name: string, plan: Partial<ClinicInput["plan"]>, monitored: number, appliances = 1): ClinicInput => ({
  org_id: `org_${org_name.toLowerCase().replace(/\W/g, "")}`,
  org_name,
  plan: { currency: "USD", monthly_price_cents: 0, included_devices: 0, extra_device_cents: 0, starts_on: "2026-01-01", ends_on: null, ...plan },
  active_appliances: appliances,
  monitored_devices: monitored,
});

const TIERS = [{ min_clinics: 1, share_bp: 2000 }, { min_clinics: 3, share_bp: 2500 }];

test("roundDiv rounds half away from zero; prorate and shareOf use it", () => {
  assert.is(roundDiv(7, 2), 4);
  assert.is(roundDiv(-7, 2), -4);
  assert.is(roundDiv(26_666_67, 100), 26667);
  assert.is(prorate(40000, 20, 30), 26667); // 800000 / 30 = 26666.67
  assert.is(shareOf(29334, 2500), 7334); // 7333.5 → 7334
  assert.is(shareOf(-29334, 2500), -7334);
  assert.throws(() => roundDiv(1, 0), (e: unknown) => e instanceof RangeError);
});

test("months and overlaps are counted in whole UTC days, inclusive", () => {
  assert.equal(monthBounds("2026-11"), { days: 30, first: "2026-11-01", last: "2026-11-30", next: "2026-12-01" });
  assert.is(monthBounds("2028-02").days, 29);
  assert.is(overlapDays("2026-11-11", null, "2026-11-01", "2026-11-30"), 20); // 11th..30th
  assert.is(overlapDays("2025-06-01", "2026-11-20", "2026-11-01", "2026-11-30"), 20); // 1st..20th
  assert.is(overlapDays("2026-12-01", null, "2026-11-01", "2026-11-30"), 0);
  assert.is(overlapDays("2026-10-01", "2026-10-31", "2026-11-01", "2026-11-30"), 0);
  assert.is(overlapDays("2026-11-30", "2026-11-30", "2026-11-01", "2026-11-30"), 1);
  assert.throws(() => monthBounds("2026-13"), (e: unknown) => e instanceof RangeError && e.message.includes('"2026-13"'));
});

test("November 2026: a full-month clinic with extra devices, one joining on the 11th, one leaving on the 20th", () => {
  const s = computeStatement("2026-11", [
    // Alder: $500.00, 10 included, $15.00 per extra; 13 monitored → 3 extra. Full month (30/30).
    //   base 50000; extras 3 × 1500 = 4500; amount 54500.
    clinic("Alder Family Clinic", { monthly_price_cents: 50000, included_devices: 10, extra_device_cents: 1500 }, 13, 2),
    // Birch: joins 2026-11-11 → 20 of 30 days. $300.00, 5 included, 5 monitored → 0 extra.
    //   base round(30000 × 20 / 30) = 20000; extras 0; amount 20000.
    clinic("Birch Dental", { monthly_price_cents: 30000, included_devices: 5, extra_device_cents: 1000, starts_on: "2026-11-11" }, 5),
    // Cedar: leaves 2026-11-20 → 20 of 30 days. $400.00, 8 included, $20.00 per extra; 10 monitored → 2 extra.
    //   base round(40000 × 20 / 30) = round(26666.67) = 26667; extras round(2 × 2000 × 20 / 30) = round(2666.67) = 2667;
    //   amount 29334.
    clinic("Cedar Pediatrics", { monthly_price_cents: 40000, included_devices: 8, extra_device_cents: 2000, starts_on: "2025-06-01", ends_on: "2026-11-20" }, 10),
    // Dogwood starts in December: no line.
    clinic("Dogwood Clinic", { monthly_price_cents: 99900, starts_on: "2026-12-01" }, 0),
  ], TIERS);
  // 3 clinics reach the second tier: 25 % (2500 bp).
  //   shares: 54500 × 0.25 = 13625; 20000 × 0.25 = 5000; 29334 × 0.25 = 7333.5 → 7334.
  //   totals: 54500 + 20000 + 29334 = 103834; 13625 + 5000 + 7334 = 25959.
  assert.is(s.days_in_month, 30);
  assert.is(s.share_bp, 2500);
  assert.equal(s.lines.map((l) => [l.org_name, l.active_days, l.active_appliances, l.monitored_devices, l.extra_devices, l.base_cents, l.extras_cents, l.amount_cents, l.share_cents]), [
    ["Alder Family Clinic", 30, 2, 13, 3, 50000, 4500, 54500, 13625],
    ["Birch Dental", 20, 1, 5, 0, 20000, 0, 20000, 5000],
    ["Cedar Pediatrics", 20, 1, 10, 2, 26667, 2667, 29334, 7334],
  ]);
  assert.equal(s.totals, { amount_cents: 103834, share_cents: 25959 });
});

test("with fewer clinics the first tier applies: one clinic, one day of February 2026 (28 days)", () => {
  // Elm joins on the 28th: 1 of 28 days. $280.00 → base round(28000 × 1 / 28) = 1000.
  //   4 extra devices × $7.00 = 2800 → round(2800 × 1 / 28) = 100. Amount 1100; share 20 % = 220.
  const s = computeStatement("2026-02", [clinic("Elm Clinic", { monthly_price_cents: 28000, included_devices: 1, extra_device_cents: 700, starts_on: "2026-02-28" }, 5)], TIERS);
  assert.is(s.days_in_month, 28);
  assert.is(s.share_bp, 2000);
  assert.equal([s.lines[0]!.base_cents, s.lines[0]!.extras_cents, s.lines[0]!.amount_cents, s.lines[0]!.share_cents], [1000, 100, 1100, 220]);
});

test("no tiers configured means no share; no clinics means an empty statement", () => {
  const s = computeStatement("2026-11", [clinic("Fir", { monthly_price_cents: 10000 }, 0)], []);
  assert.equal([s.share_bp, s.lines[0]!.share_cents, s.totals.amount_cents], [0, 0, 10000]);
  assert.equal(computeStatement("2026-11", [], TIERS).totals, { amount_cents: 0, share_cents: 0 });
});

test("clinics billed in different currencies cannot share a statement", () => {
  assert.throws(
    () => computeStatement("2026-11", [clinic("A", { currency: "USD" }, 0), clinic("B", { currency: "CAD" }, 0)], TIERS),
    (e: unknown) => e instanceof RelayError && e.code === "currency_mismatch" && e.message.includes("(USD, CAD)"),
  );
});

test("amounts and rates print as decimals", () => {
  assert.is(formatCents(103834), "1038.34");
  assert.is(formatCents(-5), "-0.05");
  assert.is(formatCents(0), "0.00");
  assert.is(formatBp(2500), "25.00%");
  assert.is(formatBp(1234), "12.34%");
});

test.run();
