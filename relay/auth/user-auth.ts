/**
 * User authentication and authorisation (middleware) for routes whose callers are roles. In order, each
 * with its own status and reason:
 *   1. who: a session cookie, or `Authorization: Bearer osk_…` (an MSP or partner API key) → 401 otherwise;
 *   2. role: the route must list the principal's role → 403 `forbidden`;
 *   3. CSRF: a cookie-authenticated request that is not GET/HEAD must echo the session's CSRF token in
 *      `X-CSRF-Token` → 403 `csrf_invalid` (API keys are not sent by browsers, so they need none);
 *   4. tenant: every path param is resolved to its tenant (scope.ts) and must be inside the principal's
 *      → 404 `not_found` (the same answer as for an id that does not exist).
 * Only then is the body read (bounded) and the handler run.
 */
import type { MiddlewareHandler } from "hono";
import { utf8 } from "../../protocol/encoding.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { readBody } from "../http/body.ts";
import type { RelayEnv, Role, RouteSpec } from "../http/types.ts";
import { apiKeyPrincipal, isApiKey } from "./api-keys.ts";
import { canAccess, pathParams, resolveParam } from "./scope.ts";
import { CSRF_HEADER, readSessionCookie, sessionFor } from "./sessions.ts";
import { constantTimeEqual } from "./token.ts";

const SAFE_METHODS = new Set(["GET", "HEAD"]);

export function userAuth(deps: RelayDeps, route: RouteSpec): MiddlewareHandler<RelayEnv> {
  const roles = new Set(route.callers as readonly string[]);
  const params = pathParams(route.path);
  return async (c, next) => {
    const authorization = c.req.header("Authorization");
    let csrfToken: string | null = null;
    let sessionIdSha256: string | null = null;
    let principal;
    if (authorization !== undefined) {
      const m = /^Bearer +(\S+)$/i.exec(authorization.trim()); // the scheme is case-insensitive (RFC 9110 §11.1)
      if (!m || !isApiKey(m[1]!)) throw new RelayError("token_unknown", "Authorization must be 'Bearer osk_…' (an API key); browsers use the session cookie");
      principal = await apiKeyPrincipal(deps.db, m[1]!, deps.clock);
    } else {
      const sessionId = readSessionCookie(c.req.header("Cookie"));
      if (sessionId === null) throw new RelayError("login_required", "Log in first: this route needs a signed-in user");
      const session = await sessionFor(deps.db, sessionId, deps.clock);
      principal = session.principal;
      csrfToken = session.csrfToken;
      sessionIdSha256 = session.idSha256;
    }
    if (principal.kind === "api_key") {
      if (principal.key_scope === "assistant" && route.assistantKeys !== true) {
        throw new RelayError("forbidden", `This is an AI assistant's key: it may only call the MCP endpoint (/api/mcp), not ${route.method} ${route.path}`);
      }
      if (route.peopleOnly) throw new RelayError("forbidden", `Only a signed-in person may use ${route.method} ${route.path}: API keys cannot`);
    }
    if (!roles.has(principal.role)) {
      throw new RelayError("forbidden", `Your role (${principal.role}) may not use ${route.method} ${route.path}`, { allowed_roles: [...roles] as Role[] });
    }
    if (csrfToken !== null && !SAFE_METHODS.has(c.req.method)) {
      const sent = c.req.header(CSRF_HEADER) ?? "";
      if (!constantTimeEqual(utf8(sent), utf8(csrfToken))) throw new RelayError("csrf_invalid", `Missing or wrong ${CSRF_HEADER} header: reload the page and try again`);
    }
    for (const name of params) {
      const value = c.req.param(name) ?? "";
      const path = await resolveParam(deps.db, name, value);
      if (path === null || !canAccess(principal, path)) throw new RelayError("not_found", `No ${name.replace(/_id$/, "").replaceAll("_", " ")} ${JSON.stringify(value.slice(0, 100))} here`);
    }
    c.set("principal", principal);
    c.set("session_id_sha256", sessionIdSha256);
    c.set("body", await readBody(c.req.raw, route.maxBodyBytes));
    await next();
  };
}
