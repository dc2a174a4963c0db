/** Types shared by the relay's routes and middleware. */
import type { Context } from "hono";
import type { ZodObject, ZodType } from "zod";
import type { RelayDeps } from "../deps.ts";

/** An appliance whose request passed authentication: its registered identity, never what the request said. */
export interface AuthedAppliance {
  id: string;
  site_id: string;
  identity_public_key: Uint8Array;
  evidence_public_key: Uint8Array;
  evidence_key_id: string;
  enrolled_at: string;
  /** Set for a route that records the request nonce itself (RouteSpec.recordsNonce): record it with `claimNonce`. */
  pending_nonce?: PendingNonce;
}

/**
 * A verified request whose nonce is not recorded yet: the handler of a `recordsNonce` route records it in its
 * own write transaction (auth/nonces.ts `claimNonce`), saving the separate write and commit the guard would
 * make. `stale()` throws the 401 for an appliance row that changed since the request was checked.
 */
export interface PendingNonce {
  nonce: string;
  at: number;
  token_sha256: string;
  stale(): Promise<never>;
}

/**
 * User roles. MSP staff see every tenant under their MSP; partner users the organisations sold through their
 * partner; client users their own organisation. `partner_billing` sees statements, not devices.
 */
export const ROLES = ["msp_admin", "msp_tech", "partner_admin", "partner_tech", "partner_billing", "client_owner", "client_viewer"] as const;
export type Role = (typeof ROLES)[number];
/** What an API key may do: `api` acts with its role on the API; `assistant` may only call the MCP endpoint. */
export const API_KEY_SCOPES = ["api", "assistant"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Role groups for route tables. */
export const MSP_STAFF: readonly Role[] = ["msp_admin", "msp_tech"];
export const PARTNER_STAFF: readonly Role[] = ["partner_admin", "partner_tech"];
export const CLIENT_USERS: readonly Role[] = ["client_owner", "client_viewer"];
/** Everyone who may look at a site's compliance state (not partner_billing). */
export const SITE_VIEWERS: readonly Role[] = [...MSP_STAFF, ...PARTNER_STAFF, ...CLIENT_USERS];
/** Everyone who may change a site's operation (settings, orders, credentials, approvals). */
export const SITE_OPERATORS: readonly Role[] = [...MSP_STAFF, ...PARTNER_STAFF];
export const ANY_USER: readonly Role[] = ROLES;
/** Who may see prices and billing (plans, statements, and their audit entries). */
export const BILLING_READERS: readonly Role[] = [...MSP_STAFF, "partner_admin", "partner_billing"];

/**
 * A user (or partner API key) whose request passed authentication, with the tenant it is scoped to. The ids
 * come from the database row, never from the request.
 */
export interface Principal {
  kind: "session" | "api_key";
  /** The user's id; for an API key, the user who created it. */
  user_id: string;
  /** The API key's id when kind is `api_key`. */
  api_key_id: string | null;
  /** The API key's scope when kind is `api_key` (auth/api-keys.ts API_KEY_SCOPES), else null. */
  key_scope: ApiKeyScope | null;
  email: string;
  name: string;
  role: Role;
  msp_id: string;
  /** Set for partner roles (and for client users of an organisation sold through a partner). */
  partner_id: string | null;
  /** Set for client roles. */
  org_id: string | null;
}

/** Hono environment of the relay app: the raw body (read once, bounded) and the authenticated caller. */
export type RelayEnv = {
  Variables: {
    body: Uint8Array;
    appliance: AuthedAppliance;
    principal: Principal;
    /** Set when the principal came from a session cookie (for logout and the CSRF token). */
    session_id_sha256: string | null;
    /** The route's declared query schema (RouteSpec.query), the only one http/query.ts reads with. */
    query_schema: ZodObject | undefined;
  };
};

export type RelayContext = Context<RelayEnv>;

/**
 * Who may call a route: `public` (only PUBLIC_ROUTES, app.ts), an appliance, the MSP's monitoring system
 * (`monitor`: the metrics bearer token), or users with these roles.
 */
export type Caller = "public" | "appliance" | "monitor" | Role;
export const CALLERS: readonly Caller[] = ["public", "appliance", "monitor", ...ROLES];

/** One row of the route table. */
export interface RouteSpec {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /**
   * Hono path. For user routes every `:param` must have a scope resolver (auth/scope.ts): the guard resolves
   * the resource's tenant and refuses callers outside it before the handler runs.
   */
  path: string;
    /** Who may call it; a request that is none of them is refused (default deny). */
  callers: readonly Caller[];
  /**
   * User routes only: a decision only a signed-in person may take (approving what is proposed, managing users
   * and API keys, TOTP). API keys, whatever their role, are refused with 403.
   */
  peopleOnly?: true;
  /** User routes only: `assistant` API keys may call it (only the MCP endpoint); every other route refuses them. */
  assistantKeys?: true;
  summary: string;
  /** Largest request body accepted (bytes). */
  maxBodyBytes: number;
  /**
   * Appliance routes only: the handler, not the guard, records the request nonce, inside its own write
   * transaction (AuthedAppliance.pending_nonce). Only for a handler that writes nothing before that
   * transaction, so a replay is refused before anything changes.
   */
  recordsNonce?: boolean;
  /** Per-address rate limit for public routes (see rate-limit.ts). */
  rateLimited?: boolean;
  /**
   * Query parameters: the one schema that validates them (handlers read them with http/query.ts
   * `queryParams(c, <this schema>)`) and documents them in the OpenAPI document. Each field takes a string
   * (optional unless required) and has a `.describe()`.
   */
  query?: ZodObject;
  /** Request body schema (JSON), for the OpenAPI document. */
  request?: ZodType;
  /** Success response schema (JSON), for the OpenAPI document. */
  response?: ZodType;
  /** Response content type when not JSON (e.g. `image/svg+xml`, `application/pdf`). */
  produces?: string;
  /** The success status when not 200: 201 (created, with a body) or 204 (no body), for the OpenAPI document. */
  status?: 201 | 204;
  handler: (c: RelayContext, deps: RelayDeps) => Promise<Response>;
}
