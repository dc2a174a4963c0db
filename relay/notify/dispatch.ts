/**
 * Queueing notifications: an event about a ticket becomes one delivery row per channel that covers the
 * ticket's site, wants that event and is not above the ticket's priority. Runs inside the caller's
 * transaction (the ticket change and its notifications commit together); sending happens later, outside any
 * transaction (deliver.ts). Rows are keyed by channel + event key, so queueing twice sends once.
 *
 * Who wants what: staff e-mail gets new tickets and SLA misses (things that need someone); webhooks, Slack
 * and syslog get every lifecycle event (machines do not tire of them); a clinic's e-mail gets only a
 * PHI-free notice of a new ticket (and the digest, digest.ts). Inventory alerts (a new device after the site's
 * learning period, raised and rate-limited by inventory/ingest.ts) go to staff channels only, filtered like a
 * medium-priority ticket, keyed by the alert id.
 */
import { DEVICE_TYPE_TITLES, findCheck, type DeviceType } from "../../protocol/catalogue/mod.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { str, strOrNull, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { priorityRank, type Priority } from "../escalations/priority.ts";
import { channelsForSite, type Channel } from "./channels.ts";
import { INVENTORY_ALERT_PRIORITY, INVENTORY_EVENT, NOTIFY_SCHEMA, type ClientNotice, type EscalationEvent, type EscalationEventName, type InventoryAlertEvent, type NotifyEvent, ticketTitle } from "./events.ts";

export interface EventSpec {
  event: EscalationEventName;
  /** For `escalation.sla_missed`. */
  sla?: "response" | "resolution";
  /** For `escalation.sla_missed`: the how-many-th notice (part of the idempotency key). */
  n?: number;
}

/** Whether a channel takes an event (priority is checked separately). */
export function wants(channel: Pick<Channel, "type" | "audience">, event: EscalationEventName | typeof INVENTORY_EVENT): boolean {
  if (event === INVENTORY_EVENT) return channel.audience !== "client";
  if (channel.type === "email") return channel.audience === "client" ? event === "escalation.opened" : event === "escalation.opened" || event === "escalation.sla_missed";
  return true;
}

/** Queues one delivery (no-op when this channel already has this event key). */
export async function enqueueDelivery(tx: Tx, env: Env, channel: Pick<Channel, "id">, key: string, payload: NotifyEvent, refs: { escalation_id: string | null; site_id: string | null }): Promise<void> {
  const now = isoTime(env.clock.now());
  await tx.execute({
    sql: `INSERT INTO notification_deliveries (id, channel_id, event, event_key, escalation_id, site_id, payload, status, attempts, next_attempt_at, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (channel_id, event_key) DO NOTHING`,
    args: [newId("dlv", env.random), channel.id, payload.event, key, refs.escalation_id, refs.site_id, JSON.stringify(payload), now, now],
  });
}

/** Queues an event about a ticket to every channel that wants it. Returns how many deliveries were queued. */
export async function enqueueEscalationEvent(tx: Tx, env: Env, escalationId: string, spec: EventSpec): Promise<number> {
  const rs = await tx.execute({
    // host_name: the name the appliance reported for the host (as escalation tickets show it), null if none.
    sql: `SELECT e.*, s.name AS site_name, o.name AS org_name, (SELECT h.hostname FROM site_hosts h WHERE h.site_id = e.site_id AND h.host_id = e.host_id) AS host_name
          FROM escalations e JOIN sites s ON s.id = e.site_id JOIN organisations o ON o.id = e.org_id WHERE e.id = ?`,
    args: [escalationId],
  });
  const r = rs.rows[0];
  if (!r) throw new TypeError(`Cannot notify about escalation ${escalationId}: no such ticket`);
  const priority = str(r, "priority") as Priority;
  const key = spec.event === "escalation.sla_missed" ? `${escalationId}:${spec.event}:${spec.sla ?? "response"}:${spec.n ?? 1}` : `${escalationId}:${spec.event}`;
  const now = isoTime(env.clock.now());
  const check = strOrNull(r, "check_id");
  const checkTitle = check === null ? null : (findCheck(check)?.title ?? null);
  const hostId = strOrNull(r, "host_id");
  const hostName = strOrNull(r, "host_name");
  const staff: EscalationEvent = {
    schema: NOTIFY_SCHEMA,
    event: spec.event,
    event_id: key,
    occurred_at: now,
    sla: spec.sla ?? null,
    escalation: {
      id: escalationId,
      status: str(r, "status"),
      priority,
      severity: str(r, "severity"),
      category: strOrNull(r, "category"),
      check,
      check_title: checkTitle,
      title: ticketTitle({ check, check_title: checkTitle, host_id: hostId, host_name: hostName }),
      host_id: hostId,
      host_name: hostName,
      reason: str(r, "reason"),
      source: str(r, "source"),
      site_id: str(r, "site_id"),
      site_name: str(r, "site_name"),
      org_id: str(r, "org_id"),
      org_name: str(r, "org_name"),
      created_at: str(r, "created_at"),
      response_due_at: str(r, "response_due_at"),
      resolution_due_at: str(r, "resolution_due_at"),
      acknowledged_at: strOrNull(r, "acknowledged_at"),
      resolved_at: strOrNull(r, "resolved_at"),
    },
  };
  const client: ClientNotice = { schema: NOTIFY_SCHEMA, event: "client.notice", event_id: key, occurred_at: now, priority };
  let queued = 0;
  for (const channel of await channelsForSite(tx, str(r, "site_id"))) {
    if (!wants(channel, spec.event) || priorityRank(priority) < priorityRank(channel.min_priority)) continue;
    await enqueueDelivery(tx, env, channel, key, channel.audience === "client" ? client : staff, { escalation_id: escalationId, site_id: str(r, "site_id") });
    queued++;
  }
  return queued;
}

/**
 * Queues a raised inventory alert to every staff channel covering its site that takes medium priority. Returns
 * how many deliveries were queued (0 for an unknown or suppressed alert).
 */
export async function enqueueInventoryAlert(tx: Tx, env: Env, alertId: string): Promise<number> {
  const rs = await tx.execute({
    sql: `SELECT a.id, a.site_id, a.state, a.raised_at, d.device_type, d.vendor, s.name AS site_name, o.id AS org_id, o.name AS org_name
          FROM inventory_alerts a JOIN devices d ON d.id = a.device_id JOIN sites s ON s.id = a.site_id JOIN organisations o ON o.id = s.org_id WHERE a.id = ?`,
    args: [alertId],
  });
  const r = rs.rows[0];
  if (!r || str(r, "state") !== "raised") return 0;
  const siteId = str(r, "site_id");
  const deviceType = str(r, "device_type");
  const key = `${alertId}:${INVENTORY_EVENT}`;
  const payload: InventoryAlertEvent = {
    schema: NOTIFY_SCHEMA,
    event: INVENTORY_EVENT,
    event_id: key,
    occurred_at: isoTime(env.clock.now()),
    alert: {
      id: alertId,
      site_id: siteId,
      site_name: str(r, "site_name"),
      org_id: str(r, "org_id"),
      org_name: str(r, "org_name"),
      device_type: deviceType,
      device_type_title: DEVICE_TYPE_TITLES[deviceType as DeviceType] ?? deviceType,
      vendor: strOrNull(r, "vendor"),
      seen_at: str(r, "raised_at"),
    },
  };
  let queued = 0;
  for (const channel of await channelsForSite(tx, siteId)) {
    if (!wants(channel, INVENTORY_EVENT) || priorityRank(INVENTORY_ALERT_PRIORITY) < priorityRank(channel.min_priority)) continue;
    await enqueueDelivery(tx, env, channel, key, payload, { escalation_id: null, site_id: siteId });
    queued++;
  }
  return queued;
}
