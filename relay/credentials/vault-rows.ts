/**
 * Everything stored under the credential vault's keys, in one place: site credentials (`site_credentials`)
 * and the secrets of live notification channels (`notification_channels.secret`, webhook and Slack). The
 * start-up check (create-vault.ts) counts rows per key from here, and `reencryptVault` moves both kinds to the
 * current key after a rotation (`osiris relay admin reencrypt-credentials`). Secrets of deleted channels are
 * never opened again and are left as they are.
 */
import { num, str, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { channelAad, channelFromRow } from "../notify/channels.ts";
import { reencryptCredentials, REENCRYPT_BATCH } from "./credentials.ts";
import type { CredentialVault } from "./vault.ts";

/** Rows per vault key id, over credentials and live channel secrets. */
export async function storedKeyIds(db: RelayDb): Promise<Map<string, number>> {
  const rs = await db.execute(
    `SELECT key_id, SUM(n) AS n FROM (
       SELECT key_id, COUNT(*) AS n FROM site_credentials GROUP BY key_id
       UNION ALL
       SELECT json_extract(secret, '$.key_id') AS key_id, COUNT(*) AS n FROM notification_channels
        WHERE secret IS NOT NULL AND deleted_at IS NULL GROUP BY 1
     ) GROUP BY key_id`,
  );
  return new Map(rs.rows.map((r) => [str(r, "key_id"), num(r, "n")]));
}

/**
 * Moves up to `batch` live channel secrets sealed under older keys to the current key (each row in its own
 * guarded write, so a concurrent delete wins). Rows the vault cannot open are counted as `unreadable`.
 */
export async function reencryptChannelSecrets(db: RelayDb, vault: CredentialVault, _env: Env, batch = REENCRYPT_BATCH): Promise<{ reencrypted: number; unreadable: number; remaining: number }> {
  const old = vault.keyIds.filter((k) => k !== vault.currentKeyId);
  let reencrypted = 0;
  let unreadable = 0;
  if (old.length > 0) {
    const rs = await db.execute({
      sql: `SELECT * FROM notification_channels WHERE secret IS NOT NULL AND deleted_at IS NULL
             AND json_extract(secret, '$.key_id') IN (${old.map(() => "?").join(", ")}) ORDER BY id LIMIT ?`,
      args: [...old, batch],
    });
    for (const r of rs.rows) {
      const channel = channelFromRow(r);
      let secret: Uint8Array;
      try {
        secret = await vault.decrypt(channel.sealed!, channelAad(channel));
      } catch {
        unreadable++;
        continue;
      }
      const sealed = await vault.encrypt(secret, channelAad(channel));
      secret.fill(0);
      const up = await db.execute({
        sql: "UPDATE notification_channels SET secret = ? WHERE id = ? AND secret = ? AND deleted_at IS NULL",
        args: [JSON.stringify(sealed), channel.id, str(r, "secret")],
      });
      if (up.rowsAffected === 1) reencrypted++;
    }
  }
  const left = await db.execute({
    sql: "SELECT COUNT(*) AS n FROM notification_channels WHERE secret IS NOT NULL AND deleted_at IS NULL AND json_extract(secret, '$.key_id') <> ?",
    args: [vault.currentKeyId],
  });
  return { reencrypted, unreadable, remaining: Number(left.rows[0]?.["n"] ?? 0) };
}

export interface ReencryptSummary {
  credentials: number;
  channel_secrets: number;
  /** Rows under a key the vault does not hold, or that do not decrypt (left as they are). */
  unreadable: number;
  /** Rows still not under the current key afterwards (the unreadable ones, or ones written meanwhile). */
  remaining: number;
}

/** Moves every credential and live channel secret to the vault's current key, batch by batch. */
export async function reencryptVault(db: RelayDb, vault: CredentialVault, env: Env): Promise<ReencryptSummary> {
  const total: ReencryptSummary = { credentials: 0, channel_secrets: 0, unreadable: 0, remaining: 0 };
  for (const [kind, step] of [
    ["credentials", reencryptCredentials],
    ["channel_secrets", reencryptChannelSecrets],
  ] as const) {
    // Unreadable rows stay behind and come back in every batch: stop when a batch moves nothing.
    for (;;) {
      const r = await step(db, vault, env);
      total[kind] += r.reencrypted;
      if (r.reencrypted === 0 || r.remaining === 0) {
        total.unreadable += r.unreadable;
        total.remaining += r.remaining;
        break;
      }
    }
  }
  return total;
}
