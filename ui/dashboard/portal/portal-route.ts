/**
 * Which addresses the client portal answers. Clinic users (client_owner, client_viewer) land on the portal
 * home at `/`; a site's overview and reports are the portal's plain-language site page. Every other address
 * (the read-only technical parts of a site, the audit log) stays the dashboard's, and no address gives a
 * clinic user the MSP's controls: the site page hides them and answers "cannot see this part".
 */
import type { Route, SiteTab } from "../router.ts";

export const CLIENT_ROLES = ["client_owner", "client_viewer"] as const;

/** The parts of a site a clinic user may open, in the order the site's navigation lists them. */
export const CLIENT_SITE_TABS: readonly { id: SiteTab; text: string }[] = [
  { id: "overview", text: "Overview" },
  { id: "devices", text: "Devices and checks" },
  { id: "incidents", text: "Incidents" },
  { id: "evidence", text: "Evidence" },
  { id: "escalations", text: "Escalations" },
  { id: "reports", text: "Reports" },
];

/** Site tabs the portal renders itself (the others are the dashboard's read-only sections). */
const PORTAL_TABS: readonly SiteTab[] = ["overview", "reports"];

export type PortalView = { view: "home" } | { view: "site"; siteId: string; tab: "overview" | "reports" };

export function isClientRole(role: string): boolean {
  return (CLIENT_ROLES as readonly string[]).includes(role);
}

/** The portal view for this route and role, or null when the dashboard's own page answers. */
export function portalView(route: Route, role: string): PortalView | null {
  if (!isClientRole(role)) return null;
  if (route.page === "fleet") return { view: "home" };
  if (route.page === "site" && PORTAL_TABS.includes(route.tab)) return { view: "site", siteId: route.siteId, tab: route.tab as "overview" | "reports" };
  return null;
}
