/**
 * Key files: the appliance's secrets live here, never in the database, logs or evidence.
 *
 * Under `state_dir` (mode 0700, owned by the service user), one file per secret, each mode 0600:
 *   identity.key      Ed25519 private key (32-byte seed): signs requests and enrollment proofs
 *   evidence.key      Ed25519 private key (32-byte seed): signs evidence bundles and checkpoints
 *   credentials.key   X25519 private key: opens credentials the relay seals to this appliance
 *   relay-token       bearer token issued at enrollment (the database keeps only its SHA-256)
 *
 * Writes are atomic and durable: the bytes go to a temporary file created 0600 in the same directory, are
 * fsynced, then linked (new key: never replaces an existing one) or renamed (replace: token rotation) into
 * place, and the directory is fsynced so the new name survives power loss. A crash leaves either the old file
 * or the new one, never a torn key. Reads refuse files that other users could read, symlinks, and anything
 * larger than a key.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StoreError } from "./errors.ts";

/** The key files' names under state_dir. */
export const KEY_FILES = {
  identity: "identity.key",
  evidence: "evidence.key",
  credentials: "credentials.key",
  relayToken: "relay-token",
} as const;

export const KEY_FILE_MODE = 0o600;
export const STATE_DIR_MODE = 0o700;
/** Keys and tokens are tens of bytes; a larger file is not one of ours. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface WriteKeyFileOptions {
  /** Replace an existing file (token rotation). Default false: a key is written once, never overwritten. */
  replace?: boolean;
}

/** Writes `data` to `path` atomically with mode 0600. Throws StoreError `key_file_exists` / `key_file_write_failed`. */
export async function writeKeyFile(path: string, data: Uint8Array, options: WriteKeyFileOptions = {}): Promise<void> {
  if (data.length === 0 || data.length > MAX_KEY_FILE_BYTES) {
    throw new RangeError(`Cannot write key file ${path} as its size must be 1..${MAX_KEY_FILE_BYTES} bytes: current value is ${data.length}`);
  }
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    // O_EXCL: never write through a file (or symlink) someone planted at the temporary name.
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, KEY_FILE_MODE);
    try {
      await handle.chmod(KEY_FILE_MODE); // the umask may have removed bits; make the mode exact
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.replace) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path); // fails with EEXIST instead of replacing
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    }
    await syncDir(dir);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new StoreError("key_file_exists", `key file ${path} already exists; refusing to overwrite a key`, { cause: e });
    throw new StoreError("key_file_write_failed", `cannot write key file ${path}: ${code ?? (e as Error).message}`, { cause: e });
  }
}

/**
 * Reads the key file at `path`. Throws StoreError: `key_file_missing`, `key_file_permissions` (group or
 * other bits set, or not a regular file), `key_file_invalid` (empty or too large).
 */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink at a key path is refused, not followed.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new StoreError("key_file_missing", `key file ${path} does not exist`, { cause: e });
    if (code === "ELOOP") throw new StoreError("key_file_permissions", `key file ${path} is a symbolic link; refusing to follow it`, { cause: e });
    throw new StoreError("key_file_permissions", `cannot open key file ${path}: ${code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new StoreError("key_file_permissions", `key file ${path} is not a regular file`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new StoreError("key_file_permissions", `key file ${path} must be mode 0600 (owner only); saw mode 0${mode.toString(8)}`);
    }
    if (info.size === 0 || info.size > MAX_KEY_FILE_BYTES) {
      throw new StoreError("key_file_invalid", `key file ${path} must hold 1..${MAX_KEY_FILE_BYTES} bytes; saw ${info.size}`);
    }
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** True when a key file exists at `path` (whatever its mode; readKeyFile checks that). */
export async function keyFileExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/** Creates `dir` (and parents) if needed and makes sure only its owner can enter it. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: STATE_DIR_MODE });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new StoreError("key_file_permissions", `state directory ${dir} is not a directory`);
  const mode = info.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new StoreError("key_file_permissions", `state directory ${dir} must be mode 0700 (owner only); saw mode 0${mode.toString(8)}`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
