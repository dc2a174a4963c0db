/**
 * Routes of relay/archive/ (listed in routes.ts): a site's WORM archive state for the dashboard, and a retry
 * of its failed uploads once the operator has fixed the bucket.
 */
import { z } from "zod";
import { isoTimeSchema } from "../../protocol/ids.ts";
import { audit } from "../auth/audit.ts";
import { SITE_OPERATORS, type RouteSpec } from "../http/types.ts";
import { retryFailedNow } from "./queue.ts";
import { archiveStatus } from "./status.ts";

/** Neither route takes a body. */
const NO_BODY_BYTES = 1024;

const statusResponse = z.strictObject({
  site_id: z.string(),
  configured: z.boolean().meta({ description: "whether this relay uploads to the archive; when not, bundles wait in its queue until it does" }),
  pending: z.number().int().meta({ description: "evidence bundles and checkpoints not yet in the bucket, being retried" }),
  archived: z.number().int(),
  failed: z.number().int().meta({ description: "refused by the bucket or failed many times; still retried, but needs attention" }),
  oldest_pending_at: isoTimeSchema.nullable(),
  oldest_pending_age_s: z.number().int().nullable(),
  last_error: z.strictObject({ object_key: z.string(), error: z.string(), at: isoTimeSchema.nullable() }).nullable(),
});

export const ARCHIVE_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/sites/:site_id/archive",
    callers: SITE_OPERATORS,
    summary: "a site's WORM archive state: counts pending/archived/failed, oldest pending age, latest error",
    maxBodyBytes: NO_BODY_BYTES,
    response: statusResponse,
    handler: async (c, deps) => c.json({ ...(await archiveStatus(deps.db, c.req.param("site_id")!, deps.clock.now())), configured: deps.archiving === true }),
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/archive/retry",
    callers: SITE_OPERATORS,
    summary: "retry a site's failed archive uploads now (e.g. after fixing the bucket)",
    maxBodyBytes: NO_BODY_BYTES,
    response: z.strictObject({ requeued: z.number().int() }),
    handler: async (c, deps) => {
      const siteId = c.req.param("site_id")!;
      const requeued = await deps.db.transaction(async (tx) => {
        const n = await retryFailedNow(tx, siteId, deps.clock.now());
        await audit(tx, deps.clock, c.var.principal, { action: "archive.retry", target: siteId, site_id: siteId, details: { requeued: n } });
        return n;
      });
      return c.json({ requeued });
    },
  },
];
