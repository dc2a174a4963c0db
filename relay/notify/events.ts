/**
 * What a notification says. Events are stored (in the delivery log) as small JSON payloads and rendered per
 * channel type when sent: an e-mail, a Slack message, an RFC 5424 syslog line, or the signed webhook body.
 *
 * Two audiences. Staff channels (the MSP's and partners') get the ticket: site, check, host, priority and the
 * scrubbed reason. Client channels (a clinic's own inbox) get a payload that has no such fields in the first
 * place, `client.notice` or `digest`, rendered without clinic, host or patient details: a count and a link
 * to the portal, where the details sit behind a login.
 *
 * Inventory alerts (`inventory.new_device`, a device first seen on a clinic network after the site's learning
 * period) go to staff channels only, and carry what a technician needs to triage without opening anything
 * personal: site, organisation, the device's type and vendor and when it was seen. Never its IP, MAC or
 * names (a hostname such as "jsmith-laptop" may name a person); those are in the dashboard behind a login.
 */
import { CATEGORY_TITLES, isCategory, problemTitle } from "../../protocol/catalogue/mod.ts";
import type { Priority } from "../escalations/priority.ts";

export const NOTIFY_SCHEMA = "osiris.notify/v1";

export const ESCALATION_EVENTS = ["escalation.opened", "escalation.sla_missed", "escalation.acknowledged", "escalation.resolved"] as const;
export type EscalationEventName = (typeof ESCALATION_EVENTS)[number];

export interface EscalationEvent {
  schema: typeof NOTIFY_SCHEMA;
  event: EscalationEventName;
  event_id: string;
  occurred_at: string;
  /** For `escalation.sla_missed`: which target was missed. */
  sla: "response" | "resolution" | null;
  escalation: {
    id: string;
    status: string;
    priority: Priority;
    severity: string;
    category: string | null;
    check: string | null;
    check_title: string | null;
    /** The ticket's title as the dashboard heads it: "Not met: <check title> — <host name>" (see `ticketTitle`). */
    title: string;
    host_id: string | null;
    /** The name the appliance reported for the host ("FRONT-DESK-01"); null when it reported none (the id stands). */
    host_name: string | null;
    reason: string;
    source: string;
    site_id: string;
    site_name: string;
    org_id: string;
    org_name: string;
    created_at: string;
    response_due_at: string;
    resolution_due_at: string;
    acknowledged_at: string | null;
    resolved_at: string | null;
  };
}

/** What a clinic's inbox is told about a new escalation: that there is one, and how urgent. */
export interface ClientNotice {
  schema: typeof NOTIFY_SCHEMA;
  event: "client.notice";
  event_id: string;
  occurred_at: string;
  priority: Priority;
}

export interface DigestEvent {
  schema: typeof NOTIFY_SCHEMA;
  event: "digest";
  event_id: string;
  occurred_at: string;
  cadence: "daily" | "weekly";
  period_from: string;
  period_to: string;
  /** Issues handed to the IT provider in the period. */
  opened: number;
  /** Issues the IT provider closed in the period. */
  resolved: number;
  /** Issues still open now. */
  open_now: number;
  /** Problems the appliance fixed by itself in the period. */
  fixed_automatically: number;
  /** Newly opened issues by catalogue category (plain titles such as "Backups"). */
  by_category: { category: string; title: string; opened: number }[];
}

export const INVENTORY_EVENT = "inventory.new_device";

export interface InventoryAlertEvent {
  schema: typeof NOTIFY_SCHEMA;
  event: typeof INVENTORY_EVENT;
  event_id: string;
  occurred_at: string;
  alert: {
    id: string;
    site_id: string;
    site_name: string;
    org_id: string;
    org_name: string;
    /** The catalogue's device type id and its title ("Medical imaging device"). */
    device_type: string;
    device_type_title: string;
    /** The network card's vendor (from the MAC prefix), when known. */
    vendor: string | null;
    seen_at: string;
  };
}

export type NotifyEvent = EscalationEvent | ClientNotice | DigestEvent | InventoryAlertEvent;

/** Whether an event is an inventory alert. */
export function isInventoryAlert(e: NotifyEvent): e is InventoryAlertEvent {
  return e.event === INVENTORY_EVENT;
}

/** The priority inventory alerts are filtered by (a channel's `min_priority`): an unknown device is worth a look, not a page. */
export const INVENTORY_ALERT_PRIORITY: Priority = "medium";

export interface Links {
  /** The staff dashboard's page for the ticket, or null when the relay's public URL is unknown. */
  dashboard: string | null;
  /** The client portal, or null when the relay's public URL is unknown. */
  portal: string | null;
}

/** Links for an event (the relay's public URL is configured per deployment). */
export function linksFor(publicUrl: string | undefined, event: NotifyEvent): Links {
  if (!publicUrl) return { dashboard: null, portal: null };
  const base = publicUrl.replace(/\/+$/, "");
  return {
    dashboard: event.event.startsWith("escalation.")
      ? `${base}/dashboard/escalations/${encodeURIComponent((event as EscalationEvent).escalation.id)}`
      : isInventoryAlert(event)
        ? `${base}/dashboard/sites/${encodeURIComponent(event.alert.site_id)}/devices`
        : null,
    portal: `${base}/portal`,
  };
}

const PRIORITY_WORD: Readonly<Record<Priority, string>> = { critical: "CRITICAL", high: "HIGH", medium: "MEDIUM", low: "LOW" };

/** The host as people know it: its reported name, else its id. */
function hostOf(x: Pick<EscalationEvent["escalation"], "host_id" | "host_name">): string | null {
  // A payload queued before host_name existed has none (a retry renders it again): its id stands.
  return x.host_name ?? x.host_id;
}

/**
 * What the ticket is about, as the dashboard heads it: its check worded as a problem (the one rule,
 * protocol/catalogue/wording.ts) and the host's name: "Not met: Screen lock is on — FRONT-DESK-01".
 */
export function ticketTitle(x: Pick<EscalationEvent["escalation"], "check" | "check_title" | "host_id" | "host_name">): string {
  const host = hostOf(x);
  return x.check === null ? `An issue${host ? ` on ${host}` : ""}` : problemTitle(x.check_title ?? x.check, host);
}

/** The host's name with its id kept for reference ("FRONT-DESK-01 (id ws01)"), its id alone when it has no name, "-" for none. */
function hostLine(x: EscalationEvent["escalation"]): string {
  if (x.host_id === null) return "-";
  return x.host_name && x.host_name !== x.host_id ? `${x.host_name} (id ${x.host_id})` : x.host_id;
}

function headline(e: EscalationEvent): string {
  const x = e.escalation;
  const what = ticketTitle(x);
  switch (e.event) {
    case "escalation.opened":
      return `Escalation opened at ${x.site_name}: ${what}`;
    case "escalation.sla_missed":
      return `SLA missed (${e.sla === "response" ? "no response" : "not resolved"}) at ${x.site_name}: ${what}`;
    case "escalation.acknowledged":
      return `Escalation acknowledged at ${x.site_name}: ${what}`;
    case "escalation.resolved":
      return `Escalation resolved at ${x.site_name}: ${what}`;
  }
}

/** A staff e-mail about a ticket. */
export function staffEmail(e: EscalationEvent, links: Links): { subject: string; text: string } {
  const x = e.escalation;
  const lines = [
    headline(e),
    "",
    `Priority:   ${x.priority} (severity ${x.severity}${x.category ? `, ${x.category}` : ""})`,
    `Site:       ${x.site_name} (${x.org_name})`,
    `Host:       ${hostLine(x)}`,
    `Check:      ${x.check ?? "-"}`,
    `Reason:     ${x.reason}`,
    `Status:     ${x.status}`,
    `Respond by: ${x.response_due_at}`,
    `Resolve by: ${x.resolution_due_at}`,
  ];
  if (links.dashboard) lines.push("", `Open the ticket: ${links.dashboard}`);
  return { subject: `[${PRIORITY_WORD[x.priority]}] ${headline(e)}`.slice(0, 200), text: lines.join("\n") + "\n" };
}

/** A clinic-facing e-mail: no clinic, host, check or patient details; only a pointer to the portal. */
export function clientEmail(e: ClientNotice | DigestEvent, links: Links): { subject: string; text: string } {
  const portal = links.portal ?? "your OsirisCare portal";
  if (e.event === "client.notice") {
    return {
      subject: "A compliance issue was handed to your IT provider",
      text:
        `Your compliance appliance found an issue it could not fix by itself and handed it to your IT provider ` +
        `(priority: ${e.priority}).\n\nYou do not need to do anything. To see the details, sign in to the portal:\n${portal}\n`,
    };
  }
  const period = e.cadence === "daily" ? "day" : "week";
  const lines = [
    `Your ${e.cadence} compliance summary (${e.period_from.slice(0, 10)} to ${e.period_to.slice(0, 10)}):`,
    "",
    `- Problems fixed automatically: ${e.fixed_automatically}`,
    `- Issues handed to your IT provider: ${e.opened}`,
    `- Issues your IT provider resolved: ${e.resolved}`,
    `- Issues still open: ${e.open_now}`,
  ];
  if (e.by_category.length) lines.push("", "New issues by area:", ...e.by_category.map((c) => `- ${c.title}: ${c.opened}`));
  if (e.opened === 0 && e.resolved === 0 && e.fixed_automatically === 0) lines.push("", `Nothing changed in the last ${period}.`);
  lines.push("", `Details are in the portal: ${portal}`);
  return { subject: `Your ${e.cadence} compliance summary`, text: lines.join("\n") + "\n" };
}

/** A Slack-compatible incoming-webhook body. */
export function slackMessage(e: EscalationEvent, links: Links): { text: string } {
  const x = e.escalation;
  const link = links.dashboard ? ` <${links.dashboard}|Open>` : "";
  // The headline names the host; its id is kept for reference (searching logs, talking to the appliance).
  return { text: `[${PRIORITY_WORD[x.priority]}] ${headline(e)}${x.host_id && x.host_name && x.host_name !== x.host_id ? ` (host id ${x.host_id})` : ""}: ${x.reason.slice(0, 500)}${link}` };
}

/** Syslog severity for an event: open problems by priority, lifecycle changes as notices. */
export function syslogSeverity(e: EscalationEvent): "critical" | "error" | "warning" | "notice" | "info" {
  if (e.event === "escalation.resolved") return "info";
  if (e.event === "escalation.acknowledged") return "notice";
  return ({ critical: "critical", high: "error", medium: "warning", low: "notice" } as const)[e.escalation.priority];
}

/** The category title clinic staff read (never the check or host). */
export function categoryTitle(category: string | null): string {
  return category !== null && isCategory(category) ? CATEGORY_TITLES[category] : "Other";
}

/** One line for logs and syslog messages. */
export function summaryLine(e: EscalationEvent): string {
  return `${headline(e)}: ${e.escalation.reason}`;
}

function inventoryHeadline(e: InventoryAlertEvent): string {
  return `New device on the network at ${e.alert.site_name}: ${e.alert.device_type_title.toLowerCase()}${e.alert.vendor ? ` (${e.alert.vendor})` : ""}`;
}

/** A staff e-mail about a new device (no address or name of the device: see the module comment). */
export function inventoryEmail(e: InventoryAlertEvent, links: Links): { subject: string; text: string } {
  const a = e.alert;
  const lines = [
    inventoryHeadline(e),
    "",
    `Site:        ${a.site_name} (${a.org_name})`,
    `Looks like:  ${a.device_type_title}`,
    `Vendor:      ${a.vendor ?? "unknown"}`,
    `First seen:  ${a.seen_at}`,
    "",
    "A device the appliance had not seen before joined the clinic network. Check that it belongs there; mark it",
    "monitored, medical or excluded in the device list.",
  ];
  if (links.dashboard) lines.push("", `Open the device list: ${links.dashboard}`);
  return { subject: `[${PRIORITY_WORD[INVENTORY_ALERT_PRIORITY]}] ${inventoryHeadline(e)}`.slice(0, 200), text: lines.join("\n") + "\n" };
}

/** A Slack-compatible body for a new device. */
export function inventorySlackMessage(e: InventoryAlertEvent, links: Links): { text: string } {
  return { text: `[${PRIORITY_WORD[INVENTORY_ALERT_PRIORITY]}] ${inventoryHeadline(e)}${links.dashboard ? ` <${links.dashboard}|Open>` : ""}` };
}

/** One line for logs and syslog messages about a new device. */
export function inventorySummaryLine(e: InventoryAlertEvent): string {
  return inventoryHeadline(e);
}
