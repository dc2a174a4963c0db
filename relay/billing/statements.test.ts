/** Partner statements on a real relay database: issued from inventory and plans, immutable, corrected by new lines. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RelayError } from "../errors.ts";
import { testRelay, type TestRelay } from "../_testing.ts";
import { statementCsv } from "./csv.ts";
import { statementPdf } from "./pdf.ts";
import { addCorrection, issueStatement, listStatements } from "./statements.ts";
import { billingFixture, DEC_2 } from "./_fixture.ts";

const run = promisify(execFile);
const rejects = async (p: Promise<unknown>, check: (e: unknown) => boolean) => {
  const e = await p.then(() => null, (x: unknown) => x);
  assert.ok(e !== null && check(e), `expected a rejection, got ${String(e)}`);
};

async function issued(relay: TestRelay) {
  const f = await billingFixture(relay);
  relay.clock.t = DEC_2;
  const s = await issueStatement(relay.db, f.partnerId, "2026-11", "admin@msp.test", relay.deps);
  return { f, s };
}

test("November's statement: per clinic the plan, appliances, monitored devices, pro-rated amounts and the 25 % tier", async () => {
  const relay = await testRelay();
  try {
    const { s } = await issued(relay);
    // Worked out in compute.test.ts: Alder 54500 / 13625, Birch 20000 / 5000, Cedar 29334 / 7334.
    assert.equal(s.lines.map((l) => [l.line_no, l.kind, l.org_name, l.active_days, l.active_appliances, l.monitored_devices, l.extra_devices, l.base_cents, l.extras_cents, l.amount_cents, l.share_cents]), [
      [1, "clinic", "Alder Family Clinic", 30, 2, 13, 3, 50000, 4500, 54500, 13625],
      [2, "clinic", "Birch Dental", 20, 1, 5, 0, 20000, 0, 20000, 5000],
      [3, "clinic", "Cedar Pediatrics", 20, 1, 10, 2, 26667, 2667, 29334, 7334],
    ]);
    assert.equal([s.month, s.currency, s.days_in_month, s.clinics, s.share_bp, s.partner_name], ["2026-11", "USD", 30, 3, 2500, "Northwind IT"]);
    // 54500 + 20000 + 29334 = 103834; 13625 + 5000 + 7334 = 25959; net 103834 − 25959 = 77875.
    assert.equal(s.totals, { amount_cents: 103834, share_cents: 25959, msp_net_cents: 77875 });
    assert.is(s.issued_at, "2026-12-02T09:00:00.000Z");
  } finally {
    await relay.close();
  }
});

test("a month is issued once, and only after it ended", async () => {
  const relay = await testRelay();
  try {
    const { f, s } = await issued(relay);
    await rejects(issueStatement(relay.db, f.partnerId, "2026-11", "x", relay.deps), (e) => e instanceof RelayError && e.code === "statement_exists" && e.message.includes(s.id));
    await rejects(issueStatement(relay.db, f.partnerId, "2026-12", "x", relay.deps), (e) => e instanceof RelayError && e.code === "month_not_ended" && e.message.includes("2027-01-01T00:00:00Z"));
    assert.equal((await listStatements(relay.db, f.partnerId)).map((x) => x.id), [s.id]);
  } finally {
    await relay.close();
  }
});

test("an issued statement cannot be changed in the database: UPDATE, DELETE and extra clinic lines are refused", async () => {
  const relay = await testRelay();
  try {
    const { s } = await issued(relay);
    const err = (sql: string, args: (string | number)[] = []) => relay.db.execute({ sql, args }).then(() => "accepted", (e: Error) => e.message);
    assert.match(await err("UPDATE partner_statements SET share_bp = 0 WHERE id = ?", [s.id]), /immutable/);
    assert.match(await err("DELETE FROM partner_statements WHERE id = ?", [s.id]), /immutable/);
    assert.match(await err("UPDATE statement_lines SET amount_cents = 1 WHERE statement_id = ?", [s.id]), /immutable/);
    assert.match(await err("DELETE FROM statement_lines WHERE statement_id = ?", [s.id]), /immutable/);
    assert.match(
      await err("INSERT INTO statement_lines (statement_id, line_no, kind, org_name, amount_cents, share_cents, created_at, created_by) VALUES (?, 9, 'clinic', 'Sneaky', 1, 0, 'x', 'x')", [s.id]),
      /add a correction line/,
    );
  } finally {
    await relay.close();
  }
});

test("a correction is a new line: it changes the totals, never the original lines", async () => {
  const relay = await testRelay();
  try {
    const { f, s } = await issued(relay);
    // Outage credit of $25.00 to Cedar; its share follows the statement's 25 %: −2500 × 0.25 = −625.
    const c = await addCorrection(relay.db, s.id, { org_id: f.orgs.cedar, description: "Outage credit 2026-11-14", amount_cents: -2500, corrects_line: 3 }, "admin@msp.test", relay.deps);
    assert.equal(c.lines.slice(0, 3), s.lines, "the issued lines are untouched");
    assert.equal([c.lines[3]!.line_no, c.lines[3]!.kind, c.lines[3]!.org_name, c.lines[3]!.amount_cents, c.lines[3]!.share_cents, c.lines[3]!.note], [4, "correction", "Cedar Pediatrics", -2500, -625, "Outage credit 2026-11-14"]);
    // 103834 − 2500 = 101334; 25959 − 625 = 25334; net 76000.
    assert.equal(c.totals, { amount_cents: 101334, share_cents: 25334, msp_net_cents: 76000 });
    await rejects(addCorrection(relay.db, s.id, { org_id: f.orgs.direct, description: "x", amount_cents: 1 }, "a", relay.deps), (e) => e instanceof RelayError && e.code === "schema" && e.message.includes("not a clinic of this statement's partner"));
    await rejects(addCorrection(relay.db, s.id, { description: "", amount_cents: 1 }, "a", relay.deps), (e) => e instanceof Error && e.message.includes("description"));
  } finally {
    await relay.close();
  }
});

test("CSV: one row per line and a total row, amounts as decimals, the same bytes every time", async () => {
  const relay = await testRelay();
  try {
    const { s } = await issued(relay);
    const csv = statementCsv(s);
    assert.is(csv, statementCsv(s));
    const rows = csv.trimEnd().split("\r\n");
    assert.is(rows[0], "statement_id,partner,month,currency,line,kind,organisation,org_id,plan_monthly,included_devices,extra_device_price,active_days,days_in_month,active_appliances,monitored_devices,extra_devices,base,extras,amount,share_rate,partner_share,note");
    assert.is(rows.length, 5);
    const cedar = rows[3]!.split(",");
    assert.equal([cedar[6], cedar[8], cedar[9], cedar[10], cedar[11], cedar[12], cedar[16], cedar[17], cedar[18], cedar[19], cedar[20]], ["Cedar Pediatrics", "400.00", "8", "20.00", "20", "30", "266.67", "26.67", "293.34", "25.00%", "73.34"]);
    assert.is(rows[4], `${s.id},Northwind IT,2026-11,USD,,total,,,,,,,,,,,,,1038.34,25.00%,259.59,`);
  } finally {
    await relay.close();
  }
});

test("PDF: deterministic bytes, and its text shows every clinic and the totals", async () => {
  const relay = await testRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-statement-"));
  try {
    const { s } = await issued(relay);
    const a = await statementPdf(s);
    const b = await statementPdf(s);
    assert.equal(Buffer.from(a).toString("hex"), Buffer.from(b).toString("hex"), "same statement, same bytes");
    assert.is(Buffer.from(a.subarray(0, 5)).toString(), "%PDF-");
    await writeFile(join(dir, "s.pdf"), a);
    const { stdout } = await run("pdftotext", ["-layout", join(dir, "s.pdf"), "-"]);
    for (const text of ["Partner statement", "Northwind IT", "November 2026", "Alder Family Clinic", "Birch Dental", "Cedar Pediatrics", "20/30", "1038.34", "259.59", "778.75", "25.00%"]) {
      assert.ok(stdout.includes(text), `${text} missing from:\n${stdout}`);
    }
    assert.not.ok(stdout.includes("Dogwood"), "a clinic with no active day has no line");
  } finally {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
