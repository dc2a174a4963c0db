/**
 * The helper's look into the daemon's store: the pinned relay keys and appliance id (`identity`), the signed
 * appliance config (`kv`) and the signed rule set (`ruleset`) — read once, with `PRAGMA query_only`, and
 * verified here, so what the root helper acts on is only what the relay signed.
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
import { HelperError } from "./errors.ts";
import { checkStoredApplianceConfig, APPLIANCE_CONFIG_KV_KEY, type StoredApplianceConfig } from "./signed-config.ts";

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

/** Reads and verifies the signed state in the store at `dbPath`. Throws HelperError `store` when it cannot be used at all. */
export async function readSignedState(dbPath: string): Promise<SignedState> {
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
  try {
    await client.execute("PRAGMA query_only = ON");
    const identity = (await client.execute("SELECT state, appliance_id, relay_keys FROM identity WHERE id = 1")).rows[0];
    if (!identity || identity["state"] !== "enrolled" || typeof identity["appliance_id"] !== "string") {
      throw new HelperError("store", `The appliance in ${dbPath} is not enrolled, so it has no pinned relay keys to verify signed data with`);
    }
    const relayKeys = trustedKeys(String(identity["relay_keys"]));
    const applianceId = identity["appliance_id"];
    const kv = (await client.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [APPLIANCE_CONFIG_KV_KEY] })).rows[0];
    const config = await checkStoredApplianceConfig(kv ? String(kv["value"]) : null, { relayKeys, applianceId });
    const rs = (await client.execute("SELECT envelope FROM ruleset WHERE id = 1")).rows[0];
    let ruleset: VerifiedRuleset | null = null;
    let rulesetProblem: string | null = rs ? null : "no signed rule set has been received";
    if (rs) {
      try {
        ruleset = await verifyRuleset(JSON.parse(String(rs["envelope"])), { relayKeys });
      } catch (e) {
        rulesetProblem = `the stored rule set does not verify: ${(e as Error).message}`.slice(0, 240);
      }
    }
    return { applianceId, config, ruleset, rulesetProblem };
  } catch (e) {
    if (e instanceof HelperError) throw e;
    throw new HelperError("store", `Cannot read the appliance store ${dbPath}: ${(e as Error).message}`.slice(0, 300), { cause: e });
  } finally {
    client.close();
    await returnSidecars(dbPath, dbStat.uid, dbStat.gid);
  }
}

function trustedKeys(text: string): TrustedKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HelperError("store", "The pinned relay keys in the identity row are not JSON");
  }
  const parsed = relayKeysSchema.safeParse(raw);
  if (!parsed.success || parsed.data.length === 0) throw new HelperError("store", "The identity row has no usable pinned relay keys");
  return parsed.data.map((k) => {
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
