import { test } from "uvu";
import * as assert from "uvu/assert";
import { amountInput, lastClosedMonth, money, monthText, parseMoney, parsePercent } from "./billing-format.ts";

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

test("parseMoney() turns a typed amount into the API's integer cents, exactly", () => {
  assert.is(parseMoney("500"), 50000);
  assert.is(parseMoney(" 499.9 "), 49990);
  assert.is(parseMoney("0.29"), 29, "no 0.29 * 100 = 28.999… drift");
  assert.is(parseMoney("1,234.56"), 123456);
  assert.is(parseMoney("$12"), 1200);
  assert.is(parseMoney("-5"), -500, "the sign is kept: the relay refuses negative prices and says so");
  assert.is(parseMoney("-$5.50"), -550);
  for (const bad of ["", "abc", "12.345", "1.2.3", "12,34", "5e3", "--5"]) assert.is(parseMoney(bad), null, JSON.stringify(bad));
});

test("amountInput() shows cents as a plain amount a form field holds, and parseMoney() reads it back", () => {
  assert.is(amountInput(50000), "500.00");
  assert.is(amountInput(1505), "15.05");
  assert.is(amountInput(7), "0.07");
  assert.is(amountInput(-550), "-5.50");
  assert.is(amountInput(null), "");
  for (const c of [0, 1, 29, 1505, 99_999_999]) assert.is(parseMoney(amountInput(c)), c);
});

test("parsePercent() reads a share with at most two decimals", () => {
  assert.is(parsePercent("20"), 20);
  assert.is(parsePercent("12.5"), 12.5);
  assert.is(parsePercent("7.25 %"), 7.25);
  assert.is(parsePercent("-1"), -1, "the relay owns the range");
  for (const bad of ["", "ten", "1.234", "20%%"]) assert.is(parsePercent(bad), null, JSON.stringify(bad));
});

test.run();
