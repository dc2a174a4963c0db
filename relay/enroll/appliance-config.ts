/**
 * The signed appliance config on the relay's side: what the MSP pins for ONE appliance — the NixOS system
 * closure, the antivirus binary's expected SHA-256, the firewall baseline ruleset — signed with the relay key
 * (context `appliance_config`, schema `osiris.appliance-config/v1`, protocol/appliance-config.ts) and
 * handed out by the next pull (orders/pull.ts). The appliance verifies it with its pinned relay keys, stores it,
 * and its root helper acts only on what verifies (`osiris appliance helper switch-pinned|firewall-baseline`).
 *
 * A change names only the fields it changes (`null` clears one); the others carry over from the version in
 * force. Each real change is a new version (previous + 1, in the same write transaction as the read, so two
 * writers cannot mint the same version: the primary key would refuse the second); a change that changes
 * nothing mints nothing. Before a version is stored, its envelope is verified exactly as the appliance will
 * verify it, so the relay never hands out a config the appliance must refuse.
 */
import { z } from "zod";
import { canonicalize, parseCanonical } from "../../protocol/canonical.ts";
import { fromBase64Url } from "../../protocol/encoding.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import {
  APPLIANCE_CONFIG_SCHEMA,
  applianceConfigSchema,
  signApplianceConfig,
  verifyApplianceConfig,
  type ApplianceConfigPayload,
} from "../../protocol/appliance-config.ts";
import { audit } from "../auth/audit.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";

export { APPLIANCE_CONFIG_SCHEMA };

const fields = applianceConfigSchema.shape;

/** A change: only the fields given change; `null` clears one. At least one field is required. */
export const applianceConfigChangeSchema = z
  .strictObject({
    pinned_system: fields.pinned_system.optional(),
    av_binary_sha256: fields.av_binary_sha256.optional(),
    firewall_baseline: fields.firewall_baseline.optional(),
  })
  .refine((c) => c.pinned_system !== undefined || c.av_binary_sha256 !== undefined || c.firewall_baseline !== undefined, {
    message: "give at least one of pinned_system, av_binary_sha256, firewall_baseline (null clears one)",
  });
export type ApplianceConfigChange = z.output<typeof applianceConfigChangeSchema>;

/** One stored version, as the dashboard shows it (the envelope itself only goes to the appliance). */
export interface ApplianceConfigRecord {
  appliance_id: string;
  version: number;
  issued_at: string;
  /** A user id, an API key id, or `cli:<name>`. */
  issued_by: string;
  pinned_system: string | null;
  av_binary_sha256: string | null;
  firewall_baseline: ApplianceConfigPayload["firewall_baseline"];
  /** Canonical hash of the baseline ruleset (what the appliance's `firewall.ruleset_sha256` must equal). */
  baseline_sha256: string | null;
  /** SHA-256 of the signed payload bytes. */
  payload_sha256: string;
}

export interface SetApplianceConfigResult extends ApplianceConfigRecord {
  /** False when the change left every field as it was (no new version was signed). */
  changed: boolean;
}

type Db = RelayDb | Tx;

/** The newest signed envelope for an appliance and its version, or null (what a pull hands out). */
export async function latestApplianceConfigEnvelope(db: Db, applianceId: string): Promise<{ version: number; envelope: Envelope } | null> {
  const row = (await db.execute({ sql: "SELECT version, envelope FROM appliance_configs WHERE appliance_id = ? ORDER BY version DESC LIMIT 1", args: [applianceId] })).rows[0];
  return row ? { version: num(row, "version"), envelope: JSON.parse(str(row, "envelope")) as Envelope } : null;
}

/** The config in force for an appliance (its newest version), or null when none was ever set. */
export async function currentApplianceConfig(db: Db, applianceId: string): Promise<ApplianceConfigRecord | null> {
  const row = (
    await db.execute({
      sql: `SELECT version, envelope, payload_sha256, baseline_sha256, issued_by, issued_at FROM appliance_configs
            WHERE appliance_id = ? ORDER BY version DESC LIMIT 1`,
      args: [applianceId],
    })
  ).rows[0];
  if (!row) return null;
  // Our own signed bytes: decoded, not re-verified (the signature was checked before they were stored).
  const envelope = JSON.parse(str(row, "envelope")) as Envelope;
  const payload = parseSchema(applianceConfigSchema, parseCanonical(fromBase64Url(envelope.payload)), "stored appliance config");
  return {
    appliance_id: applianceId,
    version: num(row, "version"),
    issued_at: str(row, "issued_at"),
    issued_by: str(row, "issued_by"),
    pinned_system: payload.pinned_system,
    av_binary_sha256: payload.av_binary_sha256,
    firewall_baseline: payload.firewall_baseline,
    baseline_sha256: strOrNull(row, "baseline_sha256"),
    payload_sha256: str(row, "payload_sha256"),
  };
}

/**
 * Validates `change`, merges it over the version in force, signs the result as the next version with the relay
 * key and stores it for the next pull. `actor` is the user (audited in the same transaction) or, for the CLI,
 * a `cli:<name>` string. Throws ValidationError `schema` (naming the field), RelayError `appliance_unknown`
 * or `appliance_inactive` (revoked); on a throw nothing is stored.
 */
export async function setApplianceConfig(
  deps: Pick<RelayDeps, "db" | "clock" | "relayKey">,
  applianceId: string,
  change: unknown,
  actor: Principal | string,
): Promise<SetApplianceConfigResult> {
  const c = parseSchema(applianceConfigChangeSchema, change, "appliance config change");
  const issuedBy = typeof actor === "string" ? actor : (actor.api_key_id ?? actor.user_id);
  return deps.db.transaction(async (tx) => {
    const appliance = (await tx.execute({ sql: "SELECT site_id, state FROM appliances WHERE id = ?", args: [applianceId] })).rows[0];
    if (!appliance) throw new RelayError("appliance_unknown", `No appliance ${JSON.stringify(applianceId)}`);
    if (str(appliance, "state") !== "active") {
      throw new RelayError("appliance_inactive", `Appliance ${applianceId} is revoked: it would never pull a config`, { appliance_id: applianceId, state: str(appliance, "state") });
    }
    const current = await currentApplianceConfig(tx, applianceId);
    const next = {
      pinned_system: c.pinned_system !== undefined ? c.pinned_system : (current?.pinned_system ?? null),
      av_binary_sha256: c.av_binary_sha256 !== undefined ? c.av_binary_sha256 : (current?.av_binary_sha256 ?? null),
      firewall_baseline: c.firewall_baseline !== undefined ? c.firewall_baseline : (current?.firewall_baseline ?? null),
    };
    if (current && canonicalize(next) === canonicalize({ pinned_system: current.pinned_system, av_binary_sha256: current.av_binary_sha256, firewall_baseline: current.firewall_baseline })) {
      return { ...current, changed: false };
    }
    const payload: ApplianceConfigPayload = {
      schema: APPLIANCE_CONFIG_SCHEMA,
      appliance_id: applianceId,
      version: (current?.version ?? 0) + 1,
      issued_at: isoTime(deps.clock.now()),
      ...next,
    };
    const envelope = await signApplianceConfig(payload, deps.relayKey.signer);
    // Exactly the appliance's check (pinned relay key, this appliance, newer version): never store what it would refuse.
    const verified = await verifyApplianceConfig(envelope, {
      relayKeys: [{ key_id: deps.relayKey.keyId, publicKey: deps.relayKey.signer.publicKey }],
      applianceId,
      currentVersion: current?.version ?? null,
    });
    await tx.execute({
      sql: `INSERT INTO appliance_configs (appliance_id, version, envelope, payload_sha256, pinned_system, av_binary_sha256, baseline_sha256, issued_by, issued_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [applianceId, payload.version, JSON.stringify(envelope), verified.hash, payload.pinned_system, payload.av_binary_sha256, verified.baselineSha256, issuedBy, payload.issued_at],
    });
    const record: ApplianceConfigRecord = {
      appliance_id: applianceId,
      version: payload.version,
      issued_at: payload.issued_at,
      issued_by: issuedBy,
      pinned_system: payload.pinned_system,
      av_binary_sha256: payload.av_binary_sha256,
      firewall_baseline: payload.firewall_baseline,
      baseline_sha256: verified.baselineSha256,
      payload_sha256: verified.hash,
    };
    if (typeof actor !== "string") {
      await audit(tx, deps.clock, actor, {
        action: "appliance.config.set",
        target: applianceId,
        site_id: str(appliance, "site_id"),
        details: {
          version: record.version,
          changed: Object.keys(c).filter((k) => c[k as keyof ApplianceConfigChange] !== undefined),
          pinned_system: record.pinned_system,
          av_binary_sha256: record.av_binary_sha256,
          baseline_sha256: record.baseline_sha256,
        },
      });
    }
    return { ...record, changed: true };
  });
}
