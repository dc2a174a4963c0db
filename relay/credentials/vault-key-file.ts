/**
 * Vault key files (Node adapter): 32 raw random bytes, mode 0600, created atomically and never overwritten,
 * like the relay key file (keys/secret-file.ts).
 */
import type { Random } from "../deps.ts";
import { createSecretFile, readSecretFile, SECRET_FILE_MODE } from "../keys/secret-file.ts";
import { VAULT_KEY_BYTES } from "./vault.ts";

export const VAULT_KEY_FILE_MODE = SECRET_FILE_MODE;
const WHAT = "Vault key file";

/** Reads the vault key file at `path`, or returns null when there is none. RelayError `config` otherwise. */
export function readVaultKeyFile(path: string): Promise<Uint8Array | null> {
  return readSecretFile(path, WHAT, VAULT_KEY_BYTES);
}

/** Creates a new vault key file at `path` from `random`; RelayError `config` if a file is already there. */
export function createVaultKeyFile(path: string, random: Random): Promise<Uint8Array> {
  return createSecretFile(path, WHAT, VAULT_KEY_BYTES, random);
}
