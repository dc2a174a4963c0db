/**
 * Files a command writes (`--out`, `--kit`): checked before any work is done, so a typo in the path fails in
 * a second with a one-line message instead of after minutes of work (or after something was stored), and
 * written atomically (a temporary file renamed into place) so a reader never sees half a file and a failed
 * write leaves nothing behind.
 */
import { constants } from "node:fs";
import { access, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** A file that cannot be written; the message names the path and the reason. */
export class OutputFileError extends Error {
  override readonly name = "OutputFileError";
}

/**
 * Why `path` cannot be written (as the value of `flag`), or null when it can: its directory must exist and
 * be writable, and the path itself must not be a directory.
 */
export async function outputFileProblem(flag: string, path: string): Promise<string | null> {
  const full = resolve(path);
  const dir = dirname(full);
  const info = await stat(full).catch(() => null);
  if (info?.isDirectory()) return `${flag} ${path} is a directory: give a file name in it, e.g. ${flag} ${full.replace(/\/$/, "")}/<name>`;
  const dirInfo = await stat(dir).catch(() => null);
  if (!dirInfo) return `${flag} ${path}: the directory ${dir} does not exist (create it first or choose another path)`;
  if (!dirInfo.isDirectory()) return `${flag} ${path}: ${dir} is not a directory`;
  try {
    await access(dir, constants.W_OK);
  } catch {
    return `${flag} ${path}: the directory ${dir} is not writable by this user`;
  }
  return null;
}

/** Writes `bytes` to `<path>.<pid>.tmp` and renames it to `path`; removes the temporary file on any failure. */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    throw new OutputFileError(`cannot write ${path}: ${err.code === "EISDIR" ? "it is a directory" : (err.code ?? err.message)}`);
  }
}
