/**
 * The dashboard's pages and assets, served by the relay itself (no CDN: an MSP's relay may sit on a LAN).
 * Every page path answers the same `index.html` (the app routes in the browser); `/assets/*` are
 * content-hashed files, cached for a year. These are the only public routes besides liveness, enrollment and
 * login (PUBLIC_ROUTES in relay/routes.ts): they carry no data — the app fetches everything through the API
 * after login. Responses get the relay's CSP like every other (no inline script or style: the build emits
 * none).
 */
import { RelayError } from "../errors.ts";
import type { RelayContext, RouteSpec } from "../http/types.ts";
import type { UiAssets } from "./assets.ts";

/** Client-side routes of the dashboard (ui/dashboard/router.ts), each answered with index.html. */
export const UI_PAGES = ["/", "/login", "/sites/*", "/audit", "/learning", "/admin", "/escalations", "/billing", "/verify"] as const;
const EMPTY_BODY = 1024;
const IMMUTABLE = "public, max-age=31536000, immutable";

function serve(c: RelayContext, assets: UiAssets | undefined, path: string, status: 200 | 404 = 200): Response {
  if (!assets) return c.text("The dashboard is not available on this relay: build it with `npm run build:ui` and restart the relay.", 503);
  const asset = assets.get(path);
  if (!asset) throw new RelayError("not_found", `No file ${JSON.stringify(path.slice(0, 200))} in the dashboard`);
  const headers: Record<string, string> = { ETag: asset.etag, "Cache-Control": asset.immutable ? IMMUTABLE : "no-cache", Vary: "Accept-Encoding" };
  if (status === 200 && c.req.header("If-None-Match") === asset.etag) return c.body(null, 304, headers);
  const gzip = /\bgzip\b/.test(c.req.header("Accept-Encoding") ?? "");
  // A copy typed as ArrayBuffer-backed (what Response takes); files are a few hundred KB at most.
  return c.body(new Uint8Array(gzip ? asset.gzip : asset.body), status, { ...headers, "Content-Type": asset.type, ...(gzip ? { "Content-Encoding": "gzip" } : {}) });
}

/**
 * A browser asking for a page that does not exist gets the dashboard with status 404, whose router shows its
 * "Page not found" page with a way back, instead of a JSON error. Null for anything else (API calls, assets,
 * non-GET, clients not asking for HTML, or a relay without the dashboard): those get the JSON 404.
 */
export function uiPageNotFound(c: RelayContext, assets: UiAssets | undefined): Response | null {
  const path = new URL(c.req.url).pathname;
  if (!assets || (c.req.method !== "GET" && c.req.method !== "HEAD") || path.startsWith("/api/") || path.startsWith("/assets/")) return null;
  if (!/\btext\/html\b/.test(c.req.header("Accept") ?? "")) return null;
  return serve(c, assets, "/index.html", 404);
}

export const UI_ROUTES: readonly RouteSpec[] = [
  ...UI_PAGES.map(
    (path): RouteSpec => ({
      method: "GET",
      path,
      callers: ["public"],
      summary: "dashboard page (the app shell; data comes from the API after login)",
      maxBodyBytes: EMPTY_BODY,
      produces: "text/html",
      handler: async (c, deps) => serve(c, deps.ui, "/index.html"),
    }),
  ),
  {
    method: "GET",
    path: "/assets/*",
    callers: ["public"],
    summary: "dashboard scripts and styles (content-hashed)",
    maxBodyBytes: EMPTY_BODY,
    produces: "application/octet-stream",
    handler: async (c, deps) => serve(c, deps.ui, new URL(c.req.url).pathname),
  },
  {
    method: "GET",
    path: "/favicon.svg",
    callers: ["public"],
    summary: "dashboard icon",
    maxBodyBytes: EMPTY_BODY,
    produces: "image/svg+xml",
    handler: async (c, deps) => serve(c, deps.ui, "/favicon.svg"),
  },
];
