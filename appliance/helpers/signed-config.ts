/**
 * The signed appliance config: what the relay pins for ONE appliance and the privileged helper acts on —
 * the NixOS system closure to run, the antivirus binary's expected hash, and the firewall baseline ruleset.
 * The catalogue's facts `nixos.pinned_system`, `av.expected_binary_sha256`, `firewall.baseline_sha256` and
 * `firewall.baseline_signature_valid` come from it.
 *
 * The schema, signing and verification are the protocol's (protocol/appliance-config.ts); this module keeps
 * the envelope in the store's `kv` table exactly as received (key APPLIANCE_CONFIG_KV_KEY). Every reader verifies it again against
 * the pinned relay keys in the `identity` row: the root helper never trusts the daemon's word for it, only the
 * relay's signature. Versions only increase, so a replayed older pin cannot roll an appliance back.
 */
import { isoTime } from "../../protocol/ids.ts";
import { verifyApplianceConfig, type VerifiedApplianceConfig, type VerifyApplianceConfigOptions } from "../../protocol/appliance-config.ts";
import type { ApplianceContext } from "../checks/mod.ts";
import type { Store, Tx } from "../store/index.ts";

export {
  APPLIANCE_CONFIG_SCHEMA,
  applianceConfigSchema,
  MAX_BASELINE_BYTES,
  MAX_BASELINE_ITEMS,
  NIX_STORE_PATH,
  signApplianceConfig,
  verifyApplianceConfig,
  type ApplianceConfigPayload,
  type VerifiedApplianceConfig,
  type VerifyApplianceConfigOptions,
} from "../../protocol/appliance-config.ts";

/** Where the envelope in force is kept (the store's `kv` table). */
export const APPLIANCE_CONFIG_KV_KEY = "appliance.config_envelope";
/** The highest config version the daemon ever accepted (a JSON number), so an older one is refused even if the stored envelope stops verifying. */
export const APPLIANCE_CONFIG_VERSION_KV_KEY = "appliance.config_version";

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
 * Verifies `envelope` (newer than any accepted before, for this appliance) and stores it as received. For the
 * sync part, when a pull carries one. Throws like verifyApplianceConfig; on a throw nothing changes.
 *
 * "Newer" is checked against the highest version ever accepted (APPLIANCE_CONFIG_VERSION_KV_KEY, written in the
 * same statement as the envelope), not only against the stored envelope: if that one stopped verifying (a
 * damaged row, keys pinned anew), an older signed config must still not take its place.
 */
export async function acceptApplianceConfig(db: Db, envelope: unknown, o: Omit<VerifyApplianceConfigOptions, "currentVersion"> & { readonly now: number }): Promise<VerifiedApplianceConfig> {
  const stored = await readApplianceConfig(db, o);
  const highest = Math.max(stored.status === "verified" ? stored.config.payload.version : 0, await acceptedVersion(db));
  const verified = await verifyApplianceConfig(envelope, { ...o, currentVersion: highest > 0 ? highest : null });
  const at = isoTime(o.now);
  await db.execute({
    sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [APPLIANCE_CONFIG_KV_KEY, JSON.stringify(envelope), at, APPLIANCE_CONFIG_VERSION_KV_KEY, JSON.stringify(verified.payload.version), at],
  });
  return verified;
}

/** The highest config version accepted so far (0: none, or an unreadable record, which the stored envelope then covers). */
async function acceptedVersion(db: Db): Promise<number> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [APPLIANCE_CONFIG_VERSION_KV_KEY] });
  const v: unknown = rs.rows[0] ? Number(rs.rows[0]["value"]) : 0;
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 0;
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
