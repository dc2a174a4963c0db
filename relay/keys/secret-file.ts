/**
 * Secret key files (Node adapter), for the relay key and the credential vault keys: raw random bytes, mode
 * 0600, owned by the service user. Created atomically and never overwritten: the bytes go to an O_EXCL
 * temporary file that is fsynced and then hard-linked into place (which fails rather than replaces), and the
 * directory is fsynced. Reading refuses symlinks, files other users can read, and anything that is not
 * exactly a key of the expected size. `what` names the file in errors ("Relay key file", "Vault key file").
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Random } from "../deps.ts";
import { RelayError } from "../errors.ts";

export const SECRET_FILE_MODE = 0o600;

/** Reads the secret file at `path`, or returns null when there is none. RelayError `config` otherwise. */
export async function readSecretFile(path: string, what: string, bytes: number): Promise<Uint8Array | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new RelayError("config", `${what} ${path} is a symbolic link; refusing to follow it`);
    throw new RelayError("config", `Cannot open ${what.toLowerCase()} ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new RelayError("config", `${what} ${path} is not a regular file`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) throw new RelayError("config", `${what} ${path} must be mode 0600 (owner only); saw mode 0${mode.toString(8)}; run chmod 600 ${path}`);
    if (info.size !== bytes) throw new RelayError("config", `${what} ${path} must hold a ${bytes}-byte key; saw ${info.size} bytes`);
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Creates a new secret file at `path` from `random`; RelayError `config` if a file is already there. */
export async function createSecretFile(path: string, what: string, bytes: number, random: Random): Promise<Uint8Array> {
  const secret = random(bytes);
  if (!(secret instanceof Uint8Array) || secret.length !== bytes) throw new TypeError(`Cannot create a ${what.toLowerCase()}: random(${bytes}) must return ${bytes} bytes`);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, SECRET_FILE_MODE);
    try {
      await handle.chmod(SECRET_FILE_MODE);
      await handle.writeFile(secret);
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
    if (code === "EEXIST") throw new RelayError("config", `${what} ${path} already exists; refusing to overwrite a key`);
    throw new RelayError("config", `Cannot write ${what.toLowerCase()} ${path}: ${code ?? (e as Error).message}`);
  }
  return secret;
}
