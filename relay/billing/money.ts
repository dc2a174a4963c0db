/**
 * Integer money: amounts are cents, shares basis points (1 bp = 0.01 %). Every division rounds half away from
 * zero, once, at the point the statement shows a number, so a reader can redo each line with a pencil.
 */

/** n / d rounded half away from zero (d > 0). */
export function roundDiv(n: number, d: number): number {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(d) || d <= 0) throw new RangeError(`Cannot divide ${n} by ${d}: integers with a positive divisor expected`);
  const q = Math.floor((2 * Math.abs(n) + d) / (2 * d));
  return n < 0 ? -q : q;
}

/** A monthly amount for `days` of a `daysInMonth`-day month. */
export const prorate = (cents: number, days: number, daysInMonth: number): number => roundDiv(cents * days, daysInMonth);

/** `bp` basis points of an amount. */
export const shareOf = (cents: number, bp: number): number => roundDiv(cents * bp, 10_000);

/** 123456 → "1234.56"; -5 → "-0.05" (CSV, PDF). */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const a = Math.abs(cents);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

/** 2000 → "20.00%". */
export const formatBp = (bp: number): string => `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, "0")}%`;

/** Days in a `YYYY-MM` month, and its first day, last day and the first day of the next month (UTC dates). */
export function monthBounds(month: string): { days: number; first: string; last: string; next: string } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new RangeError(`month: expected YYYY-MM like 2026-11: current value is ${JSON.stringify(month)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  return { days, first: iso(Date.UTC(y, mo - 1, 1)), last: iso(Date.UTC(y, mo - 1, days)), next: iso(Date.UTC(y, mo, 1)) };
}

/** Days of [from, to] (inclusive `YYYY-MM-DD` dates) that fall within [first, last]; 0 when they do not meet. */
export function overlapDays(from: string, to: string | null, first: string, last: string): number {
  const start = from > first ? from : first;
  const end = to === null || to > last ? last : to;
  if (end < start) return 0;
  return Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000) + 1;
}
