/**
 * Routes of relay/inventory/: a site's discovered devices, its inventory events and alerts, and the MSP's
 * decision per device (monitored / excluded / medical). Excluding a device reaches the site's appliances in
 * their next pull (site config `discovery_exclude`), after which they never probe it again.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { SITE_OPERATORS, SITE_VIEWERS, type RouteSpec } from "../http/types.ts";
import { DEVICE_STATUSES } from "./diff.ts";
import { deviceEventSchema, deviceSchema, deviceStatusBodySchema, inventoryAlertSchema, listDeviceEvents, listDevices, setDeviceStatus } from "./devices.ts";

const EMPTY_BODY = 1024;
const SMALL_BODY = 1024;

const devicesQuery = z.object({
  status: z.enum(DEVICE_STATUSES).optional().describe("only devices with this status"),
  include_gone: z.enum(["0", "1"]).optional().describe("1: also devices not seen in the latest scans"),
});
const deviceEventsQuery = z.object({ limit: z.string().regex(/^\d{1,4}$/, "expected a whole number of events").optional().describe("most events listed (default 100)") });

export const INVENTORY_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/sites/:site_id/devices",
    callers: SITE_VIEWERS,
    summary: "a site's discovered devices (?status=discovered|monitored|excluded|medical, ?include_gone=1), with the learning period's end",
    maxBodyBytes: EMPTY_BODY,
    query: devicesQuery,
    response: z.object({ devices: z.array(deviceSchema), learning_until: z.string().nullable(), last_scan_at: z.string().nullable() }),
    handler: async (c, deps) => {
      const q = queryParams(c, devicesQuery);
      return c.json(await listDevices(deps.db, c.req.param("site_id")!, { ...(q.status ? { status: q.status } : {}), includeGone: q.include_gone === "1" }));
    },
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/device-events",
    callers: SITE_VIEWERS,
    summary: "a site's latest inventory events (new device, gone, returned, port opened/closed, type changed) and new-device alerts, newest first (?limit=)",
    maxBodyBytes: EMPTY_BODY,
    query: deviceEventsQuery,
    response: z.object({ events: z.array(deviceEventSchema), alerts: z.array(inventoryAlertSchema) }),
    handler: async (c, deps) => {
      const { limit } = queryParams(c, deviceEventsQuery);
      return c.json(await listDeviceEvents(deps.db, c.req.param("site_id")!, limit === undefined ? 100 : Number(limit)));
    },
  },
  {
    method: "PUT",
    path: "/api/devices/:device_id",
    callers: SITE_OPERATORS,
    summary: "set the MSP's decision for a device: monitored (checks apply), excluded (never probed again), medical, or discovered",
    maxBodyBytes: SMALL_BODY,
    request: deviceStatusBodySchema,
    response: deviceSchema,
    handler: async (c, deps) => {
      const { status } = parseSchema(deviceStatusBodySchema, parseJsonBody(c.var.body), "device");
      const p = c.var.principal;
      const id = c.req.param("device_id")!;
      const after = await deps.db.transaction(async (tx) => {
        const r = await setDeviceStatus(tx, id, status, p.email, deps.clock);
        await audit(tx, deps.clock, p, { action: "device.status.update", target: id, site_id: r.after.site_id, details: { from: r.before.status, to: status, ip: r.after.ip } });
        return r.after;
      });
      return c.json(after);
    },
  },
];
