/**
 * The root helper's own trust, kept where only root can write: the relay keys it verifies signed data with,
 * and the highest appliance-config and rule-set versions it has accepted. The daemon runs as `osiris` and can
 * write its own store, so keys and versions are never taken from there on the daemon's word alone; a
 * compromised daemon must not be able to get root to switch to a system it chose.
 *
 * - The first run pins the store's relay keys (trust on first use: the first helper step comes right after
 *   enrollment, before the daemon has run anything it pulled).
 * - A later relay key is trusted only through a rotation statement signed by a key already pinned here. The
 *   daemon keeps the statements it followed (`RELAY_KEY_ROTATIONS_KV_KEY`); the helper checks them itself.
 * - A signed appliance config or rule set older than one already accepted is refused: a replay of an old,
 *   validly signed config (say, one pinning an earlier system) cannot roll the appliance back.
 * - A store enrolled as another appliance is refused until an operator removes the file (re-enrollment).
 *
 * The file is JSON, written atomically (temporary file + rename) with mode 0600 in a 0700 directory
 * (systemd's `StateDirectory=osiris-helper` on NixOS: /var/lib/osiris-helper).
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { idSchema } from "../../protocol/ids.ts";
import { MAX_RELAY_KEYS, relayKeyInfoSchema } from "../../protocol/sync.ts";
import type { PinnedRelayKey } from "../identity/index.ts";
import { HelperError } from "./errors.ts";

export const TRUST_ANCHOR_SCHEMA = "osiris.helper-trust/v1";
export const DEFAULT_TRUST_FILE = "/var/lib/osiris-helper/trust.json";

const anchorSchema = z.strictObject({
  schema: z.literal(TRUST_ANCHOR_SCHEMA),
  appliance_id: idSchema,
  relay_keys: z.array(relayKeyInfoSchema).min(1).max(MAX_RELAY_KEYS),
  /** Highest signed appliance-config version accepted, or null. */
  config_version: z.number().int().min(0).nullable(),
  /** Highest signed rule-set version accepted, or null. */
  ruleset_version: z.number().int().min(0).nullable(),
});
export type TrustAnchor = z.output<typeof anchorSchema>;

/** The anchor in `path`, or null when there is none yet. Throws HelperError `store` for an unreadable one. */
export async function loadTrustAnchor(path: string): Promise<TrustAnchor | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HelperError("store", `Cannot read the helper's trust file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HelperError("store", `The helper's trust file ${path} is not JSON: restore it, or remove it to trust the store's relay keys again`);
  }
  const parsed = anchorSchema.safeParse(value);
  if (!parsed.success) throw new HelperError("store", `The helper's trust file ${path} is damaged (${parsed.error.issues[0]?.message ?? "invalid"}): restore it, or remove it to trust the store's relay keys again`);
  return parsed.data;
}

/** Writes the anchor atomically, readable by root only. */
export async function saveTrustAnchor(path: string, anchor: TrustAnchor): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(anchorSchema.parse(anchor), null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** A first anchor for an enrolled store (trust on first use). */
export function firstAnchor(applianceId: string, relayKeys: readonly PinnedRelayKey[]): TrustAnchor {
  return { schema: TRUST_ANCHOR_SCHEMA, appliance_id: applianceId, relay_keys: [...relayKeys], config_version: null, ruleset_version: null };
}
