/**
 * Words and numbers of partner billing (pure): amounts in integer cents as money and back (what people type
 * into the plan form), percentages with at most two decimals, months as words, and the last month a
 * statement may be issued for. Ranges (no negative price, at most 100 %) are the relay's to check: these only
 * turn text into the numbers the API takes.
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

const AMOUNT = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/;

/**
 * Integer cents for what a person typed as an amount ("500", "499.9", "1,234.56", "$12"), or null when it is
 * not an amount with at most two decimals. A minus sign is kept: the form that reads the amount says which
 * range it allows.
 */
export function parseMoney(text: string): number | null {
  const m = AMOUNT.exec(text.trim().replace(/^(-?)\s*[$€£]\s*/, "$1").replace(/,(?=\d{3}(\D|$))/g, ""));
  if (!m) return null;
  const cents = Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0"));
  return m[1] ? -cents : cents;
}

/** Integer cents as the plain amount a form field shows ("500.00"); "" for null. */
export function amountInput(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return "";
  const abs = Math.abs(cents);
  return `${cents < 0 ? "-" : ""}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** A percentage a person typed ("20", "12.5", "7.25 %"), or null when it is not a number with at most two decimals. */
export function parsePercent(text: string): number | null {
  const m = AMOUNT.exec(text.trim().replace(/\s*%$/, ""));
  if (!m) return null;
  const v = Number(`${m[2]}.${(m[3] ?? "").padEnd(2, "0")}`);
  return m[1] ? -v : v;
}
