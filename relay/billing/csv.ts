/**
 * A statement as CSV (RFC 4180, CRLF line ends): one row per line plus a total row, every row carrying the
 * statement id, partner, month and currency so rows stay meaningful when filtered or pasted elsewhere.
 * Amounts are decimal strings (`1234.56`); empty cells are blank. Same statement, same bytes.
 */
import { formatBp, formatCents } from "./money.ts";
import type { Statement } from "./statements.ts";

export const CSV_COLUMNS = [
  "statement_id", "partner", "month", "currency", "line", "kind", "organisation", "org_id", "plan_monthly", "included_devices", "extra_device_price",
  "active_days", "days_in_month", "active_appliances", "monitored_devices", "extra_devices", "base", "extras", "amount", "share_rate", "partner_share", "note",
] as const;

/** Columns holding free text (names, notes): a leading =, +, - or @ there is prefixed with ' (no spreadsheet formulas). */
const TEXT_COLUMNS: ReadonlySet<number> = new Set([1, 6, 21]);

/** One cell: quoted when it holds a comma, quote or line break. */
export function csvCell(v: string | number | null, text = false): string {
  if (v === null) return "";
  let s = String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function statementCsv(s: Statement): string {
  const money = (c: number | null) => (c === null ? null : formatCents(c));
  const rows: (string | number | null)[][] = [[...CSV_COLUMNS]];
  for (const l of s.lines) {
    rows.push([
      s.id, s.partner_name, s.month, s.currency, l.line_no, l.kind, l.org_name, l.org_id, money(l.plan_monthly_cents), l.included_devices, money(l.extra_device_cents),
      l.active_days, l.kind === "clinic" ? s.days_in_month : null, l.active_appliances, l.monitored_devices, l.extra_devices, money(l.base_cents), money(l.extras_cents),
      formatCents(l.amount_cents), formatBp(s.share_bp), formatCents(l.share_cents), l.note,
    ]);
  }
  rows.push([s.id, s.partner_name, s.month, s.currency, null, "total", null, null, null, null, null, null, null, null, null, null, null, null, formatCents(s.totals.amount_cents), formatBp(s.share_bp), formatCents(s.totals.share_cents), null]);
  return rows.map((r, n) => r.map((c, i) => csvCell(c, n > 0 && TEXT_COLUMNS.has(i))).join(",")).join("\r\n") + "\r\n";
}
