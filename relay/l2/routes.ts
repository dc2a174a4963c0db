/**
 * Routes of relay/l2/ (listed in routes.ts): the planner endpoint appliances call (signed like sync), the
 * decision log MSP and partner staff review, and the MSP's L2 settings (kill switch, budgets).
 */
import { z } from "zod";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { SITE_OPERATORS, type RelayContext, type RouteSpec } from "../http/types.ts";
import { decisionQuerySchema, decisionViewSchema, listDecisions } from "./decisions.ts";
import { planIncident } from "./gateway.ts";
import { l2PlanRequestSchema, l2PlanResponseSchema, MAX_L2_REQUEST_BYTES } from "../../protocol/l2.ts";
import { l2SettingsUpdateSchema, l2SettingsView, l2SettingsViewSchema, updateL2Settings } from "./settings.ts";

const SMALL_BODY = 4 * 1024;
const EMPTY_BODY = 1024;

const json = (c: RelayContext, value: unknown) => c.json(value as object, 200);

export const L2_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/api/l2/plan",
    callers: ["appliance"],
    summary: "ask the L2 planner for a catalogue runbook for a scrubbed incident; `runbook: null` means escalate (L3)",
    maxBodyBytes: MAX_L2_REQUEST_BYTES,
    request: l2PlanRequestSchema,
    response: l2PlanResponseSchema,
    handler: async (c, deps) => json(c, (await planIncident(deps, c.var.appliance, parseJsonBody(c.var.body))).response),
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/l2-decisions",
    callers: SITE_OPERATORS,
    summary: "the site's L2 decisions, newest first, with the prompt sent and the model's answer (?before=, ?limit=)",
    maxBodyBytes: EMPTY_BODY,
    query: decisionQuerySchema,
    response: z.object({ decisions: z.array(decisionViewSchema) }),
    handler: async (c, deps) => json(c, { decisions: await listDecisions(deps.db, c.req.param("site_id") ?? "", queryParams(c, decisionQuerySchema)) }),
  },
  {
    method: "GET",
    path: "/api/l2/settings",
    callers: ["msp_admin"],
    summary: "the MSP's L2 settings (kill switch, budgets, confidence floor), whether a model is configured, and usage",
    maxBodyBytes: EMPTY_BODY,
    response: l2SettingsViewSchema,
    handler: async (c, deps) => json(c, await l2SettingsView(deps.db, deps.l2, c.var.principal.msp_id, deps.clock.now())),
  },
  {
    method: "PUT",
    path: "/api/l2/settings",
    callers: ["msp_admin"],
    summary: "change the MSP's L2 kill switch, budgets or confidence floor (audited)",
    maxBodyBytes: SMALL_BODY,
    request: l2SettingsUpdateSchema,
    response: l2SettingsViewSchema,
    handler: async (c, deps) => {
      await updateL2Settings(deps.db, deps, c.var.principal, parseJsonBody(c.var.body));
      return json(c, await l2SettingsView(deps.db, deps.l2, c.var.principal.msp_id, deps.clock.now()));
    },
  },
];
