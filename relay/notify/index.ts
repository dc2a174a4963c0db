/**
 * Public surface of relay/notify/: notification channels (e-mail, signed webhook, Slack, RFC 5424 syslog)
 * per MSP, partner and site; the queue and delivery log; the clinic digest. Sending is driven by the
 * escalation scheduler (escalations/scheduler.ts), which takes the `NotifyEffects`.
 */
export { channelsForSite, createChannel, deleteChannel, listChannels, newChannelSchema, CHANNEL_TYPES, type Channel, type ChannelView } from "./channels.ts";
export { deliverDue, listDeliveries, backoffMs, DELIVERY_POLICY, type DeliverReport } from "./deliver.ts";
export { buildDigest, dueDigestKey, enqueueDueDigests, DIGEST_HOUR } from "./digest.ts";
export { enqueueDelivery, enqueueEscalationEvent, enqueueInventoryAlert, wants } from "./dispatch.ts";
export { clientEmail, staffEmail, slackMessage, NOTIFY_SCHEMA, type NotifyEvent } from "./events.ts";
export { sendOnce, webhookSignature, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, type NotifyEffects } from "./send.ts";
export { NOTIFY_ROUTES } from "./routes.ts";
