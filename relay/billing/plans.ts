/**
 * Billing plans (one per client organisation) and partner revenue shares. A plan is what the clinic pays
 * each month: a monthly price covering `included_devices` monitored devices, plus a price per extra
 * monitored device; it runs from `starts_on` (the clinic joined) to `ends_on` (it left; inclusive), which
 * is what pro-rating by days uses. A partner's share is a percentage of its clinics' amounts, optionally
 * tiered by how many clinics the statement covers (the highest tier reached applies to all of them).
 */
import { z } from "zod";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";

/** Prices above this are typos (a million dollars a month). */
/** ISO 4217 currencies the runtime knows (Intl): a typo such as "XYZ" would otherwise make a statement in no currency. */
const CURRENCIES: ReadonlySet<string> = new Set(typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : ["USD", "CAD", "EUR", "GBP", "AUD"]);

export const MAX_PRICE_CENTS = 100_000_000;
/** Most revenue-share tiers per partner. */
export const MAX_TIERS = 10;

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const date = z
  .string()
  .regex(DATE, "expected a date YYYY-MM-DD")
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), { error: (i) => `expected a real calendar date: current value is ${JSON.stringify(i.input)}` });
const cents = z.number().int().min(0).max(MAX_PRICE_CENTS);

export const planInputSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "expected an ISO 4217 code like USD")
      .refine((c) => CURRENCIES.has(c), "not an ISO 4217 currency this relay knows (e.g. USD, CAD, EUR)")
      .default("USD"),
    monthly_price_cents: cents,
    included_devices: z.number().int().min(0).max(100_000),
    extra_device_cents: cents,
    starts_on: date,
    ends_on: date.nullable().default(null),
  })
  .refine((p) => p.ends_on === null || p.ends_on >= p.starts_on, { path: ["ends_on"], error: "must not be before starts_on" });
export type PlanInput = z.output<typeof planInputSchema>;

export const planSchema = z.object({
  id: z.string(),
  org_id: z.string(),
  currency: z.string(),
  monthly_price_cents: z.number(),
  included_devices: z.number(),
  extra_device_cents: z.number(),
  starts_on: z.string(),
  ends_on: z.string().nullable(),
  updated_at: z.string(),
  updated_by: z.string(),
});
export type Plan = z.output<typeof planSchema>;

export function planFromRow(r: Row): Plan {
  return {
    id: str(r, "id"),
    org_id: str(r, "org_id"),
    currency: str(r, "currency"),
    monthly_price_cents: num(r, "monthly_price_cents"),
    included_devices: num(r, "included_devices"),
    extra_device_cents: num(r, "extra_device_cents"),
    starts_on: str(r, "starts_on"),
    ends_on: strOrNull(r, "ends_on"),
    updated_at: str(r, "updated_at"),
    updated_by: str(r, "updated_by"),
  };
}

/** The organisation's plan, or null. */
export async function getPlan(db: RelayDb | Tx, orgId: string): Promise<Plan | null> {
  const r = (await db.execute({ sql: "SELECT * FROM billing_plans WHERE org_id = ?", args: [orgId] })).rows[0];
  return r ? planFromRow(r) : null;
}

/** Creates or replaces the organisation's plan (validated). Issued statements keep the values they used. */
export async function putPlan(db: RelayDb | Tx, orgId: string, raw: unknown, by: string, env: Env): Promise<Plan> {
  const p = parseSchema(planInputSchema, raw, "plan");
  await db.execute({
    sql: `INSERT INTO billing_plans (id, org_id, currency, monthly_price_cents, included_devices, extra_device_cents, starts_on, ends_on, updated_at, updated_by)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (org_id) DO UPDATE SET currency = excluded.currency, monthly_price_cents = excluded.monthly_price_cents,
            included_devices = excluded.included_devices, extra_device_cents = excluded.extra_device_cents, starts_on = excluded.starts_on,
            ends_on = excluded.ends_on, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    args: [newId("plan", env.random), orgId, p.currency, p.monthly_price_cents, p.included_devices, p.extra_device_cents, p.starts_on, p.ends_on, isoTime(env.clock.now()), by],
  });
  return (await getPlan(db, orgId))!;
}

const percent = z
  .number()
  .min(0)
  .max(100)
  .refine((v) => Number.isInteger(Math.round(v * 100)) && Math.abs(v * 100 - Math.round(v * 100)) < 1e-9, { error: (i) => `at most two decimals: current value is ${String(i.input)}` });

export const revenueShareInputSchema = z.strictObject({
  tiers: z
    .array(z.strictObject({ min_clinics: z.number().int().min(1).max(100_000), share_percent: percent }))
    .min(1)
    .max(MAX_TIERS)
    .refine((t) => t.every((x, i) => i === 0 || x.min_clinics > t[i - 1]!.min_clinics), { error: "min_clinics must increase from tier to tier" }),
});

export interface Tier {
  min_clinics: number;
  share_bp: number;
}

export const revenueShareSchema = z.object({ partner_id: z.string(), tiers: z.array(z.object({ min_clinics: z.number(), share_percent: z.number() })), updated_at: z.string().nullable() });

/** The partner's tiers (empty: no share configured, 0 %). */
export async function getTiers(db: RelayDb | Tx, partnerId: string): Promise<{ tiers: Tier[]; updated_at: string | null }> {
  const r = (await db.execute({ sql: "SELECT tiers, updated_at FROM partner_revenue_shares WHERE partner_id = ?", args: [partnerId] })).rows[0];
  return r ? { tiers: JSON.parse(str(r, "tiers")) as Tier[], updated_at: str(r, "updated_at") } : { tiers: [], updated_at: null };
}

/** Sets the partner's revenue share tiers (validated; percent with at most two decimals, stored as bp). */
export async function putTiers(db: RelayDb | Tx, partnerId: string, raw: unknown, by: string, env: Env): Promise<Tier[]> {
  const input = parseSchema(revenueShareInputSchema, raw, "revenue share");
  const tiers = input.tiers.map((t) => ({ min_clinics: t.min_clinics, share_bp: Math.round(t.share_percent * 100) }));
  await db.execute({
    sql: `INSERT INTO partner_revenue_shares (partner_id, tiers, updated_at, updated_by) VALUES (?, ?, ?, ?)
          ON CONFLICT (partner_id) DO UPDATE SET tiers = excluded.tiers, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    args: [partnerId, JSON.stringify(tiers), isoTime(env.clock.now()), by],
  });
  return tiers;
}

/** The share (bp) for `clinics` clinics: the highest tier whose minimum is reached, else 0. */
export function tierFor(tiers: readonly Tier[], clinics: number): number {
  let bp = 0;
  for (const t of tiers) if (clinics >= t.min_clinics) bp = t.share_bp;
  return bp;
}
