/**
 * Public surface of relay/l2/: the L2 planner gateway (`POST /api/l2/plan`), its decision log, the MSP's
 * settings, and the operator configuration of the model endpoints.
 *
 *   deps.l2 = await loadL2Config({ file: "/etc/osiris/l2.yaml" }, { readText: (p) => readFile(p, "utf8"), fetch });
 */
export { loadL2Config, parseL2ConfigFile, endpointFor, llmEndpointSchema, DEFAULT_LLM_TIMEOUT_MS, MAX_LLM_TIMEOUT_MS, type L2Config, type L2ConfigSources, type LlmEndpoint } from "./config.ts";
export { planIncident, L2_ESCALATION_CODES, type L2EscalationCode, type PlanOutcome } from "./gateway.ts";
export { L2_REQUEST_SCHEMA, L2_RESPONSE_SCHEMA, l2PlanRequestSchema, l2PlanResponseSchema, type L2PlanRequest, type L2PlanResponse } from "../../protocol/l2.ts";
export { DEFAULT_L2_SETTINGS, l2Settings, type L2Settings } from "./settings.ts";
export { L2_ROUTES } from "./routes.ts";
