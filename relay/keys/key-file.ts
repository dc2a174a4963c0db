/**
 * The relay's private key file (Node adapter): 32 raw bytes (an Ed25519 seed), mode 0600, created atomically
 * and never overwritten (secret-file.ts).
 */
import type { Random } from "../deps.ts";
import { createSecretFile, readSecretFile, SECRET_FILE_MODE } from "./secret-file.ts";

export const RELAY_KEY_BYTES = 32;
export const KEY_FILE_MODE = SECRET_FILE_MODE;
const WHAT = "Relay key file";

/** Reads the key file at `path`, or returns null when there is none. */
export function readRelayKeyFile(path: string): Promise<Uint8Array | null> {
  return readSecretFile(path, WHAT, RELAY_KEY_BYTES);
}

/** Creates a new key file at `path` from `random`; RelayError `config` if a file is already there. */
export function createRelayKeyFile(path: string, random: Random): Promise<Uint8Array> {
  return createSecretFile(path, WHAT, RELAY_KEY_BYTES, random);
}
