/**
 * Tenant scope: which tenant a resource belongs to, and whether a principal may see it.
 *
 * Every `:param` in a user route's path names a resource; SCOPE_PARAMS says which table holds it and how it
 * hangs off the tenant tree (MSP → partner → organisation → site). The user guard (user-auth.ts) resolves
 * each param before the handler runs and answers 404 when the resource does not exist *or* belongs to
 * another tenant (no existence oracle). A user route with a param missing from this table makes the app
 * refuse to build.
 */
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Principal } from "../http/types.ts";

/** Where a resource sits in the tenant tree. Unset levels are null (e.g. an MSP-wide learning candidate). */
export interface TenantPath {
  msp_id: string;
  partner_id: string | null;
  org_id: string | null;
  site_id: string | null;
}

/** How to find a resource's tenant: its table, id column, and the column that links it to a tenant level. */
export interface ScopeParam {
  table: string;
  idColumn: string;
  via: "msp" | "partner" | "org" | "site";
  linkColumn: string;
  /** For resources that hang off different levels row by row (notification channels): the column naming the level. */
  viaColumn?: string;
}

const param = (table: string, via: ScopeParam["via"], linkColumn: string, idColumn = "id"): ScopeParam => ({ table, idColumn, via, linkColumn });

/** The one table of path params user routes may use. */
export const SCOPE_PARAMS: Readonly<Record<string, ScopeParam>> = {
  msp_id: param("msps", "msp", "id"),
  partner_id: param("partners", "partner", "id"),
  org_id: param("organisations", "org", "id"),
  site_id: param("sites", "site", "id"),
  appliance_id: param("appliances", "site", "site_id"),
  order_id: param("orders", "site", "site_id"),
  integrity_incident_id: param("integrity_incidents", "site", "site_id"),
  claim_code_id: param("claim_codes", "site", "site_id"),
  // A user belongs to its organisation (clinic users), else its partner (partner staff), else the MSP.
  user_id: { table: "users", idColumn: "id", via: "msp", linkColumn: "coalesce(org_id, partner_id, msp_id)", viaColumn: "CASE WHEN org_id IS NOT NULL THEN 'org' WHEN partner_id IS NOT NULL THEN 'partner' ELSE 'msp' END" },
  // A partner's key hangs off its partner, an MSP's own key off the MSP.
  api_key_id: { table: "api_keys", idColumn: "id", via: "msp", linkColumn: "coalesce(partner_id, msp_id)", viaColumn: "CASE WHEN partner_id IS NULL THEN 'msp' ELSE 'partner' END" },
  credential_id: param("site_credentials", "site", "site_id"),
  candidate_id: param("learning_candidates", "msp", "msp_id"),
  rule_id: param("learning_candidates", "msp", "msp_id"),
  escalation_id: param("escalations", "site", "site_id"),
  channel_id: { table: "notification_channels", idColumn: "id", via: "msp", linkColumn: "scope_id", viaColumn: "scope" },
  l2_decision_id: param("l2_decisions", "site", "site_id"),
  packet_id: param("packets", "site", "site_id"),
  device_id: param("devices", "site", "site_id"),
  plan_id: param("billing_plans", "org", "org_id"),
  statement_id: param("partner_statements", "partner", "partner_id"),
  approval_id: param("approval_requests", "site", "site_id"),
};

/** The `:name` params of a Hono path. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

const LEVEL_SQL: Record<ScopeParam["via"], string> = {
  msp: "SELECT id AS msp_id, NULL AS partner_id, NULL AS org_id, NULL AS site_id FROM msps WHERE id = ?",
  partner: "SELECT msp_id, id AS partner_id, NULL AS org_id, NULL AS site_id FROM partners WHERE id = ?",
  org: "SELECT msp_id, partner_id, id AS org_id, NULL AS site_id FROM organisations WHERE id = ?",
  site: "SELECT o.msp_id, o.partner_id, o.id AS org_id, s.id AS site_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?",
};

/** A tenant level's path (null when it does not exist). */
export async function tenantPath(db: RelayDb, via: ScopeParam["via"], id: string): Promise<TenantPath | null> {
  const rs = await db.execute({ sql: LEVEL_SQL[via], args: [id] });
  const row = rs.rows[0];
  if (!row) return null;
  return { msp_id: str(row, "msp_id"), partner_id: strOrNull(row, "partner_id"), org_id: strOrNull(row, "org_id"), site_id: strOrNull(row, "site_id") };
}

/** Where the resource named by a path param sits (null when it does not exist). */
export async function resolveParam(db: RelayDb, name: string, value: string): Promise<TenantPath | null> {
  const spec = SCOPE_PARAMS[name];
  if (!spec) throw new TypeError(`Path param :${name} has no scope resolver in SCOPE_PARAMS`);
  if (value.length === 0 || value.length > 100) return null;
  const rs = await db.execute({ sql: `SELECT ${spec.linkColumn} AS link${spec.viaColumn ? `, ${spec.viaColumn} AS via` : ""} FROM ${spec.table} WHERE ${spec.idColumn} = ?`, args: [value] });
  const link = rs.rows[0]?.["link"];
  const via = spec.viaColumn ? rs.rows[0]?.["via"] : spec.via;
  if (typeof link !== "string" || (via !== "msp" && via !== "partner" && via !== "org" && via !== "site")) return null;
  return tenantPath(db, via, link);
}

/**
 * Whether a principal may see a resource at `path`. MSP staff: anything under their MSP. Partner users:
 * their partner and the organisations under it. Client users: their organisation and its sites.
 */
export function canAccess(p: Principal, path: TenantPath): boolean {
  if (path.msp_id !== p.msp_id) return false;
  if (p.role === "msp_admin" || p.role === "msp_tech") return true;
  if (p.role.startsWith("partner_")) return p.partner_id !== null && path.partner_id === p.partner_id;
  return p.org_id !== null && path.org_id === p.org_id;
}

/**
 * SQL condition (over `organisations o`) selecting the organisations a principal may see, with its args:
 * list routes join through it so they never return another tenant's rows.
 */
export function visibleOrgsWhere(p: Principal): { sql: string; args: string[] } {
  if (p.role === "msp_admin" || p.role === "msp_tech") return { sql: "o.msp_id = ?", args: [p.msp_id] };
  if (p.role.startsWith("partner_")) return { sql: "o.msp_id = ? AND o.partner_id = ?", args: [p.msp_id, p.partner_id ?? "-"] };
  return { sql: "o.msp_id = ? AND o.id = ?", args: [p.msp_id, p.org_id ?? "-"] };
}
