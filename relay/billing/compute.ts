/**
 * The arithmetic of a monthly partner statement (pure). Per clinic, for a month of D days:
 *
 *   active_days   = days of the month inside [plan.starts_on, plan.ends_on]        (joins / leaves mid-month)
 *   extra_devices = max(0, monitored_devices − included_devices)
 *   base          = round(monthly_price × active_days / D)
 *   extras        = round(extra_devices × extra_device_price × active_days / D)
 *   amount        = base + extras
 *   share         = round(amount × share_bp / 10 000)
 *
 * `share_bp` is the partner's tier for the number of clinics on the statement (clinics with at least one
 * active day). Rounding is half away from zero, per line; totals are sums of the lines, so every printed
 * number adds up.
 */
import { RelayError } from "../errors.ts";
import { monthBounds, overlapDays, prorate, shareOf } from "./money.ts";
import { tierFor, type Plan, type Tier } from "./plans.ts";

export interface ClinicInput {
  org_id: string;
  org_name: string;
  plan: Pick<Plan, "currency" | "monthly_price_cents" | "included_devices" | "extra_device_cents" | "starts_on" | "ends_on">;
  active_appliances: number;
  monitored_devices: number;
}

export interface ClinicLine {
  org_id: string;
  org_name: string;
  plan_monthly_cents: number;
  included_devices: number;
  extra_device_cents: number;
  active_days: number;
  active_appliances: number;
  monitored_devices: number;
  extra_devices: number;
  base_cents: number;
  extras_cents: number;
  amount_cents: number;
  share_cents: number;
}

export interface ComputedStatement {
  month: string;
  days_in_month: number;
  currency: string;
  share_bp: number;
  lines: ClinicLine[];
  totals: { amount_cents: number; share_cents: number };
}

/** Computes a statement; clinics with no active day in the month get no line. Throws currency_mismatch. */
export function computeStatement(month: string, clinics: readonly ClinicInput[], tiers: readonly Tier[], defaultCurrency = "USD"): ComputedStatement {
  const { days, first, last } = monthBounds(month);
  const active = clinics
    .map((c) => ({ c, activeDays: overlapDays(c.plan.starts_on, c.plan.ends_on, first, last) }))
    .filter((x) => x.activeDays > 0)
    .sort((a, b) => a.c.org_name.localeCompare(b.c.org_name, "en") || a.c.org_id.localeCompare(b.c.org_id));
  const currencies = [...new Set(active.map((x) => x.c.plan.currency))];
  if (currencies.length > 1) throw new RelayError("currency_mismatch", `the clinics of this statement are billed in different currencies (${currencies.join(", ")}): one statement has one currency`, { currencies });
  const shareBp = tierFor(tiers, active.length);
  const lines = active.map(({ c, activeDays }): ClinicLine => {
    const extra = Math.max(0, c.monitored_devices - c.plan.included_devices);
    const base = prorate(c.plan.monthly_price_cents, activeDays, days);
    const extras = prorate(extra * c.plan.extra_device_cents, activeDays, days);
    const amount = base + extras;
    return {
      org_id: c.org_id,
      org_name: c.org_name,
      plan_monthly_cents: c.plan.monthly_price_cents,
      included_devices: c.plan.included_devices,
      extra_device_cents: c.plan.extra_device_cents,
      active_days: activeDays,
      active_appliances: c.active_appliances,
      monitored_devices: c.monitored_devices,
      extra_devices: extra,
      base_cents: base,
      extras_cents: extras,
      amount_cents: amount,
      share_cents: shareOf(amount, shareBp),
    };
  });
  return {
    month,
    days_in_month: days,
    currency: currencies[0] ?? defaultCurrency,
    share_bp: shareBp,
    lines,
    totals: { amount_cents: lines.reduce((s, l) => s + l.amount_cents, 0), share_cents: lines.reduce((s, l) => s + l.share_cents, 0) },
  };
}
