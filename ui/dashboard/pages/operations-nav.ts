/**
 * The main navigation's entries for the operations pages (fleet-wide escalations, partner billing), by role,
 * kept here so the app shell only splices them in. A partner's billing user sees billing and nothing else:
 * that role may read statements but no clinic data.
 */
import type { Route } from "../router.ts";

/** Roles that read partner statements (relay/billing/routes.ts STATEMENT_READERS). */
export const BILLING_ROLES: readonly string[] = ["msp_admin", "partner_admin", "partner_billing"];

/** Whether the role sees only the billing page (its home page is billing). */
export const billingOnly = (role: string): boolean => role === "partner_billing";

/** [href, text, current] entries to add after "Clinics". */
export function operationsNav(role: string, page: Route["page"]): [string, string, boolean][] {
  const items: [string, string, boolean][] = [];
  if (!billingOnly(role)) items.push(["/escalations", "Escalations", page === "escalations"]);
  if (BILLING_ROLES.includes(role)) items.push(["/billing", "Billing", page === "billing" || (billingOnly(role) && page === "fleet")]);
  return items;
}
