/**
 * What people do with escalation tickets: list the ones they may see, acknowledge (someone is on it) and
 * resolve (with a note saying what was done). Each change is audited in the same transaction, updates the
 * SLA re-notification schedule, and queues the matching notification (webhooks, Slack, syslog).
 */
import { z } from "zod";
import { isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { visibleOrgsWhere } from "../auth/scope.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { enqueueEscalationEvent } from "../notify/dispatch.ts";
import { ESCALATION_SELECT, escalationView, ESCALATION_STATUSES, resolveTicket, type EscalationStatus, type EscalationView } from "./escalations.ts";
import type { Priority } from "./priority.ts";
import { nextRenotifyAt } from "./sla-step.ts";

/** Longest note on an acknowledgement or resolution. */
export const MAX_NOTE_LENGTH = 4000;
/** Most tickets in one list answer. */
export const MAX_LIST_LIMIT = 500;

export const acknowledgeSchema = z.strictObject({ note: z.string().trim().max(MAX_NOTE_LENGTH).optional() });
export const resolveSchema = z.strictObject({ note: z.string().trim().min(1, "say what was done").max(MAX_NOTE_LENGTH) });

export const listQuerySchema = z.strictObject({
  status: z.enum(ESCALATION_STATUSES).optional().describe("only tickets in this state"),
  active: z.enum(["true", "false"]).optional().describe("true: only tickets that are not resolved"),
  before: z.string().max(40).optional().describe("page cursor: tickets created before this time"),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional().describe(`page size, 1 to ${MAX_LIST_LIMIT}`),
});
export type ListQuery = z.output<typeof listQuerySchema>;

/** Tickets the principal may see, newest first (optionally of one site). */
export async function listEscalations(db: RelayDb, env: Env, principal: Principal, query: ListQuery, siteId?: string): Promise<EscalationView[]> {
  const orgs = visibleOrgsWhere(principal);
  const where = [orgs.sql];
  const args: (string | number)[] = [...orgs.args];
  if (siteId !== undefined) (where.push("e.site_id = ?"), args.push(siteId));
  if (query.status) (where.push("e.status = ?"), args.push(query.status));
  if (query.active === "true") where.push("e.status <> 'resolved'");
  if (query.before) (where.push("e.created_at < ?"), args.push(query.before));
  const rs = await db.execute({
    sql: `${ESCALATION_SELECT} JOIN organisations o ON o.id = e.org_id WHERE ${where.join(" AND ")} ORDER BY e.created_at DESC, e.id DESC LIMIT ${query.limit ?? 100}`,
    args,
  });
  const now = env.clock.now();
  return rs.rows.map((r) => escalationView(r, now));
}

async function change(db: RelayDb, env: Env, principal: Principal, id: string, to: "acknowledged" | "resolved", note: string | null): Promise<EscalationView> {
  return db.transaction(async (tx) => {
    const rs = await tx.execute({ sql: "SELECT * FROM escalations WHERE id = ?", args: [id] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("not_found", `No escalation ${JSON.stringify(id)} here`);
    const status = str(row, "status") as EscalationStatus;
    if (status === "resolved") throw new RelayError("escalation_state", `Escalation ${id} is already resolved (at ${str(row, "resolved_at")})`, { status });
    if (to === "acknowledged" && status !== "open") throw new RelayError("escalation_state", `Escalation ${id} is already acknowledged (at ${str(row, "acknowledged_at")})`, { status });
    const now = isoTime(env.clock.now());
    const next = nextRenotifyAt({
      status: to,
      priority: str(row, "priority") as Priority,
      response_due_ms: Date.parse(str(row, "response_due_at")),
      resolution_due_ms: Date.parse(str(row, "resolution_due_at")),
      response_renotified: num(row, "response_renotified"),
      resolution_renotified: num(row, "resolution_renotified"),
    });
    const nextIso = next === null ? null : isoTime(next);
    if (to === "acknowledged") {
      await tx.execute({
        sql: "UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, acknowledge_note = ?, updated_at = ?, next_renotify_at = ? WHERE id = ?",
        args: [now, principal.user_id, note, now, nextIso, id],
      });
    } else {
      await tx.execute(resolveTicket(id, { at: now, by: principal.user_id, note: note ?? "" }));
    }
    await audit(tx, env.clock, principal, {
      action: to === "acknowledged" ? "escalation.acknowledge" : "escalation.resolve",
      target: id,
      site_id: str(row, "site_id"),
      org_id: str(row, "org_id"),
      details: { priority: str(row, "priority"), from: status, note_chars: note?.length ?? 0 },
    });
    await enqueueEscalationEvent(tx, env, id, { event: to === "acknowledged" ? "escalation.acknowledged" : "escalation.resolved" });
    const after = await tx.execute({ sql: `${ESCALATION_SELECT} WHERE e.id = ?`, args: [id] });
    return escalationView(after.rows[0]!, env.clock.now());
  });
}

/** Marks an open ticket acknowledged. RelayError `escalation_state` (409) when it is not open. */
export function acknowledgeEscalation(db: RelayDb, env: Env, principal: Principal, id: string, body: unknown): Promise<EscalationView> {
  const { note } = parseSchema(acknowledgeSchema, body, "acknowledgement");
  return change(db, env, principal, id, "acknowledged", note && note.length > 0 ? note : null);
}

/** Resolves an open or acknowledged ticket with a note. RelayError `escalation_state` (409) when already resolved. */
export function resolveEscalation(db: RelayDb, env: Env, principal: Principal, id: string, body: unknown): Promise<EscalationView> {
  const { note } = parseSchema(resolveSchema, body, "resolution");
  return change(db, env, principal, id, "resolved", note);
}
