import { test } from "uvu";
import * as assert from "uvu/assert";
import { lastClosedMonth, money, monthText } from "./billing-format.ts";

test("money() shows integer cents as the statement's currency, never a rounding drift", () => {
  assert.is(money(68484, "USD"), "$684.84");
  assert.is(money(-5000, "USD"), "-$50.00");
  assert.is(money(123456789, "EUR"), "€1,234,567.89");
  assert.is(money(null, "USD"), "—");
});

test("monthText() names a YYYY-MM month; lastClosedMonth() is the month before now's (UTC)", () => {
  assert.is(monthText("2026-10"), "October 2026");
  assert.is(lastClosedMonth(Date.UTC(2026, 10, 28, 12)), "2026-10");
  assert.is(lastClosedMonth(Date.UTC(2027, 0, 1, 0, 0, 1)), "2026-12", "across a year");
  assert.is(lastClosedMonth(Date.UTC(2026, 2, 31, 23, 59)), "2026-02");
});

test.run();
