/**
 * Report months (`YYYY-MM`, UTC) and frameworks: parsing at the boundary and the time bounds every packet
 * query uses. A month is the half-open interval [first instant, first instant of the next month).
 */
import { z } from "zod";
import { FRAMEWORKS, type Framework } from "../../protocol/catalogue/mod.ts";
import { parseSchema } from "../../protocol/schema.ts";

/** Oldest month a packet may be asked for: before it there was no OsirisCare evidence to report. */
export const FIRST_MONTH = "2020-01";

export const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const monthSchema = z
  .string()
  .regex(MONTH_PATTERN, "expected a month YYYY-MM, e.g. 2026-10")
  .refine((m) => m >= FIRST_MONTH, { message: `must not be before ${FIRST_MONTH}` });

export const frameworkSchema = z.enum(FRAMEWORKS);

export interface MonthBounds {
  month: string;
  /** First instant of the month, ms since the epoch (inclusive). */
  from: number;
  /** First instant of the next month (exclusive). */
  to: number;
  /** Days in the month. */
  days: number;
}

/** The bounds of a `YYYY-MM` month; throws ValidationError("schema") naming the value otherwise. */
export function monthBounds(month: string): MonthBounds {
  const m = MONTH_PATTERN.exec(parseSchema(monthSchema, month, { what: "month", at: ["month"] }))!;
  const year = Number(m[1]), index = Number(m[2]) - 1;
  const from = Date.UTC(year, index, 1);
  const to = Date.UTC(year, index + 1, 1);
  return { month, from, to, days: Math.round((to - from) / 86_400_000) };
}

/** The month an instant falls in. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The month before `month`. */
export function previousMonth(month: string): string {
  return monthOf(monthBounds(month).from - 1);
}

/** Parses a framework name (`hipaa`, `soc2`, `glba`); ValidationError("schema") otherwise. */
export function parseFramework(value: unknown): Framework {
  return parseSchema(frameworkSchema, value, { what: "framework", at: ["framework"] });
}
