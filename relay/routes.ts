/**
 * The route table: every route the relay serves, with who may call it. `createRelayApp` registers exactly
 * these and nothing else; a route with no callers, or a `public` route not on PUBLIC_ROUTES, makes the app
 * refuse to build (default deny). Handlers receive the raw body already read and bounded (`c.var.body`) and,
 * for appliance routes, the authenticated appliance (`c.var.appliance`).
 */
import { isoTime } from "../protocol/ids.ts";
import { MAX_PUSH_BYTES, parsePullRequest } from "../protocol/sync.ts";
import { enrollAppliance } from "./enroll/enroll.ts";
import { MAX_ENROLL_BODY_BYTES } from "./enroll/enroll-message.ts";
import { provisionState, registerPending } from "./enroll/provision.ts";
import { RelayError } from "./errors.ts";
import { z } from "zod";
import { parseJsonBody } from "./http/body.ts";
import { queryParams } from "./http/query.ts";
import type { RelayContext, RouteSpec } from "./http/types.ts";
import { ARCHIVE_ROUTES } from "./archive/routes.ts";
import { AUTH_ROUTES } from "./auth/routes.ts";
import { BILLING_ROUTES } from "./billing/routes.ts";
import { CREDENTIAL_ROUTES } from "./credentials/routes.ts";
import { ENROLL_ROUTES } from "./enroll/routes.ts";
import { rotateApplianceToken } from "./enroll/token-rotation.ts";
import { ESCALATION_ROUTES } from "./escalations/routes.ts";
import { INVENTORY_ROUTES } from "./inventory/routes.ts";
import { L2_ROUTES } from "./l2/routes.ts";
import { MCP_ROUTES } from "./mcp/routes.ts";
import { LEARNING_ROUTES } from "./learning/routes.ts";
import { OPS_ROUTES } from "./ops/routes.ts";
import { REPORT_ROUTES } from "./report/routes.ts";
import { SITE_ROUTES } from "./sites/routes.ts";
import { ingestPush } from "./ingest/push.ts";
import { rotationStatements } from "./keys/index.ts";
import { buildPull } from "./orders/pull.ts";

/** Largest body of a pull request (a few fields). */
export const MAX_PULL_BODY_BYTES = 4 * 1024;
/** Routes without a body still get a (tiny) limit: nothing is read unbounded. */
export const MAX_EMPTY_BODY_BYTES = 1024;

/** The only routes that may be `public`: liveness, the two ways an appliance without a token comes in, the three ways a user logs in, and the API's OpenAPI document. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(["GET /healthz", "POST /api/enroll", "POST /api/provision/pending", "GET /api/provision/:mac", "POST /api/auth/login", "POST /api/auth/magic-link", "POST /api/auth/magic-link/consume", "GET /api/openapi.json", /* dashboard pages and assets (relay/ui) */ "GET /", "GET /login", "GET /sites/*", "GET /audit", "GET /learning", "GET /admin", "GET /escalations", "GET /billing", "GET /verify", "GET /assets/*", "GET /favicon.svg"]);

const json = (c: RelayContext, value: unknown, status: 200 | 201 = 200) => c.json(value as object, status);

/** The pull's query: what the appliance already holds, so the relay sends only what is newer. */
const pullQuerySchema = z.object({
  ruleset_version: z.string().regex(/^[1-9]\d{0,15}$/, "expected a positive integer").optional().describe("the rule set version the appliance holds (absent: none)"),
  since: z.string().max(40).optional().describe("orders issued after this time only"),
  // Signed appliance config (enroll/appliance-config.ts): `0` = none in force yet; absent = an older appliance.
  appliance_config_version: z.string().regex(/^(0|[1-9]\d{0,15})$/, "expected 0 (none yet) or a positive integer").optional().describe("the signed appliance config version in force (0: none yet; absent: an appliance that predates signed configs)"),
});

function pullQuery(c: RelayContext): { ruleset_version: number | null; since: string | null; appliance_config_version?: number | null } {
  const q = queryParams(c, pullQuerySchema);
  const a = q.appliance_config_version;
  return { ruleset_version: q.ruleset_version === undefined ? null : Number(q.ruleset_version), since: q.since ?? null, ...(a === undefined ? {} : { appliance_config_version: a === "0" ? null : Number(a) }) };
}

/** Appliance sync, enrollment and liveness. */
export const SYNC_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/healthz",
    callers: ["public"],
    summary: "liveness: the relay answers and its database responds",
    maxBodyBytes: MAX_EMPTY_BODY_BYTES,
    handler: async (c, deps) => {
      await deps.db.execute("SELECT 1");
      return json(c, { status: "ok", relay_time: isoTime(deps.clock.now()) });
    },
  },
  {
    method: "POST",
    path: "/api/enroll",
    status: 201,
    callers: ["public"],
    summary: "enroll an appliance with a claim code (or an accepted pending id) and proofs of key possession",
    maxBodyBytes: MAX_ENROLL_BODY_BYTES,
    rateLimited: true,
    handler: async (c, deps) => json(c, await enrollAppliance(deps, parseJsonBody(c.var.body)), 201),
  },
  {
    method: "POST",
    path: "/api/provision/pending",
    status: 201,
    callers: ["public"],
    summary: "register an unclaimed (drop-shipped) appliance's public keys and MACs for an MSP to accept",
    maxBodyBytes: MAX_ENROLL_BODY_BYTES,
    rateLimited: true,
    handler: async (c, deps) => json(c, await registerPending(deps.db, parseJsonBody(c.var.body), deps), 201),
  },
  {
    method: "GET",
    path: "/api/provision/:mac",
    callers: ["public"],
    summary: "whether a MAC is unknown, pending or assigned (and where to enroll); never a token or secret",
    maxBodyBytes: MAX_EMPTY_BODY_BYTES,
    rateLimited: true,
    handler: async (c, deps) => json(c, await provisionState(deps.db, c.req.param("mac") ?? "", deps.publicUrl)),
  },
  {
    method: "POST",
    path: "/api/sync/push",
    callers: ["appliance"],
    recordsNonce: true,
    summary: "push outbox entries (evidence, incidents, results, …) and the latest checkpoint; returns the ack",
    maxBodyBytes: MAX_PUSH_BYTES,
    handler: async (c, deps) => {
      const outcome = await ingestPush(deps, c.var.appliance, parseJsonBody(c.var.body));
      if (outcome.failure) {
        const f = outcome.failure;
        throw new RelayError(f.code, f.message, { ...outcome.ack, failed_outbox_seq: f.outbox_seq, seq: f.seq, incident_id: f.incident_id });
      }
      return json(c, outcome.ack);
    },
  },
  {
    method: "GET",
    path: "/api/sync/pull",
    callers: ["appliance"],
    summary: "pull rule set (if newer), signed orders, site configuration, relay keys and relay time",
    maxBodyBytes: MAX_EMPTY_BODY_BYTES,
    query: pullQuerySchema,
    handler: async (c, deps) => json(c, await buildPull(deps, c.var.appliance, pullQuery(c))),
  },
  {
    method: "POST",
    path: "/api/sync/pull",
    callers: ["appliance"],
    summary: "the same as GET, with a PullRequest body",
    maxBodyBytes: MAX_PULL_BODY_BYTES,
    handler: async (c, deps) => {
      const req = parsePullRequest(parseJsonBody(c.var.body));
      if (req.appliance_id !== c.var.appliance.id) throw new RelayError("appliance_mismatch", `appliance_id: this token belongs to ${c.var.appliance.id}, the pull says ${req.appliance_id}`);
      return json(c, await buildPull(deps, c.var.appliance, req));
    },
  },
  {
    method: "POST",
    path: "/api/sync/rotate-token",
    callers: ["appliance"],
    summary: "a new bearer token for this appliance (on a rotate_token order); the old one works until the new one is used",
    maxBodyBytes: MAX_EMPTY_BODY_BYTES,
    handler: async (c, deps) => json(c, await rotateApplianceToken(deps, c.var.appliance.id)),
  },
  {
    method: "GET",
    path: "/api/sync/key-rotations",
    callers: ["appliance"],
    summary: "relay key rotation statements, each signed by the key it replaces, oldest first",
    maxBodyBytes: MAX_EMPTY_BODY_BYTES,
    handler: async (c, deps) => json(c, { statements: await rotationStatements(deps.db) }),
  },
];

/** Every route the relay serves: the one table `createRelayApp` registers (and the OpenAPI document lists). */
export const ROUTES: readonly RouteSpec[] = [
  ...SYNC_ROUTES,
  ...AUTH_ROUTES,
  ...ENROLL_ROUTES,
  ...SITE_ROUTES,
  ...CREDENTIAL_ROUTES,
  ...LEARNING_ROUTES,
  ...L2_ROUTES,
  ...MCP_ROUTES,
  ...ESCALATION_ROUTES,
  ...REPORT_ROUTES,
  ...INVENTORY_ROUTES,
  ...BILLING_ROUTES,
  ...ARCHIVE_ROUTES,
  ...OPS_ROUTES,
];
