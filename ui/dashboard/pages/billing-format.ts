/**
 * Words and numbers of partner statements (pure): amounts in integer cents as money, months as words, and
 * the last month a statement may be issued for.
 */

/** "$1,234.56" (amounts are integer cents). */
export function money(cents: number | null, currency: string): string {
  if (cents === null) return "—";
  return new Intl.NumberFormat("en-US", { style: "currency", currency, currencyDisplay: "narrowSymbol" }).format(cents / 100);
}

/** "October 2026" for "2026-10". */
export function monthText(month: string): string {
  return new Intl.DateTimeFormat("en-GB", { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(`${month}-01T00:00:00Z`));
}

/** The last month that has ended (UTC) at `now`, as YYYY-MM. */
export function lastClosedMonth(now: number): string {
  const d = new Date(now);
  const prev = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1));
  return prev.toISOString().slice(0, 7);
}
