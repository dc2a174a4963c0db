/**
 * Start-up of the credential vault (Node adapter): the vault keys come from `OSIRIS_VAULT_KEY` (base64url keys,
 * comma-separated, current first; the CLI reads the variable and passes it as `envKeys`) or from key files
 * (`--vault-key-file`, plus `--vault-previous-key-file` for keys being rotated out). A missing key file is
 * created on the very first start; when the database already holds credentials it is refused instead, since
 * a fresh key could never open them. Rows under a key the vault does not hold are reported at start-up. "Rows"
 * are site credentials and notification channel secrets alike (vault-rows.ts).
 */
import { resolve } from "node:path";
import { fromBase64Url } from "../../protocol/encoding.ts";
import type { RelayDb } from "../db/index.ts";
import type { Random } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { RelayLog } from "../log.ts";
import { createVaultKeyFile, readVaultKeyFile } from "./vault-key-file.ts";
import { VAULT_KEY_BYTES, vaultFromKeys, vaultKeyId, type CredentialVault } from "./vault.ts";
import { storedKeyIds } from "./vault-rows.ts";

/** The environment variable the CLI reads vault keys from. */
export const VAULT_KEY_ENV = "OSIRIS_VAULT_KEY";
/** Keys held at once (current plus those being rotated out). */
export const MAX_VAULT_KEYS = 8;

export interface CredentialVaultOptions {
  db: RelayDb;
  /** The current key file (32 raw bytes, mode 0600), created on the first start. */
  keyFile?: string;
  /** Files of earlier keys, still needed to open rows `reencryptCredentials` has not moved yet. */
  previousKeyFiles?: readonly string[];
  /** The value of OSIRIS_VAULT_KEY: base64url keys, comma-separated, current first. Replaces the files. */
  envKeys?: string;
  random: Random;
  log: RelayLog;
}

function parseEnvKeys(text: string): Uint8Array[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length > MAX_VAULT_KEYS) throw new RelayError("config", `${VAULT_KEY_ENV} holds ${parts.length} keys: at most ${MAX_VAULT_KEYS}`);
  return parts.map((p, i) => {
    let key: Uint8Array;
    try {
      key = fromBase64Url(p);
    } catch {
      throw new RelayError("config", `${VAULT_KEY_ENV} key ${i + 1} is not unpadded base64url (value not shown)`);
    }
    if (key.length !== VAULT_KEY_BYTES) throw new RelayError("config", `${VAULT_KEY_ENV} key ${i + 1} must be ${VAULT_KEY_BYTES} bytes: current value is ${key.length} bytes`);
    return key;
  });
}

/** Loads (or on the first start creates) the vault keys; see the module comment. RelayError `config`. */
export async function createCredentialVault(opts: CredentialVaultOptions): Promise<CredentialVault> {
  const hasEnv = opts.envKeys !== undefined && opts.envKeys.trim() !== "";
  if (hasEnv === (opts.keyFile !== undefined)) {
    throw new RelayError("config", hasEnv ? `Give the vault key either in ${VAULT_KEY_ENV} or as --vault-key-file, not both` : `The credential vault needs a key: --vault-key-file PATH or ${VAULT_KEY_ENV}`);
  }
  const stored = await storedKeyIds(opts.db);
  let keys: Uint8Array[];
  let source: string;
  if (hasEnv) {
    keys = parseEnvKeys(opts.envKeys!);
    source = VAULT_KEY_ENV;
  } else {
    const path = resolve(opts.keyFile!);
    let current = await readVaultKeyFile(path);
    if (!current) {
      if (stored.size > 0) {
        throw new RelayError(
          "config",
          `Vault key file ${path} does not exist, but the database holds credentials or notification channel secrets under vault key(s) ${[...stored.keys()].join(", ")}; ` +
            "restore the key file from backup (a new key could not open them)",
        );
      }
      current = await createVaultKeyFile(path, opts.random);
      opts.log.info("vault_key_created", { key_file: path, key_id: vaultKeyId(current) });
    }
    keys = [current];
    for (const p of opts.previousKeyFiles ?? []) {
      const old = await readVaultKeyFile(resolve(p));
      if (!old) throw new RelayError("config", `Previous vault key file ${resolve(p)} does not exist`);
      keys.push(old);
    }
    if (keys.length > MAX_VAULT_KEYS) throw new RelayError("config", `${keys.length} vault keys given: at most ${MAX_VAULT_KEYS}`);
    source = path;
  }
  let vault: CredentialVault;
  try {
    vault = await vaultFromKeys(keys, opts.random);
  } catch (e) {
    throw new RelayError("config", `Cannot load the vault keys from ${source}: ${(e as Error).message}`);
  }
  const missing = [...stored].filter(([id]) => !vault.has(id));
  if (missing.length > 0) {
    opts.log.error("vault_keys_missing", { key_ids: missing.map(([id]) => id), credentials: missing.reduce((n, [, c]) => n + c, 0), hint: "these credentials and channel secrets cannot be used until their vault key is given again" });
  }
  const behind = [...stored].filter(([id]) => id !== vault.currentKeyId && vault.has(id));
  opts.log.info("vault_loaded", { key_id: vault.currentKeyId, previous_key_ids: vault.keyIds.slice(1), source, credentials_under_old_keys: behind.reduce((n, [, c]) => n + c, 0) });
  return vault;
}
