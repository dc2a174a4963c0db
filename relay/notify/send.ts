/**
 * Sending one notification through one channel: one attempt, with a result that says whether to try again.
 * Retrying and the delivery log are deliver.ts's job.
 *
 * Webhook: the JSON body is serialised once and signed like the appliance's reseller webhooks
 * (`X-Osiris-Signature: sha256=<hex HMAC-SHA256(secret, exact body bytes)>`, plus `X-Osiris-Timestamp`,
 * `X-Osiris-Delivery` (stable across attempts, for de-duplication) and `X-Osiris-Event`). Redirects are not
 * followed. Network errors, timeouts, 408, 425, 429 and 5xx are retried; other answers are final.
 * Slack: the same rules, body `{text}`. E-mail: the relay's SMTP mailer. Syslog: RFC 5424 over UDP, TCP
 * (octet counting) or TLS, one connection per message.
 *
 * No error text carries a channel secret: the URL (which may be the credential itself) is cut out of it.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { formatSyslog, syslogConnector, type SyslogConnect, type SyslogEndpoint } from "../../node/syslog/index.ts";
import { toHex, utf8 } from "../../protocol/encoding.ts";
import type { Clock } from "../deps.ts";
import type { Mailer } from "../mail/mailer.ts";
import type { Channel, ChannelSecret } from "./channels.ts";
import {
  clientEmail,
  INVENTORY_ALERT_PRIORITY,
  inventoryEmail,
  inventorySlackMessage,
  inventorySummaryLine,
  isInventoryAlert,
  linksFor,
  slackMessage,
  staffEmail,
  summaryLine,
  syslogSeverity,
  type EscalationEvent,
  type NotifyEvent,
} from "./events.ts";
import { urlProblem } from "./url-policy.ts";

export const SIGNATURE_HEADER = "X-Osiris-Signature";
export const TIMESTAMP_HEADER = "X-Osiris-Timestamp";
export const DELIVERY_HEADER = "X-Osiris-Delivery";
export const EVENT_HEADER = "X-Osiris-Event";

/** One attempt (connect, send, answer) must finish within this: receivers should answer at once and work later. */
export const SEND_TIMEOUT_MS = 10_000;
/** Longest error text kept in the delivery log. */
export const MAX_ERROR_CHARS = 500;

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** The runtime effects of sending (injected; tests point them at loopback receivers). */
export interface NotifyEffects {
  fetch: typeof fetch;
  /** Opens syslog connections (default: Node sockets). */
  syslogConnector?: (endpoint: SyslogEndpoint) => SyslogConnect;
  timeoutMs?: number;
  /** HOSTNAME of syslog messages (default `osiris-relay`). */
  hostname?: string;
}

export interface SendDeps {
  clock: Clock;
  mailer?: Mailer;
  publicUrl?: string;
  /** RelayDeps.loopbackHttpNotifications: admit `http://` URLs to loopback. */
  loopbackHttpNotifications?: boolean;
}

export type SendResult = { ok: true; status: number | null } | { ok: false; retry: boolean; error: string; status: number | null };

/** HMAC-SHA256 of the exact body bytes, as the signature header value. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${toHex(hmac(sha256, utf8(secret), utf8(body)))}`;
}

function clean(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join("<secret>");
  return out.slice(0, MAX_ERROR_CHARS);
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as Error & { cause?: unknown }).cause;
  const code = cause && typeof cause === "object" && "code" in cause ? ` (${String((cause as { code: unknown }).code)})` : "";
  return `${e.name === "TimeoutError" || e.name === "AbortError" ? "timed out" : e.message}${code}`;
}

async function post(deps: SendDeps, effects: NotifyEffects, url: string, body: string, headers: Record<string, string>, secrets: readonly (string | undefined)[]): Promise<SendResult> {
  const problem = urlProblem(url, deps.loopbackHttpNotifications ?? false);
  if (problem) return { ok: false, retry: false, error: `refused to send: the channel URL ${problem}`, status: null };
  let res: Response;
  try {
    res = await effects.fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, redirect: "manual", signal: AbortSignal.timeout(effects.timeoutMs ?? SEND_TIMEOUT_MS) });
    await res.body?.cancel().catch(() => undefined);
  } catch (e) {
    return { ok: false, retry: true, error: clean(errorText(e), secrets), status: null };
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  const retry = RETRYABLE_STATUS.has(res.status) || res.status >= 500;
  return { ok: false, retry, error: `the receiver answered HTTP ${res.status}`, status: res.status };
}

function isEscalation(e: NotifyEvent): e is EscalationEvent {
  return e.event.startsWith("escalation.");
}

/** One attempt to deliver `payload` through `channel` (`secret`: its opened secret). Never throws for a delivery problem. */
export async function sendOnce(deps: SendDeps, effects: NotifyEffects, channel: Channel, secret: ChannelSecret, delivery: { id: string; payload: NotifyEvent }): Promise<SendResult> {
  const e = delivery.payload;
  const links = linksFor(deps.publicUrl, e);
  switch (channel.type) {
    case "email": {
      if (!deps.mailer) return { ok: false, retry: true, error: "SMTP is not configured on this relay", status: null };
      if (channel.config.type !== "email") return { ok: false, retry: false, error: "channel config is not an e-mail config", status: null };
      // A clinic's inbox only ever gets the PHI-free renderings, whatever the payload says.
      const mail =
        channel.audience === "client"
          ? e.event === "client.notice" || e.event === "digest"
            ? clientEmail(e, links)
            : null
          : isEscalation(e)
            ? staffEmail(e, links)
            : isInventoryAlert(e)
              ? inventoryEmail(e, links)
              : null;
      if (mail === null) return { ok: false, retry: false, error: `a ${channel.audience} e-mail channel does not take ${e.event} events`, status: null };
      try {
        for (const to of channel.config.to) await deps.mailer.send({ to, subject: mail.subject, text: mail.text });
      } catch (err) {
        return { ok: false, retry: true, error: clean(errorText(err), []), status: null };
      }
      return { ok: true, status: null };
    }
    case "webhook": {
      if (!secret?.url || !secret.hmac_secret) return { ok: false, retry: false, error: "webhook channel has no URL or secret", status: null };
      const body = JSON.stringify({ ...e, delivery_id: delivery.id, links });
      const headers = {
        [SIGNATURE_HEADER]: webhookSignature(secret.hmac_secret, body),
        [TIMESTAMP_HEADER]: String(Math.floor(deps.clock.now() / 1000)),
        [DELIVERY_HEADER]: delivery.id,
        [EVENT_HEADER]: e.event,
      };
      return post(deps, effects, secret.url, body, headers, [secret.url, secret.hmac_secret]);
    }
    case "slack": {
      if (!secret?.url) return { ok: false, retry: false, error: "slack channel has no URL", status: null };
      const message = isEscalation(e) ? slackMessage(e, links) : isInventoryAlert(e) ? inventorySlackMessage(e, links) : null;
      if (message === null) return { ok: false, retry: false, error: `slack channels do not take ${e.event} events`, status: null };
      return post(deps, effects, secret.url, JSON.stringify(message), {}, [secret.url]);
    }
    case "syslog": {
      if (channel.config.type !== "syslog") return { ok: false, retry: false, error: "channel config is not a syslog config", status: null };
      if (!isEscalation(e) && !isInventoryAlert(e)) return { ok: false, retry: false, error: `syslog channels do not take ${e.event} events`, status: null };
      const cfg = channel.config;
      const endpoint: SyslogEndpoint = { transport: cfg.transport, host: cfg.host, port: cfg.port, ...(cfg.pin_sha256 ? { tls: { pinSha256: cfg.pin_sha256 } } : {}) };
      const text = formatSyslog(
        {
          facility: cfg.facility,
          severity: isEscalation(e) ? syslogSeverity(e) : "warning",
          time: Date.parse(e.occurred_at),
          hostname: effects.hostname ?? "osiris-relay",
          appName: "osiris-relay",
          msgId: e.event,
          data: isEscalation(e)
            ? { event: e.event, escalation: e.escalation.id, site: e.escalation.site_id, priority: e.escalation.priority, status: e.escalation.status, check: e.escalation.check, host: e.escalation.host_id, sla: e.sla, delivery: delivery.id }
            : { event: e.event, alert: e.alert.id, site: e.alert.site_id, priority: INVENTORY_ALERT_PRIORITY, device_type: e.alert.device_type, delivery: delivery.id },
          message: isEscalation(e) ? summaryLine(e) : inventorySummaryLine(e),
        },
        { maxBytes: cfg.transport === "udp" ? 2048 : 8192 },
      );
      try {
        const connect = (effects.syslogConnector ?? syslogConnector)(endpoint);
        const conn = await connect(AbortSignal.timeout(effects.timeoutMs ?? SEND_TIMEOUT_MS));
        try {
          await conn.write(utf8(text));
        } finally {
          conn.close();
        }
      } catch (err) {
        return { ok: false, retry: true, error: clean(errorText(err), []), status: null };
      }
      return { ok: true, status: null };
    }
  }
}
