/**
 * Start-up of the relay's signing key (Node adapter): read the key file, or create it on the very first start
 * (no relay key registered yet), then register or check it in the database (relay-keys.ts). A missing key
 * file on a relay that already has keys is refused: a fresh key would not be trusted by enrolled appliances.
 */
import { resolve } from "node:path";
import type { RelayDb } from "../db/index.ts";
import type { Env, RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { RelayLog } from "../log.ts";
import { createRelayKeyFile, readRelayKeyFile } from "./key-file.ts";
import { createSigner } from "../../protocol/crypto.ts";
import { activateRelayKey, assertCurrentKey, listRelayKeys, relayKeyOf } from "./relay-keys.ts";

export async function loadRelayKey(db: RelayDb, keyFile: string, env: Env & { log: RelayLog }): Promise<RelayKey> {
  const path = resolve(keyFile);
  let secret = await readRelayKeyFile(path);
  if (!secret) {
    const keys = await listRelayKeys(db);
    if (keys.length > 0) {
      throw new RelayError(
        "config",
        `Relay key file ${path} does not exist, but this relay already signs with ${keys.map((k) => `${k.key_id} (${k.key_file})`).join(", ")}; ` +
          "restore the key file from backup (a new key would not be trusted by enrolled appliances)",
      );
    }
    secret = await createRelayKeyFile(path, env.random);
    env.log.info("relay_key_created", { key_file: path });
  }
  const key = await activateRelayKey(db, secret, path, env.clock);
  env.log.info("relay_key_loaded", { key_id: key.keyId, name: key.name });
  return key;
}

/**
 * The relay's current key from `keyFile`, for a command that signs with it without being the relay (the
 * manifest of an exported auditor kit): the file must exist and hold a registered key that no rotation has
 * superseded. Nothing is created or registered.
 */
export async function currentRelayKey(db: RelayDb, keyFile: string): Promise<RelayKey> {
  const path = resolve(keyFile);
  const secret = await readRelayKeyFile(path);
  if (!secret) throw new RelayError("config", `Relay key file ${path} does not exist: give the relay's key file with --key-file (it signs what is exported)`);
  const keys = await listRelayKeys(db);
  if (keys.length === 0) throw new RelayError("relay_key_state", "This relay has no keys yet: start it once ('osiris relay serve') so it creates and registers one");
  const key = relayKeyOf(createSigner(secret));
  assertCurrentKey(keys, key, path);
  return key;
}
