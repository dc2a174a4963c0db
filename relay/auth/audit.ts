/**
 * The audit log of user actions: every route that changes state records who did what to which resource.
 * Rows are append-only (triggers in auth/schema.ts) and carry the actor's tenant, so each tenant sees only
 * its own entries. `details` must never hold a secret (a credential, token or password): callers pass ids
 * and names only.
 */
import { isoTime } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { BILLING_READERS, type Principal } from "../http/types.ts";
import { visibleOrgsWhere } from "./scope.ts";

export interface AuditEntry {
  /** Dotted verb, e.g. `site.settings.update`, `order.issue`, `credential.store`, `user.login`. */
  action: string;
  /** The resource acted on (an id, or a short description). */
  target: string;
  site_id?: string | null;
  org_id?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, "details">> {
  seq: number;
  at: string;
  actor_id: string;
  actor_email: string;
  actor_role: string;
  details: Record<string, unknown>;
}

/** Records one action (inside the caller's transaction when `db` is a Tx). */
export async function audit(db: RelayDb | Tx, clock: Clock, actor: Principal, entry: AuditEntry): Promise<void> {
  await db.execute({
    sql: `INSERT INTO audit_log (at, actor_id, actor_email, actor_role, msp_id, partner_id, org_id, site_id, action, target, details)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      isoTime(clock.now()),
      actor.api_key_id ?? actor.user_id,
      actor.email,
      actor.role,
      actor.msp_id,
      actor.partner_id,
      entry.org_id ?? actor.org_id,
      entry.site_id ?? null,
      entry.action,
      entry.target,
      JSON.stringify(entry.details ?? {}),
    ],
  });
}

/**
 * The audit entries a principal may read, newest first: MSP staff see their MSP's, partner users their
 * partner's and its organisations', client users their organisation's.
 */
/** Most audit entries one page returns. */
export const MAX_AUDIT_PAGE = 500;

export async function listAudit(db: RelayDb, viewer: Principal, opts: { site_id?: string; before?: number; limit?: number } = {}): Promise<AuditRecord[]> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), MAX_AUDIT_PAGE);
  const where = ["a.msp_id = ?"];
  const args: (string | number)[] = [viewer.msp_id];
  if (viewer.role !== "msp_admin" && viewer.role !== "msp_tech") {
    const orgs = visibleOrgsWhere(viewer);
    where.push(`(a.org_id IN (SELECT o.id FROM organisations o WHERE ${orgs.sql})${viewer.partner_id && viewer.role.startsWith("partner_") ? " OR a.partner_id = ?" : ""})`);
    args.push(...orgs.args);
    if (viewer.partner_id && viewer.role.startsWith("partner_")) args.push(viewer.partner_id);
  }
  // Prices are not every viewer's business: billing entries carry plan prices and statement amounts.
  if (!BILLING_READERS.includes(viewer.role)) where.push("a.action NOT LIKE 'billing.%'");
  if (opts.site_id) (where.push("a.site_id = ?"), args.push(opts.site_id));
  if (opts.before) (where.push("a.seq < ?"), args.push(opts.before));
  const rs = await db.execute({ sql: `SELECT * FROM audit_log a WHERE ${where.join(" AND ")} ORDER BY a.seq DESC LIMIT ${limit}`, args });
  return rs.rows.map((r) => ({
    seq: num(r, "seq"),
    at: str(r, "at"),
    actor_id: str(r, "actor_id"),
    actor_email: str(r, "actor_email"),
    actor_role: str(r, "actor_role"),
    action: str(r, "action"),
    target: str(r, "target"),
    site_id: strOrNull(r, "site_id"),
    org_id: strOrNull(r, "org_id"),
    details: JSON.parse(str(r, "details")) as Record<string, unknown>,
  }));
}
