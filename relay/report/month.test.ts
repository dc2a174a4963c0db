import { test } from "uvu";
import * as assert from "uvu/assert";
import { ValidationError } from "../../protocol/errors.ts";
import { monthBounds, monthOf, parseFramework, previousMonth } from "./month.ts";

test("monthBounds() gives the UTC half-open interval and the number of days", () => {
  assert.equal(monthBounds("2026-09"), { month: "2026-09", from: Date.UTC(2026, 8, 1), to: Date.UTC(2026, 9, 1), days: 30 });
  assert.is(monthBounds("2028-02").days, 29);
  assert.is(monthBounds("2026-12").to, Date.UTC(2027, 0, 1));
});

test("monthBounds() refuses anything but YYYY-MM from 2020 on, naming the value", () => {
  for (const bad of ["2026-13", "2026-9", "2026-09-01", "Sept 2026", "2019-12", ""]) {
    assert.throws(() => monthBounds(bad), (e: unknown) => e instanceof ValidationError && e.code === "schema" && e.message.includes("month"), bad);
  }
});

test("previousMonth() and monthOf() cross year boundaries", () => {
  assert.is(previousMonth("2027-01"), "2026-12");
  assert.is(monthOf(Date.UTC(2026, 10, 30, 23, 59, 59, 999)), "2026-11");
});

test("parseFramework() accepts hipaa, soc2, glba only", () => {
  assert.is(parseFramework("soc2"), "soc2");
  assert.throws(() => parseFramework("pci"), (e: unknown) => e instanceof ValidationError && e.message.includes("pci"));
});

test.run();
