/**
 * The relay's HTTP app: `createRelayApp(deps)` builds a Hono app from the route table (routes.ts) and the
 * injected effects, with no I/O of its own, so every route runs in-process with `app.request(...)` and behind
 * any adapter (serve/node.ts). Default deny: each route declares its callers and gets the matching guard;
 * unknown paths are 404 in the error envelope; one `onError` maps every error to
 * `{error: {code, message, details}}` with the status of its code (errors.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { IntegrityError, ValidationError } from "../protocol/errors.ts";
import { errorEnvelope } from "../protocol/sync.ts";
import { applianceAuth, type AuthState } from "./auth/appliance-auth.ts";
import { pathParams, SCOPE_PARAMS } from "./auth/scope.ts";
import { userAuth } from "./auth/user-auth.ts";
import { hashesEqual, tokenSha256 } from "./auth/token.ts";
import type { RelayDeps } from "./deps.ts";
import { isRelayErrorCode, RelayError, STATUS, type RelayErrorCode } from "./errors.ts";
import { readBody } from "./http/body.ts";
import { createRateLimiter, type RateLimiter } from "./http/rate-limit.ts";
import type { RelayContext, RelayEnv, RouteSpec } from "./http/types.ts";
import { PUBLIC_ROUTES, ROUTES } from "./routes.ts";
import { uiPageNotFound } from "./ui/routes.ts";

export type RelayApp = Hono<RelayEnv>;

/** Builds the relay app. Throws TypeError when the route table breaks the default-deny rules. */
export function createRelayApp(deps: RelayDeps, routes: readonly RouteSpec[] = ROUTES): RelayApp {
  checkRouteTable(routes);
  const app = new Hono<RelayEnv>();
  const authState: AuthState = { lastPrune: Number.NEGATIVE_INFINITY };
  const limiter = createRateLimiter();
  app.use("*", securityHeaders);

  for (const route of routes) {
    const guards = route.callers.includes("public")
      ? publicGuards(deps, route, limiter)
      : route.callers.includes("appliance")
        ? [applianceAuth(deps, route.maxBodyBytes, authState, route.recordsNonce === true)]
        : route.callers.includes("monitor")
          ? [monitorAuth(deps)]
          : [userAuth(deps, route)];
    app.on(route.method, [route.path], ...guards, (c) => {
      c.set("query_schema", route.query);
      return route.handler(c, deps);
    });
  }

  app.notFound((c) => uiPageNotFound(c as RelayContext, deps.ui) ?? c.json(errorEnvelope("not_found", `No route ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c) => {
    const { status, body } = errorResponse(err);
    if (status >= 500) deps.log.error("request_failed", { method: c.req.method, path: new URL(c.req.url).pathname, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    const headers: Record<string, string> = {};
    if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="osiris-relay"';
    const retry = body.error.details?.["retry_after_s"];
    if ((status === 429 || status === 423) && typeof retry === "number") headers["Retry-After"] = String(retry);
    return c.json(body, status as 400, headers);
  });
  return app;
}

/**
 * Headers on every response: a Content-Security-Policy without inline scripts or styles, no framing, no
 * MIME sniffing, no referrer. The dashboard and portal are served from this origin only.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const securityHeaders: MiddlewareHandler<RelayEnv> = async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Frame-Options", "DENY");
  c.header("Cache-Control", c.res.headers.get("Cache-Control") ?? "no-store");
};

/** Refuses a table that would open a route by accident. */
export function checkRouteTable(routes: readonly RouteSpec[]): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw new TypeError(`Route ${key} is declared twice`);
    seen.add(key);
    if (r.callers.length === 0) throw new TypeError(`Route ${key} declares no callers: every route must say who may call it`);
    if (r.callers.includes("public")) {
      if (!PUBLIC_ROUTES.has(key)) throw new TypeError(`Route ${key} is declared public but is not on the public allowlist`);
      if (r.callers.length > 1) throw new TypeError(`Route ${key} mixes public with other callers; public already admits everyone`);
    }
    for (const only of ["appliance", "monitor"] as const) {
      if (r.callers.includes(only) && r.callers.length > 1) throw new TypeError(`Route ${key} mixes ${only} with other callers; give each its own route`);
    }
    if (!r.callers.includes("public") && !r.callers.includes("appliance") && !r.callers.includes("monitor")) {
      for (const p of pathParams(r.path)) if (!Object.hasOwn(SCOPE_PARAMS, p)) throw new TypeError(`Route ${key} has path param :${p} with no tenant scope: add it to SCOPE_PARAMS (auth/scope.ts)`);
    }
    if (!Number.isSafeInteger(r.maxBodyBytes) || r.maxBodyBytes <= 0) throw new TypeError(`Route ${key} needs a positive maxBodyBytes`);
  }
}

/** The MSP's monitoring: a bearer token whose SHA-256 the relay was started with (metrics are off without one). */
function monitorAuth(deps: RelayDeps): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const expected = deps.metricsTokenSha256;
    if (!expected) throw new RelayError("token_missing", "Metrics are off: start the relay with --metrics-token-file to let monitoring scrape them");
    const m = /^Bearer +(\S{16,512})$/i.exec(c.req.header("Authorization")?.trim() ?? ""); // scheme case-insensitive (RFC 9110 §11.1)
    if (!m) throw new RelayError("token_missing", "Send the metrics token as 'Authorization: Bearer <token>'");
    if (!hashesEqual(tokenSha256(m[1]!), expected)) throw new RelayError("token_unknown", "Wrong metrics token");
    c.set("body", await readBody(c.req.raw, 1024));
    await next();
  };
}

function publicGuards(deps: RelayDeps, route: RouteSpec, limiter: RateLimiter): MiddlewareHandler<RelayEnv>[] {
  const guards: MiddlewareHandler<RelayEnv>[] = [];
  if (route.rateLimited) {
    guards.push(async (c, next) => {
      limiter.hit(deps.clientAddress?.(c.req.raw, c.env) ?? "unknown", deps.clock.now());
      await next();
    });
  }
  guards.push(async (c, next) => {
    c.set("body", await readBody(c.req.raw, route.maxBodyBytes));
    await next();
  });
  return guards;
}

/** The status and envelope for any error a handler can throw. */
export function errorResponse(err: unknown): { status: number; body: ReturnType<typeof errorEnvelope> } {
  if (err instanceof RelayError) return { status: err.status, body: errorEnvelope(err.code, err.message, err.details) };
  if (err instanceof ValidationError || err instanceof IntegrityError) {
    const code: RelayErrorCode = isRelayErrorCode(err.code) ? err.code : "bad_request";
    return { status: STATUS[code], body: errorEnvelope(code, err.message, err.details) };
  }
  if (err instanceof HTTPException) {
    const code: RelayErrorCode = err.status === 413 ? "too_large" : err.status >= 500 ? "internal" : "bad_request";
    return { status: err.status, body: errorEnvelope(code, err.message || "Request refused") };
  }
  return { status: 500, body: errorEnvelope("internal", "Internal error: the relay logged the details") };
}
