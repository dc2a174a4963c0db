/**
 * L3 escalation tickets: opened by appliances (an `escalation` outbox entry on push) and by the L2 gateway
 * when it cannot plan; acknowledged and resolved by MSP or partner staff with notes.
 *
 * Idempotent by construction: every report has a natural key (`appliance:<appliance>:<escalation id>` or
 * `l2:<decision id>`), so a replayed push changes nothing. One ticket per site + incident stays open: a later
 * report of the same incident (the appliance escalating after the L2 gateway already did) is merged into it,
 * raising its priority if the new report is more severe. Opening a ticket queues its notifications in the
 * same transaction (notify/dispatch.ts), so a ticket is never stored without them being due.
 */
import { findCheck, type Category } from "../../protocol/catalogue/mod.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { scrub } from "../../protocol/scrub.ts";
import { MAX_DETAIL_LENGTH, type EscalationBody, type IncidentSeverity, type OutboxEntry } from "../../protocol/sync.ts";
import { num, str, strOrNull, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { enqueueEscalationEvent } from "../notify/dispatch.ts";
import { nextRenotifyAt } from "./sla-step.ts";
import { priorityOf, priorityRank, slaDue, type Priority } from "./priority.ts";

export const ESCALATION_STATUSES = ["open", "acknowledged", "resolved"] as const;
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number];

export interface EscalationReport {
  site_id: string;
  source: "appliance" | "l2";
  /** Natural key of this report (replays are no-ops). */
  source_key: string;
  appliance_id: string | null;
  incident_id: string | null;
  host_id: string | null;
  check: string | null;
  severity: IncidentSeverity;
  /** Free text; scrubbed and clipped here again whatever the caller did. */
  reason: string;
  attempts: number;
  reported_at: string;
}

export interface OpenResult {
  escalation_id: string;
  /** A new ticket (false: merged into an open one, or a replay). */
  created: boolean;
  /** This exact report was already stored. */
  replay: boolean;
}

/** Free text that leaves a site: scrubbed, clipped, never empty. */
export function safeReason(text: string): string {
  const v = scrub(text.slice(0, MAX_DETAIL_LENGTH)).value;
  const s = typeof v === "string" ? v.trim() : "";
  return s.length > 0 ? s : "(no reason given)";
}

function checkTitle(check: string | null): string | null {
  return check === null ? null : (findCheck(check)?.title ?? null);
}

function categoryOf(check: string | null): Category | null {
  return check === null ? null : (findCheck(check)?.category ?? null);
}

/** Records a report: a new ticket, a merge into the open ticket of the same incident, or nothing (replay). */
export async function openEscalation(tx: Tx, report: EscalationReport, env: Env): Promise<OpenResult> {
  const seen = await tx.execute({ sql: "SELECT escalation_id FROM escalation_reports WHERE source_key = ?", args: [report.source_key] });
  if (seen.rows[0]) return { escalation_id: str(seen.rows[0], "escalation_id"), created: false, replay: true };

  const site = await tx.execute({ sql: "SELECT s.id, o.id AS org_id, o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?", args: [report.site_id] });
  const siteRow = site.rows[0];
  if (!siteRow) throw new TypeError(`Cannot open an escalation for site ${report.site_id}: no such site`);
  const now = env.clock.now();
  const nowIso = isoTime(now);
  const reason = safeReason(report.reason);
  const category = categoryOf(report.check);
  const priority = priorityOf(report.severity, category);

  let escalationId: string | null = null;
  let created = false;
  if (report.incident_id !== null) {
    const open = await tx.execute({ sql: "SELECT * FROM escalations WHERE site_id = ? AND incident_id = ? AND status <> 'resolved'", args: [report.site_id, report.incident_id] });
    const row = open.rows[0];
    if (row) {
      escalationId = str(row, "id");
      const old = str(row, "priority") as Priority;
      const raised = priorityRank(priority) > priorityRank(old);
      const severity = priorityRank(report.severity) > priorityRank(str(row, "severity") as Priority) ? report.severity : str(row, "severity");
      if (raised) {
        const due = slaDue(priority, Date.parse(str(row, "created_at")));
        const next = nextRenotifyAt({
          status: str(row, "status") as EscalationStatus,
          priority,
          response_due_ms: due.responseDueMs,
          resolution_due_ms: due.resolutionDueMs,
          response_renotified: num(row, "response_renotified"),
          resolution_renotified: num(row, "resolution_renotified"),
        });
        await tx.execute({
          sql: `UPDATE escalations SET reports = reports + 1, updated_at = ?, severity = ?, priority = ?, response_due_at = ?, resolution_due_at = ?, next_renotify_at = ? WHERE id = ?`,
          args: [nowIso, severity, priority, isoTime(due.responseDueMs), isoTime(due.resolutionDueMs), next === null ? null : isoTime(next), escalationId],
        });
      } else {
        await tx.execute({ sql: "UPDATE escalations SET reports = reports + 1, updated_at = ?, severity = ? WHERE id = ?", args: [nowIso, severity, escalationId] });
      }
    }
  }
  if (escalationId === null) {
    escalationId = newId("esc", env.random);
    created = true;
    const due = slaDue(priority, now);
    await tx.execute({
      sql: `INSERT INTO escalations (id, msp_id, org_id, site_id, incident_id, host_id, check_id, category, severity, priority, source, reason,
              created_at, updated_at, response_due_at, resolution_due_at, notified_at, next_renotify_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        escalationId, str(siteRow, "msp_id"), str(siteRow, "org_id"), report.site_id, report.incident_id, report.host_id, report.check, category,
        report.severity, priority, report.source, reason, nowIso, nowIso, isoTime(due.responseDueMs), isoTime(due.resolutionDueMs), nowIso, isoTime(due.responseDueMs),
      ],
    });
  }
  await tx.execute({
    sql: `INSERT INTO escalation_reports (source_key, escalation_id, source, appliance_id, severity, reason, attempts, reported_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [report.source_key, escalationId, report.source, report.appliance_id, report.severity, reason, report.attempts, report.reported_at, nowIso],
  });
  if (created) await enqueueEscalationEvent(tx, env, escalationId, { event: "escalation.opened" });
  return { escalation_id: escalationId, created, replay: false };
}

/**
 * Push ingest of one `escalation` outbox entry, inside the push transaction (relay/ingest/push.ts calls it
 * for each stored entry of that type). The site is the authenticated appliance's, never the body's.
 */
export async function ingestEscalation(tx: Tx, appliance: Pick<AuthedAppliance, "id" | "site_id">, entry: Extract<OutboxEntry, { type: "escalation" }>, env: Env): Promise<OpenResult> {
  const b: EscalationBody = entry.body;
  return openEscalation(
    tx,
    {
      site_id: appliance.site_id,
      source: "appliance",
      source_key: `appliance:${appliance.id}:${b.escalation_id}`,
      appliance_id: appliance.id,
      incident_id: b.incident_id,
      host_id: b.host_id,
      check: b.check,
      severity: b.severity,
      reason: b.reason,
      attempts: b.attempts,
      reported_at: b.created_at,
    },
    env,
  );
}

/**
 * The statement resolving a ticket that is not resolved yet. Resolving implies someone responded: an
 * unacknowledged ticket is acknowledged by the resolution. Used by people (tickets.ts) and by the appliance.
 */
export function resolveTicket(id: string, r: { at: string; by: string; note: string }): { sql: string; args: string[] } {
  return {
    sql: `UPDATE escalations SET status = 'resolved', acknowledged_at = COALESCE(acknowledged_at, ?), acknowledged_by = COALESCE(acknowledged_by, ?),
            resolved_at = ?, resolved_by = ?, resolution_note = ?, updated_at = ?, next_renotify_at = NULL WHERE id = ? AND status <> 'resolved'`,
    args: [r.at, r.by, r.at, r.by, r.note, r.at, id],
  };
}

/** Who resolved a ticket whose problem cleared on its own (`resolved_by`; people are user ids). */
export const CLEARED_BY = "appliance";

/**
 * Push ingest of an `incident` entry saying the incident is resolved (the appliance saw its check pass again:
 * an automatic fix, or someone fixed it on site), inside the push transaction: the site's tickets still open
 * or acknowledged for that incident are resolved by the appliance with a note saying so, and the resolution is
 * notified like a person's. Without this, a ticket for a problem long gone stays open, goes overdue and keeps
 * paging. If the problem comes back, the appliance opens a new incident and a new ticket. Returns how many.
 */
export async function resolveClearedEscalations(tx: Tx, appliance: Pick<AuthedAppliance, "id" | "site_id">, entry: Extract<OutboxEntry, { type: "incident" }>, env: Env): Promise<number> {
  const b = entry.body;
  if (b.status !== "resolved") return 0;
  const open = await tx.execute({ sql: "SELECT id FROM escalations WHERE site_id = ? AND incident_id = ? AND status <> 'resolved'", args: [appliance.site_id, b.incident_id] });
  const now = isoTime(env.clock.now());
  const note = `Cleared: the appliance saw the check pass again${b.resolved_at ? ` at ${b.resolved_at}` : ""} (fixed automatically or on site). If it comes back, a new ticket opens.`;
  for (const row of open.rows) {
    const id = str(row, "id");
    await tx.execute(resolveTicket(id, { at: now, by: CLEARED_BY, note }));
    await enqueueEscalationEvent(tx, env, id, { event: "escalation.resolved" });
  }
  return open.rows.length;
}

/** A ticket as the API shows it. */
export interface EscalationView {
  escalation_id: string;
  site_id: string;
  org_id: string;
  incident_id: string | null;
  host_id: string | null;
  /** The host's name as the site's appliance last reported it (null when it never reported one). */
  host_name: string | null;
  check: string | null;
  /** The check's title in the catalogue (null for a check the catalogue does not know, or none). */
  check_title: string | null;
  category: string | null;
  severity: string;
  priority: Priority;
  source: string;
  reason: string;
  status: EscalationStatus;
  reports: number;
  created_at: string;
  updated_at: string;
  response_due_at: string;
  resolution_due_at: string;
  response_overdue: boolean;
  resolution_overdue: boolean;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledge_note: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

/**
 * How tickets are read for `escalationView`: every column, plus the host's reported name (`site_hosts`, what
 * the site's devices list shows) so a ticket reads "Screen lock on FRONT-DESK-01", not two ids.
 */
export const ESCALATION_SELECT = "SELECT e.*, (SELECT h.hostname FROM site_hosts h WHERE h.site_id = e.site_id AND h.host_id = e.host_id) AS host_name FROM escalations e";

/** A ticket row (read with ESCALATION_SELECT) as the API shows it. */
export function escalationView(r: Row, nowMs: number): EscalationView {
  const status = str(r, "status") as EscalationStatus;
  const responseDue = str(r, "response_due_at");
  const resolutionDue = str(r, "resolution_due_at");
  const acknowledgedAt = strOrNull(r, "acknowledged_at");
  const resolvedAt = strOrNull(r, "resolved_at");
  return {
    escalation_id: str(r, "id"),
    site_id: str(r, "site_id"),
    org_id: str(r, "org_id"),
    incident_id: strOrNull(r, "incident_id"),
    host_id: strOrNull(r, "host_id"),
    host_name: r["host_name"] === undefined ? null : strOrNull(r, "host_name"),
    check: strOrNull(r, "check_id"),
    check_title: checkTitle(strOrNull(r, "check_id")),
    category: strOrNull(r, "category"),
    severity: str(r, "severity"),
    priority: str(r, "priority") as Priority,
    source: str(r, "source"),
    reason: str(r, "reason"),
    status,
    reports: num(r, "reports"),
    created_at: str(r, "created_at"),
    updated_at: str(r, "updated_at"),
    response_due_at: responseDue,
    resolution_due_at: resolutionDue,
    // Overdue: the target passed before the step was taken (or is passing now, for an open step).
    response_overdue: (acknowledgedAt ?? isoTime(nowMs)) > responseDue,
    resolution_overdue: (resolvedAt ?? isoTime(nowMs)) > resolutionDue,
    acknowledged_at: acknowledgedAt,
    acknowledged_by: strOrNull(r, "acknowledged_by"),
    acknowledge_note: strOrNull(r, "acknowledge_note"),
    resolved_at: resolvedAt,
    resolved_by: strOrNull(r, "resolved_by"),
    resolution_note: strOrNull(r, "resolution_note"),
  };
}
