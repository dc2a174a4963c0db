/**
 * Vault key files (Node adapter): 32 raw random bytes, mode 0600, like the relay key file (keys/key-file.ts).
 * Created atomically and never overwritten (O_EXCL temporary file, fsync, hard link into place, fsync of the
 * directory). Reading refuses symbolic links, files other users could read, and anything but 32 bytes.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Random } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { VAULT_KEY_BYTES } from "./vault.ts";

export const VAULT_KEY_FILE_MODE = 0o600;

/** Reads the vault key file at `path`, or returns null when there is none. RelayError `config` otherwise. */
export async function readVaultKeyFile(path: string): Promise<Uint8Array | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new RelayError("config", `Vault key file ${path} is a symbolic link; refusing to follow it`);
    throw new RelayError("config", `Cannot open vault key file ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new RelayError("config", `Vault key file ${path} is not a regular file`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) throw new RelayError("config", `Vault key file ${path} must be mode 0600 (owner only); saw mode 0${mode.toString(8)}; run chmod 600 ${path}`);
    if (info.size !== VAULT_KEY_BYTES) throw new RelayError("config", `Vault key file ${path} must hold a ${VAULT_KEY_BYTES}-byte key; saw ${info.size} bytes`);
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Creates a new vault key file at `path` from `random`; RelayError `config` if a file is already there. */
export async function createVaultKeyFile(path: string, random: Random): Promise<Uint8Array> {
  const key = random(VAULT_KEY_BYTES);
  if (!(key instanceof Uint8Array) || key.length !== VAULT_KEY_BYTES) throw new TypeError(`Cannot create a vault key: random(${VAULT_KEY_BYTES}) must return ${VAULT_KEY_BYTES} bytes`);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, VAULT_KEY_FILE_MODE);
    try {
      await handle.chmod(VAULT_KEY_FILE_MODE);
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, path);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const d = await open(dir, constants.O_RDONLY);
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new RelayError("config", `Vault key file ${path} already exists; refusing to overwrite a key`);
    throw new RelayError("config", `Cannot write vault key file ${path}: ${code ?? (e as Error).message}`);
  }
  return key;
}
