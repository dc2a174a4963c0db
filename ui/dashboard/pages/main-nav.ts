/**
 * The one owner of which pages a role may open: the main navigation's entries by role, and whether an address
 * typed or bookmarked by the user is one of them. The app shell draws the navigation from `mainNav` and, for
 * an address outside it, shows "You do not have access to this page" instead of forms the relay would refuse
 * with 403. The relay still decides every request (default deny); this only keeps the pages honest.
 */
import type { Route } from "../router.ts";
import { billingOnly, operationsNav } from "./operations-nav.ts";
import { MSP_ROLES } from "./page.ts";

/** [href, text, current] */
export type NavItem = [string, string, boolean];

/** Roles that set up partners, clients and sites (relay/sites/routes.ts: POST /api/orgs and /api/orgs/:org_id/sites). */
export const ADMIN_ROLES: readonly string[] = ["msp_admin", "partner_admin"];

/** The main navigation of `role`, with the entry of `page` marked current. */
export function mainNav(role: string, page: Route["page"]): NavItem[] {
  const items: NavItem[] = [
    ["/", role.startsWith("client_") ? "Our sites" : "Clinics", page === "fleet" || page === "site"],
    ...operationsNav(role, page),
    ...(MSP_ROLES.includes(role) ? ([["/learning", "Learning", page === "learning"]] as NavItem[]) : []),
    ["/audit", "Audit log", page === "audit"],
    ...(ADMIN_ROLES.includes(role) ? ([["/admin", "Admin", page === "admin"]] as NavItem[]) : []),
  ];
  return items.filter(([href]) => !billingOnly(role) || href === "/billing");
}

/** The navigation entry a page belongs to (a site belongs to the list of sites). */
const PAGE_HREF: Readonly<Record<Route["page"], string | null>> = {
  fleet: "/",
  site: "/",
  audit: "/audit",
  learning: "/learning",
  admin: "/admin",
  escalations: "/escalations",
  billing: "/billing",
  login: null,
  verify: null,
  not_found: null,
};

/** Whether `role` may open `page`: its navigation has the page's entry (login, verify and "not found" are open to all). */
export function mayOpen(role: string, page: Route["page"]): boolean {
  const href = PAGE_HREF[page];
  if (href === null) return true;
  // A billing user's home page is billing (the app shows statements at "/").
  if (page === "fleet" && billingOnly(role)) return true;
  return mainNav(role, page).some(([h]) => h === href);
}
