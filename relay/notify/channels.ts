/**
 * Notification channels: where escalations, SLA misses and digests go. A channel belongs to an MSP and is
 * scoped to the whole MSP, one partner (its clinics) or one site. Types: `email` (through the relay's SMTP
 * mailer), `webhook` (signed JSON POST), `slack` (Slack-compatible incoming webhook) and `syslog` (RFC 5424 over
 * UDP, TCP or TLS).
 *
 * Secrets are write-only: the webhook URL and HMAC secret, and the Slack URL (which is itself the credential),
 * are encrypted with the relay's credential vault (AES-256-GCM, bound to the channel's id, MSP and type) into
 * `secret` and never returned; the API shows only where a channel points (origin, host). A
 * `client` audience is allowed only for site e-mail channels: those go to clinic staff, so what they receive
 * names no clinic, host or patient (see events.ts), and they receive the digest.
 */
import { z } from "zod";
import { canonicalBytes } from "../../protocol/canonical.ts";
import { fromUtf8, utf8 } from "../../protocol/encoding.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { canAccess, tenantPath } from "../auth/scope.ts";
import { emailSchema } from "../auth/users.ts";
import type { CredentialVault, VaultCiphertext } from "../credentials/vault.ts";
import { str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { PRIORITIES, type Priority } from "../escalations/priority.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { urlProblem } from "./url-policy.ts";

export const CHANNEL_TYPES = ["email", "webhook", "slack", "syslog"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const CHANNEL_SCOPES = ["msp", "partner", "site"] as const;
export type ChannelScope = (typeof CHANNEL_SCOPES)[number];
export const DIGEST_CADENCES = ["off", "daily", "weekly"] as const;
export type DigestCadence = (typeof DIGEST_CADENCES)[number];
export const SYSLOG_FACILITIES = ["user", "daemon", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"] as const;

/** Most recipients of one e-mail channel. */
export const MAX_EMAIL_RECIPIENTS = 20;

const url = z
  .string()
  .max(2048)
  .superRefine((v, ctx) => {
    const problem = urlProblem(v, true);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
const common = {
  name: z.string().trim().min(1).max(200),
  scope: z.enum(CHANNEL_SCOPES),
  partner_id: z.string().max(100).optional(),
  site_id: z.string().max(100).optional(),
  min_priority: z.enum(PRIORITIES).default("low"),
};

export const newChannelSchema = z
  .discriminatedUnion("type", [
    z.strictObject({
      ...common,
      type: z.literal("email"),
      audience: z.enum(["staff", "client"]).default("staff"),
      /** Client channels default to a daily digest. */
      digest: z.enum(DIGEST_CADENCES).optional(),
      to: z.array(emailSchema).min(1).max(MAX_EMAIL_RECIPIENTS),
    }),
    z.strictObject({ ...common, type: z.literal("webhook"), url, secret: z.string().min(16).max(256) }),
    z.strictObject({ ...common, type: z.literal("slack"), url }),
    z.strictObject({
      ...common,
      type: z.literal("syslog"),
      host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]_-]+$/, "expected a host name or IP address"),
      port: z.number().int().min(1).max(65_535).default(514),
      transport: z.enum(["udp", "tcp", "tls"]).default("udp"),
      facility: z.enum(SYSLOG_FACILITIES).default("local0"),
      /** TLS only: SHA-256 of the receiver's certificate (a self-signed SIEM). */
      pin_sha256: z.string().regex(/^(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/).optional(),
    }),
  ])
  .superRefine((c, ctx) => {
    if (c.scope === "partner" && !c.partner_id) ctx.addIssue({ code: "custom", path: ["partner_id"], message: "required for a partner channel" });
    if (c.scope === "site" && !c.site_id) ctx.addIssue({ code: "custom", path: ["site_id"], message: "required for a site channel" });
    if (c.type === "email" && c.audience === "client" && c.scope !== "site") ctx.addIssue({ code: "custom", path: ["audience"], message: "client e-mail channels must be site channels" });
    if (c.type === "email" && c.audience === "staff" && c.digest !== undefined && c.digest !== "off") ctx.addIssue({ code: "custom", path: ["digest"], message: "digests go to client channels only" });
    if (c.type === "syslog" && c.pin_sha256 !== undefined && c.transport !== "tls") ctx.addIssue({ code: "custom", path: ["pin_sha256"], message: "only for transport tls" });
  });
export type NewChannel = z.output<typeof newChannelSchema>;

/** What is stored (and shown) about where a channel points. */
export type ChannelConfig =
  | { type: "email"; to: string[] }
  | { type: "webhook"; origin: string }
  | { type: "slack"; host: string }
  | { type: "syslog"; host: string; port: number; transport: "udp" | "tcp" | "tls"; facility: (typeof SYSLOG_FACILITIES)[number]; pin_sha256: string | null };

/** The write-only part (stored encrypted). */
export type ChannelSecret = { url: string; hmac_secret?: string } | null;

/** A channel as stored (for the dispatcher). */
export interface Channel {
  id: string;
  msp_id: string;
  scope: ChannelScope;
  partner_id: string | null;
  site_id: string | null;
  type: ChannelType;
  name: string;
  audience: "staff" | "client";
  min_priority: Priority;
  digest: DigestCadence;
  config: ChannelConfig;
  /** The secret part, encrypted with the credential vault (null for e-mail and syslog). */
  sealed: VaultCiphertext | null;
  created_at: string;
  created_by: string;
  deleted_at: string | null;
}

/** A channel as the API shows it: never the secret. */
export type ChannelView = Omit<Channel, "sealed" | "msp_id" | "id" | "deleted_at"> & { channel_id: string; has_secret: boolean };

export const channelViewSchema = z.object({
  channel_id: z.string(),
  scope: z.enum(CHANNEL_SCOPES),
  partner_id: z.string().nullable(),
  site_id: z.string().nullable(),
  type: z.enum(CHANNEL_TYPES),
  name: z.string(),
  audience: z.enum(["staff", "client"]),
  min_priority: z.enum(PRIORITIES),
  digest: z.enum(DIGEST_CADENCES),
  config: z.record(z.string(), z.unknown()),
  has_secret: z.boolean(),
  created_at: z.string(),
  created_by: z.string(),
});

export function channelFromRow(r: Row): Channel {
  const secret = strOrNull(r, "secret");
  return {
    id: str(r, "id"),
    msp_id: str(r, "msp_id"),
    scope: str(r, "scope") as ChannelScope,
    partner_id: strOrNull(r, "partner_id"),
    site_id: strOrNull(r, "site_id"),
    type: str(r, "type") as ChannelType,
    name: str(r, "name"),
    audience: str(r, "audience") as "staff" | "client",
    min_priority: str(r, "min_priority") as Priority,
    digest: str(r, "digest") as DigestCadence,
    config: JSON.parse(str(r, "config")) as ChannelConfig,
    sealed: secret === null ? null : (JSON.parse(secret) as VaultCiphertext),
    created_at: str(r, "created_at"),
    created_by: str(r, "created_by"),
    deleted_at: strOrNull(r, "deleted_at"),
  };
}

export function channelView(c: Channel): ChannelView {
  return {
    channel_id: c.id,
    scope: c.scope,
    partner_id: c.partner_id,
    site_id: c.site_id,
    type: c.type,
    name: c.name,
    audience: c.audience,
    min_priority: c.min_priority,
    digest: c.digest,
    config: c.config,
    has_secret: c.sealed !== null,
    created_at: c.created_at,
    created_by: c.created_by,
  };
}

function split(input: NewChannel): { config: ChannelConfig; secret: ChannelSecret; audience: "staff" | "client"; digest: DigestCadence } {
  switch (input.type) {
    case "email":
      return { config: { type: "email", to: input.to }, secret: null, audience: input.audience, digest: input.digest ?? (input.audience === "client" ? "daily" : "off") };
    case "webhook":
      return { config: { type: "webhook", origin: new URL(input.url).origin }, secret: { url: input.url, hmac_secret: input.secret }, audience: "staff", digest: "off" };
    case "slack":
      return { config: { type: "slack", host: new URL(input.url).host }, secret: { url: input.url }, audience: "staff", digest: "off" };
    case "syslog":
      return {
        config: { type: "syslog", host: input.host, port: input.port, transport: input.transport, facility: input.facility, pin_sha256: input.pin_sha256 ?? null },
        secret: null,
        audience: "staff",
        digest: "off",
      };
  }
}

/** The additional data binding a channel's sealed secret to the channel. */
export function channelAad(c: { id: string; msp_id: string; type: ChannelType }): Uint8Array {
  return canonicalBytes({ purpose: "osiris.notify-channel/v1", id: c.id, msp_id: c.msp_id, type: c.type });
}

/** Opens a channel's secret (RelayError `vault_unavailable` / `credential_unreadable` when it cannot). */
export async function openChannelSecret(vault: CredentialVault | undefined, c: Channel): Promise<ChannelSecret> {
  if (c.sealed === null) return null;
  if (!vault) throw new RelayError("vault_unavailable", "The credential vault is not configured on this relay: channel secrets cannot be opened");
  const bytes = await vault.decrypt(c.sealed, channelAad(c));
  try {
    return JSON.parse(fromUtf8(bytes)) as ChannelSecret;
  } finally {
    bytes.fill(0);
  }
}

/**
 * Creates a channel in the principal's tenant (audited). RelayError `forbidden` outside it, and
 * `vault_unavailable` for a channel with a secret when the relay has no credential vault.
 */
export async function createChannel(db: RelayDb, env: Env & { vault?: CredentialVault; mailer?: unknown; loopbackHttpNotifications?: boolean }, principal: Principal, body: unknown): Promise<ChannelView> {
  const input = parseSchema(newChannelSchema, body, "notification channel");
  // The schema admits http to loopback; whether this relay sends there is its operator's choice, checked here as at every send.
  const urlRefused = input.type === "webhook" || input.type === "slack" ? urlProblem(input.url, env.loopbackHttpNotifications ?? false) : null;
  if (urlRefused) throw new RelayError("schema", `url: ${urlRefused}`);
  // Refused rather than stored to fail at every delivery: nobody would learn of it until an escalation is missed.
  if (input.type === "email" && !env.mailer) {
    throw new RelayError("mail_unavailable", "This relay sends no e-mail (it was started without --smtp-url): an e-mail channel could never deliver. Ask the relay's operator to configure SMTP, or use a webhook, Slack or syslog channel");
  }
  const scopeId = input.scope === "msp" ? principal.msp_id : input.scope === "partner" ? input.partner_id! : input.site_id!;
  const path = await tenantPath(db, input.scope, scopeId);
  if (path === null || !canAccess(principal, path)) {
    throw new RelayError("forbidden", `Your role (${principal.role}) may not add a channel for ${input.scope} ${JSON.stringify(scopeId.slice(0, 100))}`);
  }
  const { config, secret, audience, digest } = split(input);
  const id = newId("chan", env.random);
  const now = isoTime(env.clock.now());
  let sealed: VaultCiphertext | null = null;
  if (secret !== null) {
    if (!env.vault) throw new RelayError("vault_unavailable", "The credential vault is not configured on this relay (start it with --vault-key-file or OSIRIS_VAULT_KEY): webhook and Slack channels need it for their secrets");
    sealed = await env.vault.encrypt(utf8(JSON.stringify(secret)), channelAad({ id, msp_id: principal.msp_id, type: input.type }));
  }
  await db.transaction(async (tx) => {
    await tx.execute({
      sql: `INSERT INTO notification_channels (id, msp_id, scope, scope_id, partner_id, site_id, type, name, audience, min_priority, digest, config, secret, created_at, created_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        id, principal.msp_id, input.scope, scopeId, input.scope === "partner" ? scopeId : null, input.scope === "site" ? scopeId : null, input.type, input.name,
        audience, input.min_priority, digest, JSON.stringify(config), sealed === null ? null : JSON.stringify(sealed), now, principal.user_id,
      ],
    });
    await audit(tx, env.clock, principal, {
      action: "channel.create",
      target: id,
      site_id: input.scope === "site" ? scopeId : null,
      details: { type: input.type, scope: input.scope, scope_id: scopeId, name: input.name, audience },
    });
  });
  const rs = await db.execute({ sql: "SELECT * FROM notification_channels WHERE id = ?", args: [id] });
  return channelView(channelFromRow(rs.rows[0]!));
}

/** The live channels the principal may see (MSP admins: their MSP's; partner admins: their partner's and its sites'). */
export async function listChannels(db: RelayDb, principal: Principal): Promise<ChannelView[]> {
  const rs = await db.execute({ sql: "SELECT * FROM notification_channels WHERE msp_id = ? AND deleted_at IS NULL ORDER BY created_at, id", args: [principal.msp_id] });
  const out: ChannelView[] = [];
  for (const r of rs.rows) {
    const c = channelFromRow(r);
    const path = await tenantPath(db, c.scope, c.scope === "msp" ? c.msp_id : c.scope === "partner" ? c.partner_id! : c.site_id!);
    if (path !== null && canAccess(principal, path)) out.push(channelView(c));
  }
  return out;
}

/** Deletes (retires) a channel; its delivery log stays. The route's guard already checked the tenant. */
export async function deleteChannel(db: RelayDb, env: Env, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx: Tx) => {
    const rs = await tx.execute({ sql: "SELECT * FROM notification_channels WHERE id = ? AND deleted_at IS NULL", args: [id] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("not_found", `No channel ${JSON.stringify(id.slice(0, 100))} here`);
    const c = channelFromRow(row);
    const now = isoTime(env.clock.now());
    await tx.execute({ sql: "UPDATE notification_channels SET deleted_at = ?, deleted_by = ? WHERE id = ?", args: [now, principal.user_id, id] });
    // Nothing more goes out through a deleted channel.
    await tx.execute({ sql: "UPDATE notification_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'channel deleted' WHERE channel_id = ? AND status = 'pending'", args: [id] });
    await audit(tx, env.clock, principal, { action: "channel.delete", target: id, site_id: c.site_id, details: { type: c.type, scope: c.scope, name: c.name } });
  });
}

/** The live channels that cover a site: its MSP's, its organisation's partner's, and its own. */
export async function channelsForSite(db: RelayDb | Tx, siteId: string): Promise<Channel[]> {
  const rs = await db.execute({
    sql: `SELECT c.* FROM notification_channels c
            JOIN sites s ON s.id = ? JOIN organisations o ON o.id = s.org_id
          WHERE c.deleted_at IS NULL AND c.msp_id = o.msp_id
            AND (c.scope = 'msp' OR (c.scope = 'partner' AND c.partner_id = o.partner_id) OR (c.scope = 'site' AND c.site_id = s.id))
          ORDER BY c.created_at, c.id`,
    args: [siteId],
  });
  return rs.rows.map(channelFromRow);
}
