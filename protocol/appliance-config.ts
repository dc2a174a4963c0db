/**
 * The signed appliance config, the contract half: what the relay pins for ONE appliance and the appliance's
 * privileged helper acts on — the NixOS system closure to run, the antivirus binary's expected hash, and the
 * firewall baseline ruleset. The relay signs it (relay/enroll/appliance-config.ts), the appliance verifies and
 * keeps it (appliance/helpers/signed-config.ts); both use this schema and these two functions.
 *
 * It travels as a signed envelope (context `appliance_config`, envelope.ts). Versions only increase, so a
 * replayed older pin cannot roll an appliance back.
 */
import { z } from "zod";
import { canonicalBytes, canonicalize } from "./canonical.ts";
import type { Signer } from "./crypto.ts";
import { openEnvelope, signEnvelope, type Envelope, type TrustedKey } from "./envelope.ts";
import { jsonObjectSchema } from "./evidence.ts";
import { IntegrityError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { idSchema, isoTimeSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";

export const APPLIANCE_CONFIG_SCHEMA = "osiris.appliance-config/v1";
/** Largest firewall baseline (canonical bytes): a clinic appliance's ruleset is a few KiB. */
export const MAX_BASELINE_BYTES = 64 * 1024;
/** Most objects (tables, chains, sets, rules) in a baseline. */
export const MAX_BASELINE_ITEMS = 2000;

/** A Nix store path of a system closure. */
export const NIX_STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]{1,200}$/;

/**
 * SHA-256 of an `nft -j list ruleset` document in canonical form: the `metainfo` element (tool version) and
 * every `handle` member (kernel-assigned numbers) are dropped, then RFC 8785 canonical JSON is hashed. The
 * signed baseline is hashed the same way, so a reload of the same rules gives the same hash. Null when no
 * table is loaded; undefined when the document is not an nft ruleset.
 */
export function rulesetSha256(doc: unknown): string | null | undefined {
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) return undefined;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "handle").map(([k, x]) => [k, strip(x)]));
    return v;
  };
  const rules = items.filter((it) => !(it !== null && typeof it === "object" && "metainfo" in it)).map(strip);
  if (!rules.some((it) => it !== null && typeof it === "object" && "table" in it)) return null;
  return sha256Hex(canonicalize({ nftables: rules }));
}

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
