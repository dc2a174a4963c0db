/**
 * The appliance's state as its own files say it, read without the daemon (the console banner and a technician
 * at the console use it while the daemon waits for enrollment, or is down): enrollment, ids, key fingerprint,
 * the healing mode in force, and how far the relay has acknowledged. Read-only: the store is opened directly
 * (never `openStore`, which would migrate it) with `PRAGMA query_only`.
 *
 * `last_sync_at` is when the last pull from the relay succeeded (the `kv` row the sync client writes with
 * each pull), on the appliance's clock. `revoked` is the sync loop's saved backoff saying the relay's last
 * refusal was `appliance_revoked`.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { keyFingerprint } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { HEALING_MODES, type HealingMode } from "../../protocol/sync.ts";
import type { Config } from "../config/index.ts";
import { IDENTITY_STATES, type IdentityState } from "../identity/index.ts";
import { healingModeInForce, readHealingModeOrder, type HealingModeSource } from "../orders/index.ts";
import { BUSY_TIMEOUT_MS, KEY_FILES } from "../store/index.ts";
import { SYNC_KEYS, type BackoffState } from "../sync/kv.ts";


export interface LocalStatus {
  enrollment: IdentityState;
  appliance_id: string | null;
  site_id: string | null;
  /** Evidence key fingerprint, as on the status page; null before the first start created the keys. */
  fingerprint: string | null;
  /** The drop-ship registration while waiting for the MSP, else null. */
  pending_id: string | null;
  healing_mode: HealingMode;
  healing_mode_source: HealingModeSource;
  outbox_pending: number;
  last_ack_seq: number;
  last_sync_at: string | null;
  /** The relay's last answer was that this appliance's enrollment is revoked (its IT provider disconnected it). */
  revoked: boolean;
  /** Origin of the configured relay, or null for a standalone appliance. */
  relay: string | null;
  /** The relay token file exists (what the provisioning unit checks). */
  token_file: boolean;
}

/** The database file of `config` (the daemon's rule). */
export function databasePath(config: Config): string {
  return config.database ?? join(config.state_dir, "appliance.db");
}

/** Reads the appliance's state. Throws Error with the reason when the store exists but cannot be read. */
export async function readLocalStatus(config: Config): Promise<LocalStatus> {
  const path = databasePath(config);
  const relay = config.relay.url ? new URL(config.relay.url).origin : null;
  const token_file = await stat(join(config.state_dir, KEY_FILES.relayToken)).then(
    (s) => s.isFile(),
    () => false,
  );
  const base: LocalStatus = {
    enrollment: "unclaimed",
    appliance_id: null,
    site_id: null,
    fingerprint: null,
    pending_id: null,
    healing_mode: config.site.healing_mode,
    healing_mode_source: "config",
    outbox_pending: 0,
    last_ack_seq: 0,
    last_sync_at: null,
    revoked: false,
    relay,
    token_file,
  };
  if (!(await stat(path).then((s) => s.isFile(), () => false))) return base;
  const db = createClient({ url: pathToFileURL(path).href, timeout: BUSY_TIMEOUT_MS, concurrency: 1 });
  try {
    await db.execute("PRAGMA query_only = ON");
    const id = (await db.execute("SELECT state, appliance_id, site_id, evidence_public_key FROM identity WHERE id = 1")).rows[0];
    if (!id) return base;
    const state = (IDENTITY_STATES as readonly unknown[]).includes(id["state"]) ? (id["state"] as IdentityState) : "unclaimed";
    const text = (v: unknown) => (typeof v === "string" ? v : null);
    const num = async (sql: string) => Number((await db.execute(sql)).rows[0]?.["n"] ?? 0);
    const kvText = async (key: string, column: "value" | "updated_at") => text((await db.execute({ sql: `SELECT ${column} AS v FROM kv WHERE key = ?`, args: [key] })).rows[0]?.["v"]);
    const relayRow = (await db.execute("SELECT json_extract(config, '$.healing_mode') AS m FROM site_config WHERE id = 1 AND source = 'relay'")).rows[0];
    const relayMode = (HEALING_MODES as readonly unknown[]).includes(relayRow?.["m"]) ? (relayRow!["m"] as HealingMode) : null;
    const mode = healingModeInForce(relayMode ?? config.site.healing_mode, relayMode, await readHealingModeOrder(db));
    const pending = await kvText(SYNC_KEYS.pendingId, "value");
    const backoff = await kvText(SYNC_KEYS.backoff, "value");
    return {
      ...base,
      enrollment: state,
      appliance_id: text(id["appliance_id"]),
      site_id: text(id["site_id"]),
      fingerprint: typeof id["evidence_public_key"] === "string" ? keyFingerprint(fromHex(id["evidence_public_key"])) : null,
      pending_id: state === "pending" && pending !== null ? String(JSON.parse(pending)) : null,
      healing_mode: mode.mode,
      healing_mode_source: mode.source,
      outbox_pending: await num("SELECT count(*) AS n FROM outbox WHERE acked = 0"),
      last_ack_seq: await num("SELECT coalesce(max(seq), 0) AS n FROM evidence WHERE acked = 1"),
      last_sync_at: await kvText(SYNC_KEYS.pullSince, "updated_at"),
      revoked: revokedIn(backoff),
    };
  } catch (e) {
    throw new Error(`cannot read the appliance store ${path}: ${(e as Error).message}`.slice(0, 300), { cause: e });
  } finally {
    db.close();
  }
}

/** Whether the saved backoff state says the relay's last refusal was a revocation (unreadable: no). */
function revokedIn(backoff: string | null): boolean {
  try {
    return backoff !== null && (JSON.parse(backoff) as Partial<BackoffState> | null)?.relay_code === "appliance_revoked";
  } catch {
    return false;
  }
}

const STATE_TEXT: Readonly<Record<IdentityState, string>> = {
  unclaimed: "unclaimed (not registered with a relay yet)",
  pending: "pending (waiting for your IT provider to accept this appliance)",
  enrolled: "enrolled",
};

/** Short lines for the console banner. */
export function formatLocalStatus(s: LocalStatus): string {
  const enrollment = s.revoked ? "revoked (the relay refuses this appliance: your IT provider disconnected it)" : STATE_TEXT[s.enrollment];
  const lines = [`Enrollment:    ${enrollment}`, `Fingerprint:   ${s.fingerprint ?? "no keys yet (the appliance has not started)"}`];
  if (s.enrollment === "enrolled") lines.push(`Appliance:     ${s.appliance_id ?? "?"}`, `Site:          ${s.site_id ?? "?"}`);
  if (s.pending_id) lines.push(`Registration:  ${s.pending_id}`);
  const source = { config: "appliance config", relay: "site setting", order: "order from your IT provider" }[s.healing_mode_source];
  lines.push(`Healing mode:  ${s.healing_mode} (${source})`);
  if (s.relay) {
    lines.push(`Relay:         ${s.relay}`);
    lines.push(`Last sync:     ${s.last_sync_at ?? "never"}`);
    lines.push(`Evidence:      ${s.outbox_pending} waiting to send; acknowledged up to record ${s.last_ack_seq}`);
  }
  return lines.join("\n");
}
