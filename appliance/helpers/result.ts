/**
 * The result a helper action leaves for the daemon: one small JSON file per action,
 * `<dir>/<action>.json` (default dir /run/osiris/helper), written and read by this module only, so the two
 * sides cannot disagree on its format.
 *
 * Writing is atomic: a temporary file is created beside the target (O_EXCL, O_NOFOLLOW, mode 0640), written,
 * fsynced, then renamed over the target, and the directory fsynced; a reader sees the old result or the new
 * one, never a mix. The directory is 0750 and both are group-owned by the daemon's group (the group of the
 * state directory), so the unprivileged daemon can read results and cannot write or replace them.
 *
 * A result holds no secrets: the action, times, outcome, one line of detail, and per command its argv (store
 * paths, fixed flags), exit code, duration, SHA-256 of its output and the output's last line.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, rename, unlink, chmod, chown } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { isoTimeSchema } from "../../protocol/ids.ts";
import { HELPER_ACTIONS, type HelperAction } from "./actions.ts";
import { HelperError } from "./errors.ts";

export const HELPER_RESULT_SCHEMA = "osiris.helper-result/v1";
/** Where results go on the appliance (tmpfs: a reboot clears them, and nothing stale survives one). */
export const DEFAULT_RESULT_DIR = "/run/osiris/helper";
export const RESULT_FILE_MODE = 0o640;
export const RESULT_DIR_MODE = 0o750;
/** A result is a few KiB; anything larger was not written by the helper. */
export const MAX_RESULT_BYTES = 64 * 1024;
/** Commands recorded per result: a switch with rollback runs about ten. */
export const MAX_COMMANDS = 32;
export const MAX_DETAIL_CHARS = 240;

/**
 * success: the action did what it is for. unchanged: nothing needed doing (already on the pinned system).
 * reverted: a switch failed its health check and the helper switched back. failed: it did not complete.
 * refused: its signed inputs are missing or do not verify, so nothing was run.
 */
export const HELPER_OUTCOMES = ["success", "unchanged", "reverted", "failed", "refused"] as const;
export type HelperOutcome = (typeof HELPER_OUTCOMES)[number];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const storePath = z.string().max(300).regex(/^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]{1,200}$/);

/** Kernel block-device and device-mapper names (sda1, nvme0n1p3, dm-0, osiris-data; dm names are < 128 bytes). */
export const DEVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:+@-]{0,126}$/;
/** A mount point as lsblk prints it: an absolute path without control characters, or `[SWAP]`. */
export const MOUNT_PATTERN = /^(\/[^\u0000-\u001f\u007f]{0,511}|\[SWAP\])$/;
/** Mounted filesystems a luks-status result may list (an appliance has a handful; keeps results far below 64 KiB). */
export const MAX_LUKS_VOLUMES = 128;
const deviceName = z.string().regex(DEVICE_NAME_PATTERN);

const commandSchema = z.strictObject({
  argv: z.array(z.string().max(200)).min(1).max(64),
  exit_code: z.number().int().min(0).max(255),
  duration_ms: z.number().int().min(0),
  output_sha256: sha256,
  output_tail: z.string().max(200),
});

export const helperResultSchema = z.strictObject({
  schema: z.literal(HELPER_RESULT_SCHEMA),
  action: z.enum(HELPER_ACTIONS),
  started_at: isoTimeSchema,
  finished_at: isoTimeSchema,
  outcome: z.enum(HELPER_OUTCOMES),
  detail: z.string().max(MAX_DETAIL_CHARS),
  /** The helper process's exit code (0 for success and unchanged). */
  exit_code: z.number().int().min(0).max(255),
  commands: z.array(commandSchema).max(MAX_COMMANDS),
  /** Values the action used, from the catalogue and the verified rule set (never from the caller). */
  params: z.record(z.string().max(64), z.union([z.number(), z.string().max(200), z.boolean()])).optional(),
  /** Switches: the running system before and after, and the system profile generations. */
  system: z
    .strictObject({
      from_system: storePath.nullable(),
      to_system: storePath.nullable(),
      from_generation: z.number().int().min(1).nullable(),
      to_generation: z.number().int().min(1).nullable(),
    })
    .optional(),
  /** Firewall actions: the loaded ruleset's canonical hash (null: nothing loaded) and whether it has a chain. */
  firewall: z
    .strictObject({
      ruleset_sha256: sha256.nullable(),
      has_chain: z.boolean(),
      baseline_sha256: sha256.nullable().optional(),
    })
    .optional(),
  /** luks-status: each mounted filesystem, its device and whether it sits on an encrypted device (luks.ts). */
  luks: z
    .strictObject({
      volumes: z
        .array(
          z.strictObject({
            mount: z.string().regex(MOUNT_PATTERN),
            device: deviceName,
            encrypted: z.boolean(),
            crypt_name: deviceName.nullable(),
            crypt_type: z.string().regex(/^[A-Z0-9_-]{1,16}$/).nullable(),
          }),
        )
        .max(MAX_LUKS_VOLUMES),
    })
    .optional(),
});
export type HelperResult = z.output<typeof helperResultSchema>;
export type LuksVolume = NonNullable<HelperResult["luks"]>["volumes"][number];

/** Exit code of the helper process for an outcome. */
export function exitCodeFor(outcome: HelperOutcome): number {
  return outcome === "success" || outcome === "unchanged" ? 0 : outcome === "refused" ? 3 : 1;
}

export function resultPath(dir: string, action: HelperAction): string {
  return join(dir, `${action}.json`);
}

export interface WriteResultOptions {
  /** Group that may read results (the daemon's); default: this process's group. */
  readonly gid?: number;
  /** Random suffix source for the temporary file name. */
  readonly random?: () => string;
}

/**
 * Creates `dir` (0750) if needed and checks it is a real directory this process owns; anything else (a
 * symlink, another owner) is refused, since the daemon must not be able to redirect or plant results.
 */
export async function ensureResultDir(dir: string, gid: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: RESULT_DIR_MODE });
  const st = await lstat(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.isSymbolicLink()) throw new HelperError("unsafe_path", `Cannot write helper results to ${dir}: it is not a directory`);
  if (st.uid !== uid) throw new HelperError("unsafe_path", `Cannot write helper results to ${dir}: it is owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o777) !== RESULT_DIR_MODE) await chmod(dir, RESULT_DIR_MODE);
  if (st.gid !== gid) await chown(dir, uid, gid);
}

/** Validates `result` and replaces `<dir>/<action>.json` with it atomically (see the module comment). */
export async function writeResult(dir: string, result: HelperResult, o: WriteResultOptions = {}): Promise<string> {
  const checked = helperResultSchema.parse(result);
  const text = `${JSON.stringify(checked)}\n`;
  if (Buffer.byteLength(text) > MAX_RESULT_BYTES) throw new RangeError(`A helper result must be at most ${MAX_RESULT_BYTES} bytes: current size is ${Buffer.byteLength(text)}`);
  const gid = o.gid ?? process.getgid?.() ?? 0;
  await ensureResultDir(dir, gid);
  const target = resultPath(dir, checked.action);
  const suffix = o.random?.() ?? `${process.pid}.${randomBytes(6).toString("hex")}`;
  const tmp = join(dir, `.${checked.action}.json.${suffix}.tmp`);
  const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, RESULT_FILE_MODE);
  try {
    try {
      // The unit's UMask (0077) would drop the group bit; set the mode and the reading group explicitly.
      await fh.chmod(RESULT_FILE_MODE);
      await fh.chown(process.getuid?.() ?? 0, gid);
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return target;
}

export interface ReadResultOptions {
  /** The uid results must belong to: root on the appliance (default 0); the test's own uid in tests. */
  readonly ownerUid?: number;
}

/**
 * Reads the result of `action`. Throws HelperError `no_result` when there is none, `unsafe_path` when the file
 * is a symlink, not a regular file, not owned by `ownerUid` or writable by group/other, and `invalid_result`
 * when it is not a helper result for this action.
 */
export async function readResult(dir: string, action: HelperAction, o: ReadResultOptions = {}): Promise<HelperResult> {
  const path = resultPath(dir, action);
  const owner = o.ownerUid ?? 0;
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new HelperError("no_result", `No helper result at ${path}`);
    if (code === "ELOOP") throw new HelperError("unsafe_path", `Refusing helper result ${path}: it is a symbolic link`);
    throw new HelperError("no_result", `Cannot open helper result ${path}: ${code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new HelperError("unsafe_path", `Refusing helper result ${path}: it is not a regular file`);
    if (st.uid !== owner) throw new HelperError("unsafe_path", `Refusing helper result ${path}: owned by uid ${st.uid}, expected ${owner}`);
    if ((st.mode & 0o022) !== 0) throw new HelperError("unsafe_path", `Refusing helper result ${path}: mode ${(st.mode & 0o777).toString(8)} lets others write it`);
    if (st.size > MAX_RESULT_BYTES) throw new HelperError("invalid_result", `Refusing helper result ${path}: ${st.size} bytes, more than ${MAX_RESULT_BYTES}`);
    const text = await fh.readFile("utf8");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new HelperError("invalid_result", `Helper result ${path} is not JSON (${text.length} characters)`);
    }
    const parsed = helperResultSchema.safeParse(doc);
    if (!parsed.success) throw new HelperError("invalid_result", `Helper result ${path} is not a ${HELPER_RESULT_SCHEMA} document: ${parsed.error.issues[0]?.path.join(".") ?? ""} ${parsed.error.issues[0]?.message ?? ""}`.trim());
    if (parsed.data.action !== action) throw new HelperError("invalid_result", `Helper result ${path} is for ${parsed.data.action}, not ${action}`);
    return parsed.data;
  } finally {
    await fh.close();
  }
}
