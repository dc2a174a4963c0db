/**
 * Sync messages between an appliance and its relay: push (outbox batches up), pull (rule set, orders, site
 * configuration, relay keys, sealed credentials, the signed appliance config down) and the one error envelope.
 *
 * Push is idempotent by construction: every entry carries the appliance's `outbox_seq`, strictly increasing
 * within a batch, and the relay acknowledges the highest one it has durably stored; the appliance resends
 * anything above it. Evidence travels as the bundle's line (a string), verified by the relay with
 * `ChainVerifier`; the other bodies are typed objects checked here. Everything has a named bound.
 */
import { z } from "zod";
import { envelopeSchema } from "./envelope.ts";
import { DEPLOYMENT_MODES, HEALING_OUTCOMES, jsonObjectSchema, MAX_BUNDLE_LINE_BYTES, MAX_TEXT_LENGTH } from "./evidence.ts";
import { ValidationError } from "./errors.ts";
import { idSchema, isoTimeSchema, keyIdSchema, publicKeyHexSchema, sha256HexSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";
import { DEVICE_TYPES } from "./catalogue/services.ts";

export const PUSH_SCHEMA = "osiris.sync.push/v1";
export const PULL_SCHEMA = "osiris.sync.pull/v1";

/** Most entries in one push: big enough to catch up quickly after an outage, small enough for one transaction. */
export const MAX_PUSH_ENTRIES = 500;
/** Largest push body (bytes); the relay refuses bigger bodies before parsing them. */
export const MAX_PUSH_BYTES = 4 * 1024 * 1024;
/** Largest pull response body (bytes): a full rule set plus orders and credentials. */
export const MAX_PULL_BYTES = 4 * 1024 * 1024;
/** Most orders handed out in one pull; the rest follow on the next. */
export const MAX_PULL_ORDERS = 100;
/** Longest signed-note checkpoint text (a note with a handful of signature lines is well under 1 KiB). */
export const MAX_CHECKPOINT_CHARS = 8 * 1024;
/** Longest free-text detail (order results, escalation reasons). */
export const MAX_DETAIL_LENGTH = 4096;
/** Most hosts in one inventory report. */
export const MAX_INVENTORY_HOSTS = 1000;
/** Most maintenance windows per site. */
export const MAX_MAINTENANCE_WINDOWS = 32;
/** Most relay keys pinned at once (current plus a few during rotation). */
export const MAX_RELAY_KEYS = 16;
/** Most sealed credentials in one pull. */
export const MAX_CREDENTIALS = 500;
/** Largest sealed credential ciphertext (base64url characters). */
export const MAX_SEALED_CHARS = 64 * 1024;

export const OUTBOX_ENTRY_TYPES = ["evidence", "incident", "healing_attempt", "escalation", "heartbeat", "order_result", "inventory"] as const;
export type OutboxEntryType = (typeof OUTBOX_ENTRY_TYPES)[number];

export const INCIDENT_STATUSES = ["open", "resolved", "escalated"] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
/** Same values as the catalogue's severities. */
export const INCIDENT_SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
export const HEALING_TIERS = ["L1", "L2", "L3"] as const;
export type HealingTier = (typeof HEALING_TIERS)[number];
export const HEALING_MODES = ["observe", "advise", "enforce"] as const;
export type HealingMode = (typeof HEALING_MODES)[number];

const text = z.string().min(1).max(MAX_TEXT_LENGTH);
const detail = z.string().max(MAX_DETAIL_LENGTH);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const seqRef = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const base64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, "expected unpadded base64url");

// ---- outbox bodies -------------------------------------------------------------------------------------

/** One incident per host + check, sent whenever it changes. */
export const incidentBodySchema = z.strictObject({
  incident_id: idSchema,
  host_id: text.nullable(),
  check: text,
  severity: z.enum(INCIDENT_SEVERITIES),
  status: z.enum(INCIDENT_STATUSES),
  opened_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  resolved_at: isoTimeSchema.nullable(),
  /** Failing results seen since it opened. */
  occurrences: z.number().int().min(1),
  /** Seq of the evidence bundle that last changed it. */
  evidence_seq: seqRef.nullable(),
});
export type IncidentBody = z.output<typeof incidentBodySchema>;

/** One attempt to heal an incident (L1 rule, L2 plan, or L3 hand-off). */
export const healingAttemptBodySchema = z.strictObject({
  attempt_id: idSchema,
  incident_id: idSchema.nullable(),
  host_id: text.nullable(),
  check: text,
  platform: text,
  runbook: text.nullable(),
  params: jsonObjectSchema,
  tier: z.enum(HEALING_TIERS),
  outcome: z.enum(HEALING_OUTCOMES),
  duration_ms: count,
  /** The L1 rule that chose the runbook; null for L2/L3. */
  rule_id: text.nullable(),
  started_at: isoTimeSchema,
  finished_at: isoTimeSchema,
  /** For `deferred`: when it is due to run. */
  deferred_until: isoTimeSchema.nullable(),
  evidence_seq: seqRef.nullable(),
  detail: detail.nullable(),
});
export type HealingAttemptBody = z.output<typeof healingAttemptBodySchema>;

/** A problem handed to humans (L3). */
export const escalationBodySchema = z.strictObject({
  escalation_id: idSchema,
  incident_id: idSchema.nullable(),
  host_id: text.nullable(),
  check: text.nullable(),
  severity: z.enum(INCIDENT_SEVERITIES),
  reason: detail.min(1),
  created_at: isoTimeSchema,
  /** Healing attempts made before escalating. */
  attempts: count,
});
export type EscalationBody = z.output<typeof escalationBodySchema>;

/** Where an appliance's healing mode in force comes from: its YAML, the relay's site setting, or an order. */
export const HEALING_MODE_SOURCES = ["config", "relay", "order"] as const;
export type HealingModeSource = (typeof HEALING_MODE_SOURCES)[number];

export const heartbeatBodySchema = z.strictObject({
  at: isoTimeSchema,
  /** Appliance software version. */
  version: text,
  ntp_offset_ms: z.number().int().nullable(),
  /** Outbox entries waiting to be pushed. */
  backlog: count,
  /** The healing mode the appliance heals with now (absent from appliances that predate it). */
  healing_mode: z.strictObject({ mode: z.enum(HEALING_MODES), source: z.enum(HEALING_MODE_SOURCES) }).optional(),
});
export type HeartbeatBody = z.output<typeof heartbeatBodySchema>;

export const orderResultBodySchema = z.strictObject({
  order_id: idSchema,
  outcome: z.enum(HEALING_OUTCOMES),
  detail: detail,
});
export type OrderResultBody = z.output<typeof orderResultBodySchema>;

export const inventoryHostSchema = z.strictObject({
  host_id: text,
  hostname: text,
  platform: text,
  os_version: text.nullable(),
  reachable: z.boolean(),
  last_seen: isoTimeSchema.nullable(),
});
// ---- network discovery (appliance/discovery → relay/inventory) ----
/** Most open ports reported per discovered device; most subnets per discovery scan. */
export const MAX_DEVICE_PORTS = 256;
export const MAX_DISCOVERY_SUBNETS = 64;
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
export const IPV4_PATTERN = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
export const MAC_PATTERN = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const ipv4 = z.string().max(15).regex(IPV4_PATTERN, "expected an IPv4 address like 192.168.1.20");
const macAddress = z.string().max(17).regex(MAC_PATTERN, "expected a lower-case MAC like 00:1b:a9:12:34:56");
const tcpPort = z.number().int().min(1).max(65_535);
/** One device found by network discovery: what answered, its names, vendor, open ports and classification. */
export const discoveredDeviceSchema = z.strictObject({
  ip: ipv4,
  mac: macAddress.nullable(),
  vendor: text.nullable(),
  hostname: text.nullable(),
  mdns_name: text.nullable(),
  netbios_name: text.nullable(),
  open_ports: z.array(tcpPort).max(MAX_DEVICE_PORTS),
  device_type: z.enum(DEVICE_TYPES),
  confidence: z.number().int().min(0).max(100),
  evidence: z.array(text).max(16),
});
export type DiscoveredDevice = z.output<typeof discoveredDeviceSchema>;
/** One discovery scan. `complete: false` (aborted, timed out) means absent devices must not be taken as gone. */
export const discoveryReportSchema = z.strictObject({
  scan_id: idSchema,
  trigger: z.enum(["schedule", "order"]),
  order_id: idSchema.nullable(),
  subnets: z.array(z.string().max(18).regex(/^[0-9.]+\/\d{1,2}$/, "expected an IPv4 CIDR like 192.168.1.0/24")).min(1).max(MAX_DISCOVERY_SUBNETS),
  ports: z.array(tcpPort).max(1024),
  started_at: isoTimeSchema,
  finished_at: isoTimeSchema,
  complete: z.boolean(),
  probed_hosts: count,
  excluded_hosts: count,
  devices: z.array(discoveredDeviceSchema).max(MAX_INVENTORY_HOSTS),
});
export type DiscoveryReport = z.output<typeof discoveryReportSchema>;
export const inventoryBodySchema = z.strictObject({
  at: isoTimeSchema,
  hosts: z.array(inventoryHostSchema).max(MAX_INVENTORY_HOSTS),
  /** Set when the entry reports a network discovery scan. */
  discovery: discoveryReportSchema.optional(),
});
export type InventoryBody = z.output<typeof inventoryBodySchema>;

const entry = <T extends OutboxEntryType, B extends z.ZodType>(type: T, body: B) => z.strictObject({ outbox_seq: seqRef, type: z.literal(type), body });

export const outboxEntrySchema = z.discriminatedUnion("type", [
  entry("evidence", z.string().min(1).max(MAX_BUNDLE_LINE_BYTES)),
  entry("incident", incidentBodySchema),
  entry("healing_attempt", healingAttemptBodySchema),
  entry("escalation", escalationBodySchema),
  entry("heartbeat", heartbeatBodySchema),
  entry("order_result", orderResultBodySchema),
  entry("inventory", inventoryBodySchema),
]);
export type OutboxEntry = z.output<typeof outboxEntrySchema>;

// ---- push ----------------------------------------------------------------------------------------------

export const pushRequestSchema = z
  .strictObject({
    schema: z.literal(PUSH_SCHEMA),
    appliance_id: idSchema,
    entries: z.array(outboxEntrySchema).max(MAX_PUSH_ENTRIES),
    /** The appliance's latest signed checkpoint (C2SP signed note), or null. */
    checkpoint: z.string().min(1).max(MAX_CHECKPOINT_CHARS).nullable(),
  })
  .superRefine((p, ctx) => {
    for (let i = 1; i < p.entries.length; i++) {
      const prev = p.entries[i - 1]!.outbox_seq;
      if (p.entries[i]!.outbox_seq <= prev) {
        ctx.addIssue({ code: "custom", path: ["entries", i, "outbox_seq"], message: `must be greater than the previous entry's (${prev})` });
        return;
      }
    }
  });
export type PushRequest = z.output<typeof pushRequestSchema>;

export const pushAckSchema = z.strictObject({
  /** Highest outbox_seq durably stored; 0 when none yet. */
  acked_outbox_seq: count,
  /** Where the appliance's evidence chain stands on the relay (verified_seq 0 and the genesis hash: empty). */
  evidence: z.strictObject({ verified_seq: count, head_hash: sha256HexSchema }),
  /** The pushed checkpoint with the relay's witness cosignature added, or null. */
  countersigned_checkpoint: z.string().min(1).max(MAX_CHECKPOINT_CHARS).nullable(),
});
export type PushAck = z.output<typeof pushAckSchema>;

// ---- pull ----------------------------------------------------------------------------------------------

export const pullRequestSchema = z.strictObject({
  schema: z.literal(PULL_SCHEMA),
  appliance_id: idSchema,
  /** Rule set version in force; the relay sends a rule set only when it has a newer one. */
  ruleset_version: z.number().int().min(1).nullable(),
  /** `relay_time` of the previous pull response (orders issued since), or null. */
  since: isoTimeSchema.nullable(),
  /**
   * Signed appliance config version in force (null: none yet). Optional: only an appliance that sends it is
   * sent `appliance_config` (an older appliance's strict parser would refuse the unknown field).
   */
  appliance_config_version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
});
export type PullRequest = z.output<typeof pullRequestSchema>;

/** ISO 8601 duration of days/hours/minutes/seconds, e.g. `PT2H`, `P1DT30M`. */
export const DURATION_PATTERN = /^P(?=\d|T\d)(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$/;
/** An IANA time zone name (`America/Chicago`) or `UTC`. */
export const TIME_ZONE_PATTERN = /^(?:UTC|[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){1,2})$/;

const timeZone = z.string().max(64).regex(TIME_ZONE_PATTERN, "expected an IANA time zone like America/Chicago");

export const maintenanceWindowSchema = z.strictObject({
  /** RFC 5545 recurrence rule, e.g. `FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=0`. */
  rrule: z
    .string()
    .max(512)
    .regex(/^(?:RRULE:)?FREQ=[A-Z]+(?:;[A-Z]+=[A-Za-z0-9,+-:]+)*$/, "expected an RFC 5545 RRULE like FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"),
  duration: z.string().max(32).regex(DURATION_PATTERN, "expected an ISO 8601 duration like PT2H"),
  tz: timeZone,
});
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;

export const siteConfigSchema = z.strictObject({
  site_id: idSchema,
  healing_mode: z.enum(HEALING_MODES),
  maintenance_windows: z.array(maintenanceWindowSchema).max(MAX_MAINTENANCE_WINDOWS),
  l2_enabled: z.boolean(),
  deployment_mode: z.enum(DEPLOYMENT_MODES),
  reseller_id: text.nullable(),
  timezone: timeZone,
  /** Catalogue check ids the MSP has turned off for this site. */
  disabled_checks: z.array(text).max(1000),
  /** IPv4 addresses and MACs network discovery must never probe (devices the MSP marked excluded). */
  discovery_exclude: z.array(z.union([ipv4, macAddress])).max(MAX_INVENTORY_HOSTS).optional(),
});
export type SiteConfig = z.output<typeof siteConfigSchema>;

/** A relay key as announced in a pull (pinning and rotation happen elsewhere; announcing never trusts). */
export const relayKeyInfoSchema = z.strictObject({ key_id: keyIdSchema, public_key: publicKeyHexSchema, name: text });
export type RelayKeyInfo = z.output<typeof relayKeyInfoSchema>;

/** A site credential sealed to the appliance's X25519 key (ephemeral key agreement + AEAD). */
export const sealedCredentialSchema = z.strictObject({
  credential_id: idSchema,
  /** The host it is for, or `*` for every host of the site. */
  target: text,
  /** Sealing algorithm name, e.g. `x25519-hkdf-sha256-aes256gcm`. */
  alg: text,
  ephemeral_public_key: base64url(64),
  nonce: base64url(64),
  ciphertext: base64url(MAX_SEALED_CHARS),
});
export type SealedCredential = z.output<typeof sealedCredentialSchema>;

export const pullResponseSchema = z.strictObject({
  relay_time: isoTimeSchema,
  ruleset: envelopeSchema.nullable(),
  orders: z.array(envelopeSchema).max(MAX_PULL_ORDERS),
  site_config: siteConfigSchema,
  relay_keys: z.array(relayKeyInfoSchema).min(1).max(MAX_RELAY_KEYS),
  credentials: z.array(sealedCredentialSchema).max(MAX_CREDENTIALS),
  /**
   * The appliance's signed appliance config (context `appliance_config`) when newer than the version the
   * request reported, else null; absent when the request did not report one (an older appliance).
   */
  appliance_config: envelopeSchema.nullable().optional(),
});
export type PullResponse = z.output<typeof pullResponseSchema>;

// ---- errors --------------------------------------------------------------------------------------------

export const errorEnvelopeSchema = z.strictObject({
  error: z.strictObject({
    code: z.string().min(1).max(64),
    message: detail,
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorEnvelope = z.output<typeof errorEnvelopeSchema>;

/** The one JSON error body every HTTP error uses. */
export function errorEnvelope(code: string, message: string, details?: Record<string, unknown>): ErrorEnvelope {
  return { error: { code, message: message.slice(0, MAX_DETAIL_LENGTH), ...(details ? { details } : {}) } };
}

// ---- parsing -------------------------------------------------------------------------------------------

/**
 * Parses a JSON body of at most `maxBytes` UTF-8 bytes. Throws ValidationError `too_large` or `invalid_json`.
 * (Measure before buffering where you can; this is the last line of defence.)
 */
export function parseJsonText(text: string, maxBytes: number): unknown {
  const bytes = text.length * 3 <= maxBytes ? text.length : new TextEncoder().encode(text).length;
  if (bytes > maxBytes) throw new ValidationError("too_large", `Body is ${bytes} bytes: the limit is ${maxBytes}`, { bytes, limit: maxBytes });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError("invalid_json", `Cannot parse JSON: ${(e as Error).message}`);
  }
}

/** Validates a push request (a parsed JSON value). Throws ValidationError("schema") naming the field. */
export const parsePushRequest = (json: unknown): PushRequest => parseSchema(pushRequestSchema, json, "push request");
export const parsePushAck = (json: unknown): PushAck => parseSchema(pushAckSchema, json, "push acknowledgement");
export const parsePullRequest = (json: unknown): PullRequest => parseSchema(pullRequestSchema, json, "pull request");
export const parsePullResponse = (json: unknown): PullResponse => parseSchema(pullResponseSchema, json, "pull response");
export const parseErrorEnvelope = (json: unknown): ErrorEnvelope => parseSchema(errorEnvelopeSchema, json, "error envelope");
