/**
 * The signed appliance config: what the relay pins for ONE appliance and the privileged helper acts on —
 * the NixOS system closure to run, the antivirus binary's expected hash, and the firewall baseline ruleset.
 * The catalogue's facts `nixos.pinned_system`, `av.expected_binary_sha256`, `firewall.baseline_sha256` and
 * `firewall.baseline_signature_valid` come from it.
 *
 * It travels as a signed envelope (context `appliance_config`, protocol/envelope.ts) and is kept in the
 * store's `kv` table exactly as received (key APPLIANCE_CONFIG_KV_KEY). Every reader verifies it again against
 * the pinned relay keys in the `identity` row: the root helper never trusts the daemon's word for it, only the
 * relay's signature. Versions only increase, so a replayed older pin cannot roll an appliance back.
 */
import { z } from "zod";
import { canonicalBytes } from "../../protocol/canonical.ts";
import type { Signer } from "../../protocol/crypto.ts";
import { openEnvelope, signEnvelope, type Envelope, type TrustedKey } from "../../protocol/envelope.ts";
import { jsonObjectSchema } from "../../protocol/evidence.ts";
import { IntegrityError } from "../../protocol/errors.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { idSchema, isoTime, isoTimeSchema } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { rulesetSha256, type ApplianceContext } from "../checks/mod.ts";
import type { Store, Tx } from "../store/index.ts";

export const APPLIANCE_CONFIG_SCHEMA = "osiris.appliance-config/v1";
/** Where the envelope in force is kept (the store's `kv` table). */
export const APPLIANCE_CONFIG_KV_KEY = "appliance.config_envelope";
/** Largest firewall baseline (canonical bytes): a clinic appliance's ruleset is a few KiB. */
export const MAX_BASELINE_BYTES = 64 * 1024;
/** Most objects (tables, chains, sets, rules) in a baseline. */
export const MAX_BASELINE_ITEMS = 2000;

/** A Nix store path of a system closure. */
export const NIX_STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]{1,200}$/;

const baselineSchema = z
  .strictObject({ nftables: z.array(jsonObjectSchema).max(MAX_BASELINE_ITEMS) })
  .refine((b) => canonicalBytes(b).byteLength <= MAX_BASELINE_BYTES, { message: `the firewall baseline must be at most ${MAX_BASELINE_BYTES} bytes` })
  .refine((b) => typeof rulesetSha256(b) === "string", { message: "the firewall baseline must be an `nft -j list ruleset` document with at least one table" });

export const applianceConfigSchema = z.strictObject({
  schema: z.literal(APPLIANCE_CONFIG_SCHEMA),
  appliance_id: idSchema,
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issued_at: isoTimeSchema,
  pinned_system: z.string().max(300).regex(NIX_STORE_PATH, "expected a Nix store path /nix/store/<hash>-<name>").nullable(),
  av_binary_sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected lower-case hex SHA-256").nullable(),
  firewall_baseline: baselineSchema.nullable(),
});
export type ApplianceConfigPayload = z.output<typeof applianceConfigSchema>;

export interface VerifiedApplianceConfig {
  readonly payload: ApplianceConfigPayload;
  /** SHA-256 of the signed payload bytes. */
  readonly hash: string;
  /** Canonical hash of the baseline ruleset (as `firewall.ruleset_sha256` is computed), or null. */
  readonly baselineSha256: string | null;
}

/** Signs an appliance config (context `appliance_config`) after validating it: the relay's side, and tests'. */
export async function signApplianceConfig(payload: ApplianceConfigPayload, signer: Signer): Promise<Envelope> {
  return signEnvelope("appliance_config", parseSchema(applianceConfigSchema, payload, "appliance config"), signer);
}

export interface VerifyApplianceConfigOptions {
  readonly relayKeys: readonly TrustedKey[];
  /** This appliance's id: a config for another appliance is refused. */
  readonly applianceId: string;
  /** Version in force; a config at or below it is refused as `stale_version`. */
  readonly currentVersion?: number | null;
}

/**
 * Verifies an envelope against the pinned relay keys and this appliance. Throws IntegrityError
 * `unknown_key` / `bad_signature` / `stale_version` / `wrong_target`, or ValidationError for a malformed one.
 */
export async function verifyApplianceConfig(envelope: unknown, o: VerifyApplianceConfigOptions): Promise<VerifiedApplianceConfig> {
  const { bytes, value } = await openEnvelope("appliance_config", envelope, o.relayKeys);
  const payload = parseSchema(applianceConfigSchema, value, "appliance config");
  if (payload.appliance_id !== o.applianceId) {
    throw new IntegrityError("wrong_target", `appliance_id: this config is for ${payload.appliance_id}, not this appliance (${o.applianceId})`, { appliance_id: payload.appliance_id });
  }
  if (o.currentVersion !== undefined && o.currentVersion !== null && payload.version <= o.currentVersion) {
    throw new IntegrityError("stale_version", `version: appliance config version ${payload.version} is not newer than version ${o.currentVersion} in force`, { version: payload.version, current: o.currentVersion });
  }
  return { payload, hash: sha256Hex(bytes), baselineSha256: payload.firewall_baseline ? (rulesetSha256(payload.firewall_baseline) ?? null) : null };
}

/** What a reader found: nothing stored, a config that verifies now, or one that does not (and why). */
export type StoredApplianceConfig =
  | { readonly status: "none" }
  | { readonly status: "verified"; readonly config: VerifiedApplianceConfig }
  | { readonly status: "invalid"; readonly reason: string };

/** Verifies the stored envelope text (as read from `kv.value`), or reports why it cannot be used. */
export async function checkStoredApplianceConfig(text: string | null, o: Omit<VerifyApplianceConfigOptions, "currentVersion">): Promise<StoredApplianceConfig> {
  if (text === null) return { status: "none" };
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return { status: "invalid", reason: "the stored appliance config is not JSON" };
  }
  try {
    return { status: "verified", config: await verifyApplianceConfig(envelope, o) };
  } catch (e) {
    return { status: "invalid", reason: `the stored appliance config does not verify: ${(e as Error).message}`.slice(0, 240) };
  }
}

type Db = Pick<Store, "execute"> | Tx;

/** Reads and verifies the appliance config in `db` (the daemon's store). */
export async function readApplianceConfig(db: Db, o: Omit<VerifyApplianceConfigOptions, "currentVersion">): Promise<StoredApplianceConfig> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [APPLIANCE_CONFIG_KV_KEY] });
  const row = rs.rows[0];
  return checkStoredApplianceConfig(row ? String(row["value"]) : null, o);
}

/**
 * Verifies `envelope` (newer than the one stored, for this appliance) and stores it as received. For the sync
 * part, when a pull carries one. Throws like verifyApplianceConfig; on a throw nothing changes.
 */
export async function acceptApplianceConfig(db: Db, envelope: unknown, o: Omit<VerifyApplianceConfigOptions, "currentVersion"> & { readonly now: number }): Promise<VerifiedApplianceConfig> {
  const stored = await readApplianceConfig(db, o);
  const verified = await verifyApplianceConfig(envelope, { ...o, currentVersion: stored.status === "verified" ? stored.config.payload.version : null });
  await db.execute({
    sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [APPLIANCE_CONFIG_KV_KEY, JSON.stringify(envelope), isoTime(o.now)],
  });
  return verified;
}

/** The appliance gatherer's context (checks/facts/appliance.ts) from what is stored: nothing unverified counts. */
export function applianceContextOf(stored: StoredApplianceConfig): ApplianceContext {
  if (stored.status !== "verified") return { pinnedSystem: null, expectedAvSha256: null, firewallBaselineSha256: null, firewallBaselineSignatureValid: false };
  const p = stored.config.payload;
  return {
    pinnedSystem: p.pinned_system,
    expectedAvSha256: p.av_binary_sha256,
    firewallBaselineSha256: stored.config.baselineSha256,
    firewallBaselineSignatureValid: p.firewall_baseline !== null,
  };
}
