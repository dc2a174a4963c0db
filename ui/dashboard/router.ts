/**
 * The dashboard's routes (History API; the relay answers index.html for each page path, relay/ui/routes.ts):
 *
 *   /login                     sign in (also `/login#magic=TOKEN` from an e-mailed link)
 *   /                          fleet overview (?q=&status=&partner_id=)
 *   /sites/:id[/:tab]          one site; tab: overview, devices, incidents, evidence, settings, enrollment,
 *                              orders, credentials, escalations, reports
 *   /audit                     audit log
 *   /learning                  learning loop
 *   /admin                     partners, organisations, sites, branding, notification channels
 *   /escalations               every escalation the user may see, with SLA timers (?status=active|resolved|all)
 *   /billing                   partner statements (partner admin and billing, MSP admin)
 *   /verify                    check an auditor kit in the browser (?sha256=HEX&relay_key=KEY); open without signing in
 */

export const SITE_TABS = ["overview", "devices", "incidents", "evidence", "settings", "enrollment", "orders", "credentials", "escalations", "reports"] as const;
export type SiteTab = (typeof SITE_TABS)[number];

export type Route =
  | { page: "login"; next: string | null }
  | { page: "fleet"; query: URLSearchParams }
  | { page: "site"; siteId: string; tab: SiteTab }
  | { page: "audit"; query: URLSearchParams }
  | { page: "learning" }
  | { page: "admin" }
  | { page: "escalations"; query: URLSearchParams }
  | { page: "billing" }
  | { page: "verify"; sha256: string | null; relayKey: string | null }
  | { page: "not_found"; path: string };

/** The route of a location (pathname + search). */
export function parseRoute(rawPath: string, search = ""): Route {
  const query = new URLSearchParams(search);
  // "/admin/" is "/admin" (a link typed or pasted with a trailing slash).
  const pathname = rawPath.length > 1 ? rawPath.replace(/\/$/, "") : rawPath;
  if (pathname === "/login") {
    const next = query.get("next");
    return { page: "login", next: next && next.startsWith("/") && !next.startsWith("//") ? next : null };
  }
  if (pathname === "/" || pathname === "") return { page: "fleet", query };
  if (pathname === "/audit") return { page: "audit", query };
  if (pathname === "/learning") return { page: "learning" };
  if (pathname === "/admin") return { page: "admin" };
  if (pathname === "/escalations") return { page: "escalations", query };
  if (pathname === "/billing") return { page: "billing" };
  if (pathname === "/verify") {
    const sha256 = query.get("sha256");
    return { page: "verify", sha256: sha256 && /^[0-9a-fA-F]{64}$/.test(sha256) ? sha256.toLowerCase() : null, relayKey: query.get("relay_key") };
  }
  const m = /^\/sites\/([A-Za-z0-9_-]{1,100})(?:\/([a-z]+))?\/?$/.exec(pathname);
  if (m) {
    const tab = (m[2] ?? "overview") as SiteTab;
    if ((SITE_TABS as readonly string[]).includes(tab)) return { page: "site", siteId: m[1]!, tab };
  }
  return { page: "not_found", path: rawPath };
}

/** Pages open without signing in (they read nothing from the relay before one does). */
export function isPublic(route: Route): boolean {
  return route.page === "login" || route.page === "verify";
}

/** Asks the app to go to `path` (bubbles out of shadow roots). */
export function navigate(from: EventTarget, path: string, replace = false): void {
  from.dispatchEvent(new CustomEvent("osiris-navigate", { detail: { path, replace }, bubbles: true, composed: true }));
}

/** The same-origin link a click landed on (inside shadow roots too), or null for clicks the browser should handle. */
export function internalLink(e: MouseEvent): string | null {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return null;
  const a = e.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
  if (!a || a.target || a.hasAttribute("download") || !a.href) return null;
  const url = new URL(a.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return null;
  return url.pathname + url.search + url.hash;
}
