/**
 * MSP routes for an appliance's signed appliance config (appliance-config.ts): read it (site operators), and
 * change it (MSP admins only: it decides which system closure the appliance's root helper switches to; audited
 * as `appliance.config.set` in the same transaction as the new version).
 */
import { z } from "zod";
import { parseJsonBody } from "../http/body.ts";
import { SITE_OPERATORS, type RouteSpec } from "../http/types.ts";
import { applianceConfigChangeSchema, currentApplianceConfig, setApplianceConfig } from "./appliance-config.ts";
import { MAX_BASELINE_BYTES } from "../../protocol/appliance-config.ts";

/** Largest PUT body: a baseline of MAX_BASELINE_BYTES canonical bytes, pretty-printed, plus the other fields. */
export const MAX_APPLIANCE_CONFIG_BODY_BYTES = 4 * MAX_BASELINE_BYTES;

const recordSchema = z.object({
  appliance_id: z.string(),
  version: z.number(),
  issued_at: z.string(),
  issued_by: z.string(),
  pinned_system: z.string().nullable(),
  av_binary_sha256: z.string().nullable(),
  firewall_baseline: z.object({ nftables: z.array(z.record(z.string(), z.unknown())) }).nullable(),
  baseline_sha256: z.string().nullable(),
  payload_sha256: z.string(),
});

export const APPLIANCE_CONFIG_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/appliances/:appliance_id/config",
    callers: SITE_OPERATORS,
    summary: "the appliance's signed appliance config in force (pinned system, AV binary hash, firewall baseline), or null",
    maxBodyBytes: 1024,
    response: z.object({ appliance_id: z.string(), config: recordSchema.nullable() }),
    handler: async (c, deps) => {
      const applianceId = c.req.param("appliance_id")!;
      return c.json({ appliance_id: applianceId, config: await currentApplianceConfig(deps.db, applianceId) });
    },
  },
  {
    method: "PUT",
    path: "/api/appliances/:appliance_id/config",
    callers: ["msp_admin"],
    summary: "change the appliance's config (fields given change, null clears one): signed as the next version, delivered by its next pull",
    maxBodyBytes: MAX_APPLIANCE_CONFIG_BODY_BYTES,
    request: applianceConfigChangeSchema,
    response: recordSchema.extend({ changed: z.boolean() }),
    handler: async (c, deps) => {
      const applianceId = c.req.param("appliance_id")!;
      const r = await setApplianceConfig(deps, applianceId, parseJsonBody(c.var.body), c.var.principal);
      if (r.changed) deps.log.info("appliance_config_set", { appliance_id: applianceId, version: r.version, by: r.issued_by });
      return c.json(r);
    },
  },
];
