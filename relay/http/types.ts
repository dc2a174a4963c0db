/** Types shared by the relay's routes and middleware. */
import type { Context } from "hono";
import type { RelayDeps } from "../deps.ts";

/** An appliance whose request passed authentication: its registered identity, never what the request said. */
export interface AuthedAppliance {
  id: string;
  site_id: string;
  identity_public_key: Uint8Array;
  evidence_public_key: Uint8Array;
  evidence_key_id: string;
  enrolled_at: string;
}

/** Hono environment of the relay app: the raw body (read once, bounded) and the authenticated caller. */
export type RelayEnv = {
  Variables: {
    body: Uint8Array;
    appliance: AuthedAppliance;
  };
};

export type RelayContext = Context<RelayEnv>;

/** Who may call a route. `public` is allowed only for the routes in PUBLIC_ROUTES (app.ts). */
export const CALLERS = ["public", "appliance"] as const;
export type Caller = (typeof CALLERS)[number];

/** One row of the route table. */
export interface RouteSpec {
  method: "GET" | "POST";
  path: string;
  /** Who may call it; a request that is none of them is refused (default deny). */
  callers: readonly Caller[];
  summary: string;
  /** Largest request body accepted (bytes). */
  maxBodyBytes: number;
  /** Per-address rate limit for public routes (see rate-limit.ts). */
  rateLimited?: boolean;
  handler: (c: RelayContext, deps: RelayDeps) => Promise<Response>;
}
