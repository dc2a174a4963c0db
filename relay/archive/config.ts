/**
 * Configuration of the WORM archive, checked once at start-up. Non-secret settings come from the command
 * line (`--archive-endpoint`, `--archive-bucket`, `--archive-region`, `--archive-retention-days`); the access
 * key pair only from the environment (`OSIRIS_ARCHIVE_ACCESS_KEY_ID` + `OSIRIS_ARCHIVE_SECRET_ACCESS_KEY`) or
 * from a credentials file (`--archive-credentials-file` / `OSIRIS_ARCHIVE_CREDENTIALS_FILE`, JSON
 * `{"access_key_id": "…", "secret_access_key": "…"}`, mode 0600) — never argv, where `ps` shows it.
 * Error messages name the setting and its value, except for secrets, whose value is never shown.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { ValidationError } from "../../protocol/errors.ts";
import { RelayError } from "../errors.ts";
import type { S3Config } from "./s3.ts";

export const ARCHIVE_ACCESS_KEY_ENV = "OSIRIS_ARCHIVE_ACCESS_KEY_ID";
export const ARCHIVE_SECRET_KEY_ENV = "OSIRIS_ARCHIVE_SECRET_ACCESS_KEY";
export const ARCHIVE_CREDENTIALS_FILE_ENV = "OSIRIS_ARCHIVE_CREDENTIALS_FILE";
export const DEFAULT_ARCHIVE_REGION = "us-east-1";
/** HIPAA keeps documentation six years (45 CFR 164.316(b)(2)); 6 × 365 + 2 leap days. */
export const DEFAULT_RETENTION_DAYS = 2192;
/** A century: anything longer is a typo. */
export const MAX_RETENTION_DAYS = 36_500;
/** A credentials file is two short strings; anything bigger is the wrong file. */
const MAX_CREDENTIALS_FILE_BYTES = 4096;
/** S3 access keys and secrets are printable ASCII without spaces (AWS: 16–128 and 40 characters). */
const KEY_CHARS = /^[\x21-\x7e]{1,256}$/;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;

/** What is wrong with an endpoint URL, or null. */
function endpointProblem(text: string): string | null {
  if (!URL.canParse(text)) return "must be an absolute URL like https://s3.example.com";
  const url = new URL(text);
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must use https:// (or http:// to a loopback address)";
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname)) return "plain http:// is allowed only to a loopback address: use https://";
  if (url.username !== "" || url.password !== "") return "must not carry credentials (give them in the environment or a credentials file)";
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return "must be the service root, without a path or query (the bucket is --archive-bucket)";
  return null;
}

const settingsSchema = z.strictObject({
  endpoint: z.string().superRefine((s, ctx) => {
    const problem = endpointProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  // S3 bucket naming rules: 3–63 characters, lower-case letters, digits, dots and hyphens.
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3–63 lower-case letters, digits, '.' and '-'"),
  region: z.string().regex(/^[a-z0-9-]{1,64}$/, "must be a region name like us-east-1"),
  retentionDays: z.number().int().min(1).max(MAX_RETENTION_DAYS),
});

export interface ArchiveSettings {
  endpoint: string;
  bucket: string;
  region?: string;
  retentionDays?: number;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ArchiveConfig {
  s3: S3Config;
  retentionDays: number;
}

/** Checks the archive settings; RelayError `config` naming what is wrong (secret values are never shown). */
export function archiveConfig(input: ArchiveSettings): ArchiveConfig {
  let settings: z.output<typeof settingsSchema>;
  try {
    settings = parseSchema(
      settingsSchema,
      { endpoint: input.endpoint, bucket: input.bucket, region: input.region ?? DEFAULT_ARCHIVE_REGION, retentionDays: input.retentionDays ?? DEFAULT_RETENTION_DAYS },
      "archive settings",
    );
  } catch (e) {
    if (e instanceof ValidationError) throw new RelayError("config", `Archive: ${e.message}`);
    throw e;
  }
  checkKey("access key id", input.accessKeyId);
  checkKey("secret access key", input.secretAccessKey);
  return {
    s3: { endpoint: settings.endpoint.replace(/\/+$/, ""), bucket: settings.bucket, region: settings.region, accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    retentionDays: settings.retentionDays,
  };
}

function checkKey(what: string, value: unknown): void {
  if (typeof value !== "string" || value === "") throw new RelayError("config", `Archive: the ${what} is missing (value not shown)`);
  if (!KEY_CHARS.test(value)) throw new RelayError("config", `Archive: the ${what} must be 1–256 printable ASCII characters without spaces (value not shown; length ${value.length})`);
}

/**
 * The access key pair: from `OSIRIS_ARCHIVE_ACCESS_KEY_ID` + `OSIRIS_ARCHIVE_SECRET_ACCESS_KEY`, or from the
 * credentials file (`file`, else `OSIRIS_ARCHIVE_CREDENTIALS_FILE`). Exactly one source must be given.
 */
export async function archiveCredentials(
  env: Readonly<Record<string, string | undefined>>,
  opts: { file?: string; readFile: (path: string) => Promise<Uint8Array> },
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const file = opts.file ?? env[ARCHIVE_CREDENTIALS_FILE_ENV];
  const id = env[ARCHIVE_ACCESS_KEY_ENV];
  const secret = env[ARCHIVE_SECRET_KEY_ENV];
  const fromEnv = Boolean(id) || Boolean(secret);
  if (file && fromEnv) throw new RelayError("config", `Give the archive credentials either in ${ARCHIVE_ACCESS_KEY_ENV}/${ARCHIVE_SECRET_KEY_ENV} or in a credentials file, not both`);
  if (fromEnv) {
    if (!id || !secret) throw new RelayError("config", `Archive credentials need both ${ARCHIVE_ACCESS_KEY_ENV} and ${ARCHIVE_SECRET_KEY_ENV} (${id ? ARCHIVE_SECRET_KEY_ENV : ARCHIVE_ACCESS_KEY_ENV} is empty)`);
    return { accessKeyId: id, secretAccessKey: secret };
  }
  if (!file) throw new RelayError("config", `The archive needs credentials: ${ARCHIVE_ACCESS_KEY_ENV} + ${ARCHIVE_SECRET_KEY_ENV}, or --archive-credentials-file PATH`);
  let bytes: Uint8Array;
  try {
    bytes = await opts.readFile(file);
  } catch (e) {
    throw new RelayError("config", `Cannot read the archive credentials file ${file}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  if (bytes.length > MAX_CREDENTIALS_FILE_BYTES) throw new RelayError("config", `The archive credentials file ${file} must be at most ${MAX_CREDENTIALS_FILE_BYTES} bytes: current size is ${bytes.length}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new RelayError("config", `The archive credentials file ${file} is not JSON {"access_key_id": "…", "secret_access_key": "…"} (content not shown)`);
  }
  const obj = (parsed ?? {}) as Record<string, unknown>;
  const accessKeyId = obj["access_key_id"];
  const secretAccessKey = obj["secret_access_key"];
  if (typeof accessKeyId !== "string" || typeof secretAccessKey !== "string") {
    throw new RelayError("config", `The archive credentials file ${file} must hold string fields access_key_id and secret_access_key (content not shown)`);
  }
  return { accessKeyId, secretAccessKey };
}
