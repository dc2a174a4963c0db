/** Routes for enrolled appliances: rotate an appliance's token, revoke an appliance, its signed appliance config, its key rotations. */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { parseJsonBody } from "../http/body.ts";
import { SITE_OPERATORS, type RouteSpec } from "../http/types.ts";
import { issueOrder } from "../orders/issue.ts";
import { APPLIANCE_CONFIG_ROUTES } from "./appliance-config-routes.ts";
import { KEY_ROTATION_ROUTES } from "./key-rotation-routes.ts";
import { revokeAppliance } from "./enroll.ts";

const revokeSchema = z.strictObject({ reason: z.string().trim().min(1).max(500) });

export const ENROLL_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/api/appliances/:appliance_id/rotate-token",
    status: 201,
    // rotate_token is a privileged order type: MSP admins only, as on the orders route.
    callers: ["msp_admin"],
    summary: "send the appliance a signed rotate_token order: it fetches a new token and the old one stops working",
    maxBodyBytes: 1024,
    response: z.object({ order_id: z.string(), expires_at: z.string() }),
    handler: async (c, deps) => {
      const applianceId = c.req.param("appliance_id")!;
      const p = c.var.principal;
      const order = await issueOrder(deps.db, { appliance_id: applianceId, type: "rotate_token", params: {}, issued_by: p.user_id }, deps);
      await audit(deps.db, deps.clock, p, { action: "appliance.rotate_token", target: applianceId, site_id: order.payload.site_id, details: { order_id: order.order_id } });
      return c.json({ order_id: order.order_id, expires_at: order.payload.expires_at }, 201);
    },
  },
  {
    method: "POST",
    path: "/api/appliances/:appliance_id/revoke",
    callers: ["msp_admin", "msp_tech"],
    summary: "revoke an appliance (lost or stolen): every later request it makes fails with 401 'appliance revoked'",
    maxBodyBytes: 4 * 1024,
    request: revokeSchema,
    handler: async (c, deps) => {
      const applianceId = c.req.param("appliance_id")!;
      const { reason } = parseSchema(revokeSchema, parseJsonBody(c.var.body), "revoke");
      const r = await revokeAppliance(deps, applianceId, reason);
      await audit(deps.db, deps.clock, c.var.principal, { action: "appliance.revoke", target: applianceId, site_id: r.site_id, ...(r.org_id ? { org_id: r.org_id } : {}), details: { reason } });
      return c.json({ revoked_at: r.revoked_at });
    },
  },
  ...APPLIANCE_CONFIG_ROUTES,
  ...KEY_ROTATION_ROUTES,
];
