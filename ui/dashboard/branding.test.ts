import { test } from "uvu";
import * as assert from "uvu/assert";
import { contrast, inkOn, linkColour } from "./branding.ts";

test("contrast() is the WCAG ratio: black on white is 21, a colour on itself is 1", () => {
  assert.ok(Math.abs(contrast("#000000", "#ffffff") - 21) < 1e-9);
  assert.is(contrast("#7a1f5c", "#7a1f5c"), 1);
  assert.ok(Math.abs(contrast("#767676", "#ffffff") - 4.54) < 0.01, "the classic 4.5:1 grey");
});

test("a partner's colour gets the text colour that reads on it, and links fall back when it is too pale", () => {
  assert.is(inkOn("#7a1f5c"), "#ffffff");
  assert.is(inkOn("#ffe066"), "#111418", "pale yellow gets dark text");
  for (const bg of ["#7a1f5c", "#ffe066", "#0b3954", "#88ccee", "#ff0000"]) assert.ok(contrast(bg, inkOn(bg)) >= 4.5, `text on ${bg} meets AA`);
  assert.is(linkColour("#a8327a"), "#a8327a");
  assert.is(linkColour("#ffe066"), "#0b5c8e");
});

test.run();
