/**
 * The delivery loop: sends the deliveries that are due, oldest first, and records each attempt in the
 * delivery log (`notification_deliveries`): `sent`, or back to `pending` with the next attempt time, or
 * `failed` once the answer is final or the attempts are used up.
 *
 * Backoff between attempts is exponential with jitter: base·2^(n−1), capped, of which a random half is
 * waited on top of the other half (spreads a burst of retries without ever retrying at once).
 */
import { isoTime } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Clock, Random } from "../deps.ts";
import type { RelayLog } from "../log.ts";
import type { Mailer } from "../mail/mailer.ts";
import type { CredentialVault } from "../credentials/vault.ts";
import { RelayError } from "../errors.ts";
import { channelFromRow, openChannelSecret, type ChannelSecret } from "./channels.ts";
import type { NotifyEvent } from "./events.ts";
import { sendOnce, SEND_TIMEOUT_MS, type NotifyEffects } from "./send.ts";

export const DELIVERY_POLICY = {
  /** Attempts per delivery: with the backoff below, about two hours of a receiver being away. */
  maxAttempts: 8,
  baseDelayMs: 30_000,
  maxDelayMs: 30 * 60_000,
  /** Deliveries sent per call: bounds one scheduler tick (each attempt is bounded by its timeout). */
  batch: 50,
} as const;

export interface DeliverDeps {
  db: RelayDb;
  clock: Clock;
  random: Random;
  log: RelayLog;
  mailer?: Mailer;
  publicUrl?: string;
  /** Opens webhook and Slack secrets. */
  vault?: CredentialVault;
  loopbackHttpNotifications?: boolean;
}

export interface DeliverReport {
  sent: number;
  retrying: number;
  failed: number;
}

/** Delay before attempt `attempts + 1` (attempts ≥ 1 already made). */
export function backoffMs(attempts: number, random: Random): number {
  const ceiling = Math.min(DELIVERY_POLICY.maxDelayMs, DELIVERY_POLICY.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const r = random(4);
  const fraction = (((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0) / 2 ** 32;
  return Math.round(ceiling / 2 + fraction * (ceiling / 2));
}

/** Sends every delivery due now (at most `limit`). */
export async function deliverDue(deps: DeliverDeps, effects: NotifyEffects, limit: number = DELIVERY_POLICY.batch): Promise<DeliverReport> {
  const report: DeliverReport = { sent: 0, retrying: 0, failed: 0 };
  const now = deps.clock.now();
  const due = await deps.db.execute({
    sql: `SELECT d.id AS delivery_id, d.payload, d.attempts, d.event, c.* FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`,
    args: [isoTime(now), limit],
  });
  for (const row of due.rows) {
    const id = str(row, "delivery_id");
    const channel = channelFromRow(row);
    // Claim it for longer than one attempt can take, so a crash mid-send retries later instead of never.
    await deps.db.execute({ sql: "UPDATE notification_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'", args: [isoTime(now + 3 * (effects.timeoutMs ?? SEND_TIMEOUT_MS)), id] });
    let secret: ChannelSecret = null;
    let opened: { ok: false; retry: boolean; error: string; status: null } | null = null;
    try {
      secret = await openChannelSecret(deps.vault, channel);
    } catch (e) {
      // A missing vault may come back with a restart; a secret the vault cannot open will not.
      opened = { ok: false, retry: e instanceof RelayError && e.code === "vault_unavailable", error: e instanceof RelayError ? e.message : "the channel secret cannot be opened", status: null };
    }
    const result = opened ?? (await sendOnce(deps, effects, channel, secret, { id, payload: JSON.parse(str(row, "payload")) as NotifyEvent }));
    const attempts = num(row, "attempts") + 1;
    const at = isoTime(deps.clock.now());
    if (result.ok) {
      await deps.db.execute({
        sql: "UPDATE notification_deliveries SET status = 'sent', attempts = ?, sent_at = ?, next_attempt_at = NULL, last_error = NULL, last_status = ? WHERE id = ?",
        args: [attempts, at, result.status, id],
      });
      report.sent++;
      deps.log.info("notification_sent", { delivery_id: id, channel_id: channel.id, type: channel.type, event: str(row, "event"), attempts });
      continue;
    }
    const final = !result.retry || attempts >= DELIVERY_POLICY.maxAttempts;
    const next = final ? null : isoTime(deps.clock.now() + backoffMs(attempts, deps.random));
    await deps.db.execute({
      sql: "UPDATE notification_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, last_status = ? WHERE id = ?",
      args: [final ? "failed" : "pending", attempts, next, result.error, result.status, id],
    });
    if (final) report.failed++;
    else report.retrying++;
    deps.log.warn(final ? "notification_failed" : "notification_retry", { delivery_id: id, channel_id: channel.id, type: channel.type, attempts, error: result.error, status: result.status, next_attempt_at: next });
  }
  return report;
}

/** One row of the delivery log as the API shows it. */
export interface DeliveryView {
  delivery_id: string;
  channel_id: string;
  event: string;
  escalation_id: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
  last_status: number | null;
  created_at: string;
  sent_at: string | null;
  next_attempt_at: string | null;
}

/** The delivery log of one channel, newest first. */
export async function listDeliveries(db: RelayDb, channelId: string, limit = 100): Promise<DeliveryView[]> {
  const rs = await db.execute({
    sql: "SELECT * FROM notification_deliveries WHERE channel_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
    args: [channelId, Math.min(Math.max(limit, 1), 500)],
  });
  return rs.rows.map((r) => ({
    delivery_id: str(r, "id"),
    channel_id: str(r, "channel_id"),
    event: str(r, "event"),
    escalation_id: strOrNull(r, "escalation_id"),
    status: str(r, "status"),
    attempts: num(r, "attempts"),
    last_error: strOrNull(r, "last_error"),
    last_status: r["last_status"] === null ? null : num(r, "last_status"),
    created_at: str(r, "created_at"),
    sent_at: strOrNull(r, "sent_at"),
    next_attempt_at: strOrNull(r, "next_attempt_at"),
  }));
}
