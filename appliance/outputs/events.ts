/**
 * The event the appliance sends to a reseller's channels (syslog, webhook) in reseller deployment mode, and
 * the one function that builds it. The shape is PHI-free by construction — opaque ids, catalogue ids, closed
 * unions and a time — and the only free text, `message`, goes through the shared scrubber (`protocol/scrub.ts`)
 * together with the rest of the event before anything is sent. The relay applies the same scrubber again.
 *
 *   { schema, id, site_id, appliance_id, host_id, check_id, outcome, tier, severity, time, message }
 *
 * `id` is derived from the scrubbed content (SHA-256 of its RFC 8785 form), so a re-sent event keeps its id
 * and receivers can drop duplicates.
 */
import { canonicalize } from "../../protocol/canonical.ts";
import { OUTCOMES, type Outcome } from "../../protocol/evidence.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { scrub, type Redaction } from "../../protocol/scrub.ts";
import { formatSyslog, type Facility, type Severity, type SyslogMessage } from "../../node/syslog/index.ts";
import { deliverWebhook, type DeliveryRecord, type WebhookDelivery, type WebhookDeps, type WebhookTarget } from "./webhook.ts";

export const RESELLER_EVENT_SCHEMA = "osiris.reseller-event/v1";

/** Check results and healing outcomes: the evidence bundle's `outcome` values (docs/protocol.md). */
export const EVENT_OUTCOMES = OUTCOMES;
export type EventOutcome = Outcome;
export const EVENT_TIERS = ["L1", "L2", "L3"] as const;
export type EventTier = (typeof EVENT_TIERS)[number];
export const EVENT_SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

/** A one-line summary for a SIEM or chat channel, not a report. */
export const MAX_EVENT_MESSAGE_CHARS = 1_000;
/** Ids are opaque tokens or catalogue ids; this keeps them printable and short. */
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ResellerEvent {
  schema: typeof RESELLER_EVENT_SCHEMA;
  id: string;
  site_id: string;
  appliance_id: string;
  host_id: string | null;
  check_id: string | null;
  outcome: EventOutcome;
  tier: EventTier | null;
  severity: EventSeverity;
  /** RFC 3339 UTC with milliseconds. */
  time: string;
  message: string;
}

export interface ResellerEventInput {
  site_id: string;
  appliance_id: string;
  host_id?: string | null;
  check_id?: string | null;
  outcome: EventOutcome;
  tier?: EventTier | null;
  severity: EventSeverity;
  time: Date | number;
  message: string;
}

export interface BuiltEvent {
  event: ResellerEvent;
  /** What the scrubber removed (kinds and counts only); worth a warning in the appliance log. */
  redactions: Redaction[];
}

function fail(field: string, rule: string, value: unknown): never {
  throw new RangeError(`Cannot build reseller event as '${field}' must be ${rule}: current value is ${JSON.stringify(value)}`);
}

function id(field: string, value: string | null | undefined, optional: boolean): string | null {
  if (value === null || value === undefined) return optional ? null : fail(field, "an id", value);
  return ID.test(value) ? value : fail(field, "1-128 characters of [A-Za-z0-9._:-]", value);
}

/** Validate, scrub and identify one event. Throws RangeError for invalid input (a bug in the caller). */
export function buildResellerEvent(input: ResellerEventInput): BuiltEvent {
  if (!EVENT_OUTCOMES.includes(input.outcome)) fail("outcome", `one of ${EVENT_OUTCOMES.join(", ")}`, input.outcome);
  if (input.tier != null && !EVENT_TIERS.includes(input.tier)) fail("tier", "L1, L2, L3 or null", input.tier);
  if (!EVENT_SEVERITIES.includes(input.severity)) fail("severity", EVENT_SEVERITIES.join(", "), input.severity);
  const time = new Date(input.time);
  if (Number.isNaN(time.getTime())) fail("time", "a valid time", String(input.time));
  if (typeof input.message !== "string") fail("message", "a string", input.message);
  const unscrubbed = {
    schema: RESELLER_EVENT_SCHEMA,
    site_id: id("site_id", input.site_id, false),
    appliance_id: id("appliance_id", input.appliance_id, false),
    host_id: id("host_id", input.host_id, true),
    check_id: id("check_id", input.check_id, true),
    outcome: input.outcome,
    tier: input.tier ?? null,
    severity: input.severity,
    time: time.toISOString(),
    // Bound the scrubber's work first; the generous margin means a cut here never lands in the kept text.
    message: input.message.slice(0, MAX_EVENT_MESSAGE_CHARS * 4),
  };
  const { value, redactions } = scrub(unscrubbed);
  // Scrub before cutting to length, so an identifier is never split into an unrecognisable fragment.
  const scrubbed = value as Omit<ResellerEvent, "id">;
  const message = scrubbed.message.length > MAX_EVENT_MESSAGE_CHARS ? `${scrubbed.message.slice(0, MAX_EVENT_MESSAGE_CHARS - 1)}…` : scrubbed.message;
  const body = { ...scrubbed, message };
  return { event: { ...body, id: `evt_${sha256Hex(canonicalize(body)).slice(0, 32)}` }, redactions };
}

const SYSLOG_SEVERITY: Record<EventSeverity, Severity> = {
  critical: "critical",
  high: "error",
  medium: "warning",
  low: "notice",
  info: "info",
};

export interface SyslogChannel {
  /** Usually a `SyslogSender`. */
  sender: { send(message: string): boolean };
  facility: Facility;
  /** The appliance's host name as the SIEM should show it. */
  hostname: string;
  procId?: string | number;
  /** `UDP_MAX_MESSAGE_BYTES` for UDP, `STREAM_MAX_MESSAGE_BYTES` for TCP/TLS. */
  maxBytes: number;
}

/** The RFC 5424 message for an event: every field in `[osiris@32473 ...]`, the message as MSG. */
export function eventToSyslog(event: ResellerEvent, channel: Omit<SyslogChannel, "sender" | "maxBytes">): SyslogMessage {
  return {
    facility: channel.facility,
    severity: SYSLOG_SEVERITY[event.severity],
    time: Date.parse(event.time),
    hostname: channel.hostname,
    ...(channel.procId === undefined ? {} : { procId: channel.procId }),
    msgId: event.outcome,
    data: {
      event: event.id,
      site: event.site_id,
      appliance: event.appliance_id,
      host: event.host_id,
      check: event.check_id,
      outcome: event.outcome,
      tier: event.tier,
      severity: event.severity,
    },
    message: event.message,
  };
}

/** The webhook delivery for an event: the event itself is the body; its id is the delivery id. */
export function eventToWebhook(event: ResellerEvent): WebhookDelivery {
  return { id: event.id, body: event };
}

export interface ResellerChannels {
  syslog?: SyslogChannel;
  webhook?: { target: WebhookTarget; deps: WebhookDeps };
}

export interface PublishResult extends BuiltEvent {
  /** `queued` (delivery continues in the background), `refused` (sender closed) or null (not configured). */
  syslog: "queued" | "refused" | null;
  webhook: DeliveryRecord | null;
}

/** Build (and so scrub) the event, then hand it to each configured channel. Never sends unscrubbed text. */
export async function publishResellerEvent(input: ResellerEventInput, channels: ResellerChannels, signal?: AbortSignal): Promise<PublishResult> {
  const built = buildResellerEvent(input);
  let syslog: PublishResult["syslog"] = null;
  if (channels.syslog !== undefined) {
    const line = formatSyslog(eventToSyslog(built.event, channels.syslog), { maxBytes: channels.syslog.maxBytes });
    syslog = channels.syslog.sender.send(line) ? "queued" : "refused";
  }
  const webhook = channels.webhook === undefined ? null : await deliverWebhook(channels.webhook.target, eventToWebhook(built.event), channels.webhook.deps, signal);
  return { ...built, syslog, webhook };
}
