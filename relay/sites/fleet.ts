/**
 * The fleet overview (`GET /api/sites`): every site the caller may see, with its score (null = no data),
 * 30-day trend, open incidents, pending approvals, connection state and last contact, appliance count and
 * whether it runs the lab simulation. Filtered by tenant in SQL (`visibleOrgsWhere`), then by the caller's
 * search and status filter.
 */
import { z } from "zod";
import { isoTime } from "../../protocol/ids.ts";
import { visibleOrgsWhere } from "../auth/scope.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import type { Principal } from "../http/types.ts";
import { pendingApprovalCounts } from "./approvals.ts";
import { refreshSiteDigest } from "./digest.ts";
import { siteSummaryScore } from "./site-score.ts";

/** Most sites one overview lists (an MSP with more pages through search and filters). */
export const MAX_FLEET_SITES = 1000;
/** Rows the overview's digest refresh may read per site per request; a background refresh does the rest. */
export const FLEET_REFRESH_BUDGET_ROWS = 2000;
/**
 * An appliance is online when it contacted the relay within this long: appliances sync every 60 s ± 10 %,
 * so five minutes is several missed syncs, not one slow one.
 */
export const ONLINE_WINDOW_MS = 5 * 60_000;

export const CONNECTION_STATES = ["online", "offline", "never", "no_appliance"] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];
export const FLEET_FILTERS = ["online", "offline", "attention", "no_data", "simulated"] as const;

/** GET /api/sites's query (other parameters are ignored). */
export const fleetQuerySchema = z.object({
  q: z.string().trim().max(100).optional().describe("only sites whose site, clinic or partner name contains this"),
  status: z.enum(FLEET_FILTERS).optional().describe("only sites in this state"),
  partner_id: z.string().max(100).optional().describe("only sites of this partner's clinics"),
  org_id: z.string().max(100).optional().describe("only this clinic's sites"),
});
export type FleetQuery = z.output<typeof fleetQuerySchema>;

export interface FleetSite {
  id: string;
  name: string;
  timezone: string;
  org_id: string;
  org_name: string;
  partner_id: string | null;
  partner_name: string | null;
  healing_mode: string;
  /** 0..100 or null ("no data"). */
  score: number | null;
  trend: { day: string; overall: number | null }[];
  /** Latest results that fail. */
  failing: number;
  /** Latest results that could not be evaluated (the check errored or the host did not answer). */
  unchecked: number;
  open_incidents: number;
  pending_approvals: number;
  integrity_incidents: number;
  appliances: number;
  /**
   * Active appliances that were enrolled but have never reached the relay (no push, no pull), oldest
   * enrollment first: a box that never came online needs attention even when the site's other appliance
   * syncs.
   */
  never_connected: NeverConnected[];
  connection: ConnectionState;
  /** Last time any of its appliances reached the relay (push or pull), or null. */
  last_contact: string | null;
  /** Last stored push. */
  last_sync: string | null;
  simulated: boolean;
}

/** An enrolled appliance that has not contacted the relay yet. */
export interface NeverConnected {
  id: string;
  enrolled_at: string;
}

/** Connection state from the last contact time. */
export function connectionOf(appliances: number, lastContact: string | null, now: number): ConnectionState {
  if (appliances === 0) return "no_appliance";
  if (lastContact === null) return "never";
  return now - Date.parse(lastContact) <= ONLINE_WINDOW_MS ? "online" : "offline";
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function listFleet(db: RelayDb, principal: Principal, query: FleetQuery, env: Env): Promise<{ sites: FleetSite[]; generated_at: string }> {
  const now = env.clock.now();
  const orgs = visibleOrgsWhere(principal);
  const where = [orgs.sql];
  const args: string[] = [...orgs.args];
  if (query.partner_id) (where.push("o.partner_id = ?"), args.push(query.partner_id));
  if (query.org_id) (where.push("o.id = ?"), args.push(query.org_id));
  if (query.q) {
    const like = `%${likeEscape(query.q.toLowerCase())}%`;
    where.push("(lower(s.name) LIKE ? ESCAPE '\\' OR lower(o.name) LIKE ? ESCAPE '\\' OR lower(coalesce(p.name, '')) LIKE ? ESCAPE '\\' OR s.id = ?)");
    args.push(like, like, like, query.q);
  }
  const rs = await db.execute({
    sql: `SELECT s.id, s.name, s.timezone, s.healing_mode, o.id AS org_id, o.name AS org_name, o.partner_id, p.name AS partner_name,
            (SELECT COUNT(*) FROM appliances a WHERE a.site_id = s.id AND a.state = 'active') AS appliances,
            (SELECT MAX(a.last_seen_at) FROM appliances a WHERE a.site_id = s.id AND a.state = 'active') AS last_sync,
            (SELECT MAX(n.seen_at) FROM appliances a JOIN request_nonces n ON n.appliance_id = a.id WHERE a.site_id = s.id AND a.state = 'active') AS last_request,
            (SELECT COUNT(*) FROM integrity_incidents i WHERE i.site_id = s.id) AS integrity
          FROM sites s JOIN organisations o ON o.id = s.org_id LEFT JOIN partners p ON p.id = o.partner_id
          WHERE ${where.join(" AND ")}
          ORDER BY lower(o.name), lower(s.name), s.id LIMIT ${MAX_FLEET_SITES}`,
    args,
  });
  const ids = rs.rows.map((r) => str(r, "id"));
  for (const id of ids) await refreshSiteDigest(db, id, env, FLEET_REFRESH_BUDGET_ROWS);
  const approvals = await pendingApprovalCounts(db, ids);
  const extra = await perSiteCounts(db, ids);
  const never = await neverConnected(db, ids);
  const sites: FleetSite[] = [];
  for (const r of rs.rows) {
    const id = str(r, "id");
    const appliances = num(r, "appliances");
    const lastSync = strOrNull(r, "last_sync");
    const lastRequest = strOrNull(r, "last_request");
    const lastContact = [lastSync, lastRequest].filter((x): x is string => x !== null).sort().at(-1) ?? null;
    const s = await siteSummaryScore(db, id, now);
    sites.push({
      id,
      name: str(r, "name"),
      timezone: str(r, "timezone"),
      org_id: str(r, "org_id"),
      org_name: str(r, "org_name"),
      partner_id: strOrNull(r, "partner_id"),
      partner_name: strOrNull(r, "partner_name"),
      healing_mode: str(r, "healing_mode"),
      score: s.overall,
      trend: s.trend,
      failing: s.failing,
      unchecked: s.unchecked,
      open_incidents: extra.get(id)?.open ?? 0,
      pending_approvals: approvals.get(id) ?? 0,
      integrity_incidents: num(r, "integrity"),
      appliances,
      never_connected: never.get(id) ?? [],
      connection: connectionOf(appliances, lastContact, now),
      last_contact: lastContact,
      last_sync: lastSync,
      simulated: extra.get(id)?.simulated ?? false,
    });
  }
  const filtered = sites.filter((s) => {
    switch (query.status) {
      case undefined:
        return true;
      case "online":
        return s.connection === "online";
      case "offline":
        return s.connection === "offline" || s.connection === "never";
      case "attention":
        return s.failing > 0 || s.unchecked > 0 || s.open_incidents > 0 || s.pending_approvals > 0 || s.integrity_incidents > 0 || s.connection === "offline" || s.never_connected.length > 0;
      case "no_data":
        return s.score === null;
      case "simulated":
        return s.simulated;
    }
  });
  return { sites: filtered, generated_at: isoTime(now) };
}

/**
 * Active appliances per site with no stored push and no signed request: the same two contact marks as
 * `last_contact`, so a site's appliances are either counted by their last contact or listed here.
 */
async function neverConnected(db: RelayDb, ids: readonly string[]): Promise<Map<string, NeverConnected[]>> {
  const out = new Map<string, NeverConnected[]>();
  if (ids.length === 0) return out;
  const rs = await db.execute({
    sql: `SELECT a.site_id, a.id, a.enrolled_at FROM appliances a
          WHERE a.state = 'active' AND a.last_seen_at IS NULL AND a.site_id IN (${ids.map(() => "?").join(",")})
            AND NOT EXISTS (SELECT 1 FROM request_nonces n WHERE n.appliance_id = a.id)
          ORDER BY a.enrolled_at, a.id`,
    args: [...ids],
  });
  for (const r of rs.rows) {
    const site = str(r, "site_id");
    out.set(site, [...(out.get(site) ?? []), { id: str(r, "id"), enrolled_at: str(r, "enrolled_at") }]);
  }
  return out;
}

async function perSiteCounts(db: RelayDb, ids: readonly string[]): Promise<Map<string, { open: number; simulated: boolean }>> {
  const out = new Map<string, { open: number; simulated: boolean }>();
  if (ids.length === 0) return out;
  const marks = ids.map(() => "?").join(",");
  const open = await db.execute({ sql: `SELECT site_id, COUNT(*) AS n FROM site_incidents WHERE status <> 'resolved' AND site_id IN (${marks}) GROUP BY site_id`, args: [...ids] });
  for (const r of open.rows) out.set(str(r, "site_id"), { open: num(r, "n"), simulated: false });
  const sim = await db.execute({ sql: `SELECT site_id FROM site_digest_cursors WHERE simulated = 1 AND site_id IN (${marks}) GROUP BY site_id`, args: [...ids] });
  for (const r of sim.rows) {
    const id = str(r, "site_id");
    out.set(id, { open: out.get(id)?.open ?? 0, simulated: true });
  }
  return out;
}
