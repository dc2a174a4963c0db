/**
 * The helper's look into the daemon's store: the appliance id and pinned relay keys (`identity`), the relay
 * key rotations the daemon followed and the signed appliance config (`kv`), and the signed rule set
 * (`ruleset`) — read once, with `PRAGMA query_only`, and verified here against the helper's OWN trust anchor
 * (trust-anchor.ts: relay keys and accepted versions in a root-only file), so what the root helper acts on is
 * only what the relay signed, never what a compromised daemon wrote into its store.
 *
 * It opens the libSQL file directly rather than with `openStore`: the helper must never migrate the daemon's
 * database. It runs as root while the daemon runs as `osiris`; SQLite may create the `-wal` and `-shm` files
 * when the daemon is not running, so afterwards any such file is given back to the database file's owner —
 * otherwise the daemon could no longer open its own store.
 */
import { lstat, chown, stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { createClient, type Client } from "@libsql/client";
import { z } from "zod";
import { fromHex } from "../../protocol/encoding.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { keyId } from "../../protocol/crypto.ts";
import { MAX_RELAY_KEYS, relayKeyInfoSchema } from "../../protocol/sync.ts";
import { verifyRuleset, type VerifiedRuleset } from "../../protocol/ruleset.ts";
import type { PinnedRelayKey } from "../identity/index.ts";
import { followRotations, RELAY_KEY_ROTATIONS_KV_KEY } from "../sync/relay-keys.ts";
import { HelperError } from "./errors.ts";
import { checkStoredApplianceConfig, APPLIANCE_CONFIG_KV_KEY, type StoredApplianceConfig } from "./signed-config.ts";
import { firstAnchor, loadTrustAnchor, saveTrustAnchor, type TrustAnchor } from "./trust-anchor.ts";

/** How long a read waits for the daemon's write lock. */
const BUSY_TIMEOUT_MS = 5000;

/** What the helper may rely on, all of it verified against the pinned relay keys. */
export interface SignedState {
  readonly applianceId: string;
  readonly config: StoredApplianceConfig;
  /** The rule set in force, or null when none was received or it does not verify (`rulesetProblem` says why). */
  readonly ruleset: VerifiedRuleset | null;
  readonly rulesetProblem: string | null;
}

const relayKeysSchema = z.array(relayKeyInfoSchema).max(MAX_RELAY_KEYS);

export interface ReadSignedStateOptions {
  /** The helper's trust anchor (trust-anchor.ts DEFAULT_TRUST_FILE on an appliance). */
  trustFile: string;
}

/**
 * Reads the signed state in the store at `dbPath` and verifies it against the trust anchor, which it creates
 * on first use and then advances (rotations followed, versions accepted). Throws HelperError `store` when
 * the store or the anchor cannot be used at all.
 */
export async function readSignedState(dbPath: string, opts: ReadSignedStateOptions): Promise<SignedState> {
  let dbStat;
  try {
    dbStat = await stat(dbPath);
  } catch {
    throw new HelperError("store", `The appliance store ${dbPath} does not exist: the appliance has not run yet`);
  }
  let client: Client;
  try {
    client = createClient({ url: pathToFileURL(dbPath).href, timeout: BUSY_TIMEOUT_MS, concurrency: 1 });
  } catch (e) {
    throw new HelperError("store", `Cannot open the appliance store ${dbPath}: ${(e as Error).message}`, { cause: e });
  }
  let read: StoreContents;
  try {
    await client.execute("PRAGMA query_only = ON");
    const identity = (await client.execute("SELECT state, appliance_id, relay_keys FROM identity WHERE id = 1")).rows[0];
    if (!identity || identity["state"] !== "enrolled" || typeof identity["appliance_id"] !== "string") {
      throw new HelperError("store", `The appliance in ${dbPath} is not enrolled, so it has no pinned relay keys to verify signed data with`);
    }
    const kv = async (key: string) => {
      const row = (await client.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [key] })).rows[0];
      return row ? String(row["value"]) : null;
    };
    const rs = (await client.execute("SELECT envelope FROM ruleset WHERE id = 1")).rows[0];
    read = {
      applianceId: identity["appliance_id"],
      storeKeys: pinnedKeys(String(identity["relay_keys"])),
      rotations: jsonList(await kv(RELAY_KEY_ROTATIONS_KV_KEY)),
      configText: await kv(APPLIANCE_CONFIG_KV_KEY),
      rulesetText: rs ? String(rs["envelope"]) : null,
    };
  } catch (e) {
    if (e instanceof HelperError) throw e;
    throw new HelperError("store", `Cannot read the appliance store ${dbPath}: ${(e as Error).message}`.slice(0, 300), { cause: e });
  } finally {
    client.close();
    await returnSidecars(dbPath, dbStat.uid, dbStat.gid);
  }
  return verifyAgainstAnchor(read, opts.trustFile);
}

/** What the helper reads from the daemon's store, before any of it is trusted. */
interface StoreContents {
  applianceId: string;
  storeKeys: PinnedRelayKey[];
  /** Relay key rotation statements the daemon followed (re-verified against the anchor). */
  rotations: unknown[];
  configText: string | null;
  rulesetText: string | null;
}

async function verifyAgainstAnchor(read: StoreContents, trustFile: string): Promise<SignedState> {
  const { applianceId } = read;
  const anchor = (await loadTrustAnchor(trustFile)) ?? firstAnchor(applianceId, read.storeKeys);
  if (anchor.appliance_id !== applianceId) {
    throw new HelperError("store", `The store is enrolled as ${applianceId}, but the helper trusts appliance ${anchor.appliance_id} (${trustFile}): after a re-enrollment, remove that file`);
  }
  // Relay keys: the anchor's, plus what rotation statements signed by them add; never the store's own list.
  const pins = (await followRotations(read.rotations, anchor.relay_keys)).pins;
  const relayKeys = trustedKeys(pins);

  let config = await checkStoredApplianceConfig(read.configText, { relayKeys, applianceId });
  if (config.status === "verified" && anchor.config_version !== null && config.config.payload.version < anchor.config_version) {
    config = { status: "invalid", reason: `the stored appliance config is version ${config.config.payload.version}, older than version ${anchor.config_version} the helper already accepted (a rollback is refused)` };
  }
  let ruleset: VerifiedRuleset | null = null;
  let rulesetProblem: string | null = read.rulesetText === null ? "no signed rule set has been received" : null;
  if (read.rulesetText !== null) {
    try {
      ruleset = await verifyRuleset(JSON.parse(read.rulesetText), { relayKeys });
      if (anchor.ruleset_version !== null && ruleset.payload.version < anchor.ruleset_version) {
        rulesetProblem = `the stored rule set is version ${ruleset.payload.version}, older than version ${anchor.ruleset_version} the helper already accepted (a rollback is refused)`;
        ruleset = null;
      }
    } catch (e) {
      rulesetProblem = `the stored rule set does not verify: ${(e as Error).message}`.slice(0, 240);
    }
  }

  const next: TrustAnchor = {
    ...anchor,
    relay_keys: pins,
    config_version: maxVersion(anchor.config_version, config.status === "verified" ? config.config.payload.version : null),
    ruleset_version: maxVersion(anchor.ruleset_version, ruleset?.payload.version ?? null),
  };
  // Helper steps may run at once (a firewall snapshot beside a LUKS status): merge with what is on disk now,
  // so one step's older view never lowers a version or drops a key another step just recorded.
  const onDisk = await loadTrustAnchor(trustFile);
  const merged = onDisk ? mergeAnchors(onDisk, next) : next;
  if (JSON.stringify(merged) !== JSON.stringify(onDisk)) await saveTrustAnchor(trustFile, merged);
  return { applianceId, config, ruleset, rulesetProblem };
}

/** Both anchors' keys (each was verified by the step that added it; newest last, at most MAX_RELAY_KEYS) and the higher of each version. */
export function mergeAnchors(a: TrustAnchor, b: TrustAnchor): TrustAnchor {
  const keys = [...a.relay_keys, ...b.relay_keys.filter((k) => !a.relay_keys.some((x) => x.key_id === k.key_id))].slice(-MAX_RELAY_KEYS);
  return { ...b, relay_keys: keys, config_version: maxVersion(a.config_version, b.config_version), ruleset_version: maxVersion(a.ruleset_version, b.ruleset_version) };
}

function maxVersion(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function jsonList(text: string | null): unknown[] {
  if (text === null) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function pinnedKeys(text: string): PinnedRelayKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HelperError("store", "The pinned relay keys in the identity row are not JSON");
  }
  const parsed = relayKeysSchema.safeParse(raw);
  if (!parsed.success || parsed.data.length === 0) throw new HelperError("store", "The identity row has no usable pinned relay keys");
  return parsed.data;
}

function trustedKeys(keys: readonly PinnedRelayKey[]): TrustedKey[] {
  return keys.map((k) => {
    const publicKey = fromHex(k.public_key);
    if (keyId(publicKey) !== k.key_id) throw new HelperError("store", `Pinned relay key ${k.key_id} does not match its public key`);
    return { key_id: k.key_id, publicKey };
  });
}

/** Gives `-wal`/`-shm` files this process may have created back to the database file's owner. */
async function returnSidecars(dbPath: string, uid: number, gid: number): Promise<void> {
  for (const suffix of ["-wal", "-shm"]) {
    const p = `${dbPath}${suffix}`;
    try {
      const st = await lstat(p);
      if (st.isFile() && (st.uid !== uid || st.gid !== gid)) await chown(p, uid, gid);
    } catch {
      // Absent (SQLite removed it on close) or already gone.
    }
  }
}
