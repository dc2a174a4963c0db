/**
 * Tenant scope for MCP tools. Tool arguments are not path params, so the user guard cannot check them:
 * every tool that takes a site, appliance or host resolves it here first, with the same rule and the same
 * answer as the guard (scope.ts `canAccess`; `not_found` for an id that does not exist *or* belongs to
 * another tenant, so a tool is no existence oracle).
 */
import { canAccess, resolveParam, type TenantPath } from "../auth/scope.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { refreshSiteDigest } from "../sites/digest.ts";

/** Rows a proposal's digest refresh may read (enough to learn the hosts of a site that synced recently). */
export const PROPOSAL_REFRESH_BUDGET_ROWS = 2000;

const shown = (id: string) => JSON.stringify(id.slice(0, 100));

/** The site's place in the tenant tree; RelayError `not_found` unless it exists inside the principal's tenant. */
export async function siteInScope(db: RelayDb, principal: Principal, siteId: string): Promise<TenantPath> {
  const path = await resolveParam(db, "site_id", siteId);
  if (path === null || !canAccess(principal, path)) throw new RelayError("not_found", `No site ${shown(siteId)} here`);
  return path;
}

/**
 * The active appliance that should receive an order for `hostId` at a site (the site must already be in
 * scope). With `applianceId` it must be an active appliance of that site; with `hostId` the host must be the
 * appliance itself or a host it reported (check results or inventory, from the dashboard digest); without
 * either the site must have exactly one active appliance. When several active appliances reported the host and none is named, the
 * one that reported it last is chosen (it is the one scanning it now). RelayError `not_found` for an
 * appliance or host not at the site, `schema` when a site with several appliances names neither.
 */
export async function applianceFor(db: RelayDb, env: Env, siteId: string, applianceId: string | undefined, hostId: string | null): Promise<string> {
  const active = (await db.execute({ sql: "SELECT id FROM appliances WHERE site_id = ? AND state = 'active' ORDER BY enrolled_at, id", args: [siteId] })).rows.map((r) => str(r, "id"));
  if (applianceId !== undefined && !active.includes(applianceId)) throw new RelayError("not_found", `No active appliance ${shown(applianceId)} at site ${siteId}`);
  if (active.length === 0) throw new RelayError("not_found", `Site ${siteId} has no active appliance to send an order to`);
  if (hostId === null) {
    if (applianceId !== undefined) return applianceId;
    if (active.length === 1) return active[0]!;
    throw new RelayError("schema", `appliance_id: site ${siteId} has ${active.length} appliances (${active.join(", ")}): name one`);
  }
  if (active.includes(hostId)) {
    if (applianceId !== undefined && applianceId !== hostId) throw new RelayError("not_found", `Host ${hostId} is an appliance of its own, not one appliance ${applianceId} scans`);
    return hostId;
  }
  await refreshSiteDigest(db, siteId, env, PROPOSAL_REFRESH_BUDGET_ROWS);
  const rs = await db.execute({
    sql: `SELECT appliance_id, MAX(at) AS at FROM (
            SELECT appliance_id, finished_at AS at FROM site_results WHERE site_id = ? AND host_id = ?
            UNION ALL SELECT appliance_id, seen_at AS at FROM site_hosts WHERE site_id = ? AND host_id = ?)
          GROUP BY appliance_id ORDER BY at DESC, appliance_id`,
    args: [siteId, hostId, siteId, hostId],
  });
  const reporters = rs.rows.map((r) => str(r, "appliance_id")).filter((id) => active.includes(id));
  const chosen = applianceId !== undefined ? reporters.find((id) => id === applianceId) : reporters[0];
  if (chosen === undefined) {
    throw new RelayError("not_found", `No host ${shown(hostId)} reported${applianceId !== undefined ? ` by appliance ${applianceId}` : ""} at site ${siteId}: site_check_results lists its hosts`);
  }
  return chosen;
}
