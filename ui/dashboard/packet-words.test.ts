import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Packet } from "../relay-client/mod.ts";
import { reportTime } from "./format.ts";
import { monthEnd, scoreCaveats } from "./packet-words.ts";

type Summary = Packet["summary"];
const summary = (s: Partial<Summary> = {}): Summary => ({ overall: 92, previous: null, controls_ready: 20, controls_total: 26, incidents: 0, incidents_open: 0, bundles: 100, appliances: 1, ...s });
const codes = (s: Summary, framework: Packet["framework"] = "hipaa") => scoreCaveats({ summary: s, framework }).map((c) => c.code);

test("scoreCaveats() warns when every result behind the score was out of date, naming how many and the newest (UTC)", () => {
  const [c, ...rest] = scoreCaveats({ framework: "hipaa", summary: summary({ score_basis: { results: 12, stale: 12, newest_at: "2026-09-20T18:30:00.000Z" } }) });
  assert.equal(rest, []);
  assert.is(c!.code, "stale_all");
  assert.is(c!.label, "Out of date");
  // en-GB says "Sep" or "Sept" depending on the ICU version.
  assert.match(c!.text, /^None of the 12 check results behind this score was recent enough at month end \(the newest is from 20 Sept? 2026, 18:30 UTC\): it shows the site as it was then, not at the end of the month\.$/);
});

test("scoreCaveats() says how many results were out of date when only some were", () => {
  const [c] = scoreCaveats({ framework: "hipaa", summary: summary({ score_basis: { results: 12, stale: 1, newest_at: "2026-09-30T23:00:00.000Z" } }) });
  assert.equal([c!.code, c!.label], ["stale_some", "Partly out of date"]);
  assert.is(c!.text, "1 of the 12 check results behind this score was not recent enough at month end: the score partly shows an earlier state.");
});

test("scoreCaveats() never lets a score beside 0 ready controls read as good news, in the packet's framework's words", () => {
  const [c] = scoreCaveats({ framework: "soc2", summary: summary({ controls_ready: 0, score_basis: { results: 3, stale: 0, newest_at: "2026-09-30T23:00:00.000Z" } }) });
  assert.equal([c!.code, c!.label], ["none_ready", "No control ready"]);
  assert.is(c!.text, "No SOC 2 control was ready at month end, so this score is not a sign that SOC 2 controls are met.");
  assert.equal(codes(summary({ controls_ready: 0, score_basis: { results: 3, stale: 3, newest_at: null } })), ["stale_all", "none_ready"], "both, most serious first");
});

test("scoreCaveats() says nothing for fresh results with ready controls, for no score, or about age on packets stored without score_basis", () => {
  assert.equal(codes(summary({ score_basis: { results: 8, stale: 0, newest_at: "2026-09-30T23:00:00.000Z" } })), []);
  assert.equal(codes(summary({ overall: null, controls_ready: 0, score_basis: { results: 0, stale: 0, newest_at: null } })), [], "'No data' is already no good news");
  assert.equal(codes(summary()), [], "an old packet: nothing known about its results' age");
  assert.equal(codes(summary({ controls_ready: 0 })), ["none_ready"], "an old packet's stored figures still show 0 ready controls");
});

test("monthEnd() is the first instant of the next month, UTC, also across a year", () => {
  assert.is(monthEnd("2026-09"), "2026-10-01T00:00:00.000Z");
  assert.is(monthEnd("2026-12"), "2027-01-01T00:00:00.000Z");
});

test("reportTime() gives a report's times in UTC with the zone named, as the PDF prints them", () => {
  assert.match(reportTime("2026-10-01T00:00:00.000Z"), /^1 Oct 2026, 00:00 UTC$/);
  assert.match(reportTime("2026-09-30T23:59:00.000Z"), /^30 Sept? 2026, 23:59 UTC$/);
  assert.is(reportTime(null), "—");
});
test.run();
