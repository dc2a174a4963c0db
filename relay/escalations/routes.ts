/**
 * Routes of relay/escalations/ (listed in routes.ts): L3 tickets, and (from relay/notify/) notification
 * channels. Everyone who may see a site sees its tickets; MSP and partner staff acknowledge and resolve them.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import type { RelayDeps } from "../deps.ts";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { SITE_OPERATORS, SITE_VIEWERS, type RelayContext, type RouteSpec } from "../http/types.ts";
import { NOTIFY_ROUTES } from "../notify/routes.ts";
import { acknowledgeEscalation, acknowledgeSchema, listEscalations, listQuerySchema, resolveEscalation, resolveSchema } from "./tickets.ts";

const SMALL_BODY = 16 * 1024;
const EMPTY_BODY = 1024;

const escalationSchema = z.object({
  escalation_id: z.string(),
  site_id: z.string(),
  org_id: z.string(),
  incident_id: z.string().nullable(),
  host_id: z.string().nullable(),
  check: z.string().nullable(),
  category: z.string().nullable(),
  severity: z.string(),
  priority: z.enum(["low", "medium", "high", "critical"]),
  source: z.string(),
  reason: z.string(),
  status: z.enum(["open", "acknowledged", "resolved"]),
  reports: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  response_due_at: z.string(),
  resolution_due_at: z.string(),
  response_overdue: z.boolean(),
  resolution_overdue: z.boolean(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
  acknowledge_note: z.string().nullable(),
  resolved_at: z.string().nullable(),
  resolved_by: z.string().nullable(),
  resolution_note: z.string().nullable(),
});
const listSchema = z.object({ escalations: z.array(escalationSchema) });

const json = (c: RelayContext, value: unknown) => c.json(value as object, 200);

export const ESCALATION_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/escalations",
    callers: SITE_VIEWERS,
    summary: "escalations of every site the caller may see, newest first (?status=, ?active=true, ?before=, ?limit=)",
    maxBodyBytes: EMPTY_BODY,
    query: listQuerySchema,
    response: listSchema,
    handler: async (c, deps: RelayDeps) => json(c, { escalations: await listEscalations(deps.db, deps, c.var.principal, queryParams(c, listQuerySchema)) }),
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/escalations",
    callers: SITE_VIEWERS,
    summary: "escalations of one site, newest first (?status=, ?active=true, ?before=, ?limit=)",
    maxBodyBytes: EMPTY_BODY,
    query: listQuerySchema,
    response: listSchema,
    handler: async (c, deps) => json(c, { escalations: await listEscalations(deps.db, deps, c.var.principal, queryParams(c, listQuerySchema), c.req.param("site_id") ?? "") }),
  },
  {
    method: "POST",
    path: "/api/escalations/:escalation_id/acknowledge",
    callers: SITE_OPERATORS,
    summary: "acknowledge an open escalation (someone is on it), with an optional note",
    maxBodyBytes: SMALL_BODY,
    request: acknowledgeSchema,
    response: escalationSchema,
    handler: async (c, deps) => json(c, await acknowledgeEscalation(deps.db, deps, c.var.principal, c.req.param("escalation_id") ?? "", c.var.body.length === 0 ? {} : parseJsonBody(c.var.body))),
  },
  {
    method: "POST",
    path: "/api/escalations/:escalation_id/resolve",
    callers: SITE_OPERATORS,
    summary: "resolve an escalation with a note saying what was done",
    maxBodyBytes: SMALL_BODY,
    request: resolveSchema,
    response: escalationSchema,
    handler: async (c, deps) => json(c, await resolveEscalation(deps.db, deps, c.var.principal, c.req.param("escalation_id") ?? "", parseJsonBody(c.var.body))),
  },
  ...NOTIFY_ROUTES,
];
