/**
 * @osiriscare/relay: the central service appliances push evidence to and pull orders from (outbound only:
 * the relay never connects to an appliance). Web-standard core (a Hono app over injected effects); Node
 * specifics (server, key file) live in `serve/` and `keys/key-file.ts`.
 *
 * For the appliance's sync client: `signRequest` / `buildRequestMessage` (request signatures) and
 * `buildEnrollRequest` / `buildPendingRequest` (enrollment) build exactly the bytes the relay verifies.
 */
export { createRelayApp, checkRouteTable, errorResponse, type RelayApp } from "./app.ts";
export { ROUTES, PUBLIC_ROUTES } from "./routes.ts";
export type { AuthedAppliance, Caller, RelayEnv, RouteSpec } from "./http/types.ts";
export { RelayError, STATUS, statusOf, type RelayErrorCode } from "./errors.ts";
export { jsonLog, memoryLog, type RelayLog } from "./log.ts";
export { secureRandom, systemClock, type Clock, type Env, type Random, type RelayDeps, type RelayKey } from "./deps.ts";
export { openRelayDb, type RelayDb } from "./db/index.ts";

// Appliance-side helpers (may move to protocol/ later).
export { buildRequestMessage, requestPath, signRequest, REQUEST_CLOCK_SKEW_MS, REQUEST_HEADERS, type RequestToSign } from "./auth/request-message.ts";
export {
  buildEnrollRequest,
  buildPendingRequest,
  enrollmentMessage,
  pendingMessage,
  normaliseMac,
  enrollRequestSchema,
  enrollResponseSchema,
  pendingRequestSchema,
  type EnrollRequest,
  type EnrollResponse,
  type PendingRequest,
  type ProvisionState,
} from "./enroll/enroll-message.ts";
export { claimCodeSha256, normaliseClaimCode } from "./enroll/claim-code.ts";

// Operations (admin CLI, later the dashboard API).
export { createMsp, createPartner, createOrganisation, createSite, siteConfig } from "./tenants/tenants.ts";
export { createClaimCode, revokeClaimCode, DEFAULT_CLAIM_CODE_TTL_MS } from "./enroll/claim-codes.ts";
export { enrollAppliance, revokeAppliance } from "./enroll/enroll.ts";
export { acceptPending, listPending, registerPending, provisionState } from "./enroll/provision.ts";
export { ingestPush, type PushOutcome } from "./ingest/push.ts";
export { listIncidents, type IncidentRecord } from "./ingest/incidents.ts";
export { issueOrder, type IssueOrderInput } from "./orders/issue.ts";
export { publishRuleset, latestRuleset } from "./orders/rulesets.ts";
export { buildPull } from "./orders/pull.ts";
export { catalogueOrderParams } from "./orders/catalogue-params.ts";
export { exportKit, type ExportResult } from "./export/kit-export.ts";
export { activateRelayKey, loadRelayKey, publishedRelayKeys, rotateRelayKey, rotationStatements } from "./keys/index.ts";
export { runRelay, type RunRelayOptions, type RunningRelay } from "./serve/run.ts";
