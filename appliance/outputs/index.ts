/**
 * Reseller outputs: the PHI-free event sent to a reseller's channels in reseller deployment mode, RFC 5424
 * syslog over UDP/TCP/TLS, and HMAC-signed webhooks. The public surface of `appliance/outputs/`.
 */
export {
  buildResellerEvent,
  eventToSyslog,
  eventToWebhook,
  publishResellerEvent,
  EVENT_OUTCOMES,
  EVENT_SEVERITIES,
  EVENT_TIERS,
  MAX_EVENT_MESSAGE_CHARS,
  RESELLER_EVENT_SCHEMA,
  type BuiltEvent,
  type EventOutcome,
  type EventSeverity,
  type EventTier,
  type PublishResult,
  type ResellerChannels,
  type ResellerEvent,
  type ResellerEventInput,
  type SyslogChannel,
} from "./events.ts";
export {
  escapeSdValue,
  formatSyslog,
  FACILITIES,
  OSIRIS_APP_NAME,
  OSIRIS_SD_ID,
  SEVERITIES,
  STREAM_MAX_MESSAGE_BYTES,
  UDP_MAX_MESSAGE_BYTES,
  type Facility,
  type Severity,
  type SyslogMessage,
} from "./syslog.ts";
export { SyslogSender, SYSLOG_SENDER_DEFAULTS, type SyslogConnect, type SyslogConnection, type SyslogSenderOptions, type SyslogSenderStats } from "./syslog-sender.ts";
export { normalizeFingerprint, syslogConnector, type SyslogEndpoint, type SyslogTlsOptions, type SyslogTransport } from "./syslog-net.ts";
export {
  deliverWebhook,
  webCryptoHmacSha256,
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  WEBHOOK_DEFAULTS,
  WEBHOOK_LIMITS,
  type DeliveryRecord,
  type HmacSha256,
  type WebhookDelivery,
  type WebhookDeps,
  type WebhookTarget,
} from "./webhook.ts";
