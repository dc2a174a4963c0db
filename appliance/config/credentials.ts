/**
 * Host credentials for a standalone appliance (`credentials_file` in the config). With a relay, credentials
 * arrive sealed on each sync instead; either way they live in memory only.
 *
 * The file is YAML, mode 0600 (or 0640 for a service group), never world-readable:
 *
 *   credentials:
 *     clinic-admin:  { type: password, username: 'CLINIC\osiris', password: '…' }
 *     linux-key:     { type: ssh_key, username: osiris, private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\n…", passphrase: '…' }
 *
 * Secrets never reach a log or an error message: errors name the file, the key path and what was expected,
 * never the value (and YAML syntax errors omit the source excerpt the `yaml` package would quote). The
 * returned objects print as `[redacted]` through JSON.stringify and util.inspect, so an accidental log line
 * does not leak them either.
 */
import { stat } from "node:fs/promises";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { configError, formatPath, parseYamlMapping, readBounded } from "./load.ts";
import { suggest } from "./suggest.ts";

/** A credentials file holds a few dozen entries; a key may be a few kilobytes. */
export const MAX_CREDENTIALS_BYTES = 1024 * 1024;
/** Longest secret value accepted (an RSA-8192 private key in PEM is about 6.5 KB). */
const MAX_SECRET_CHARS = 16_384;

export interface PasswordCredential {
  readonly type: "password";
  readonly username: string;
  readonly password: string;
  /** Windows domain for NTLM, when not written into the user name. */
  readonly domain?: string;
}

export interface SshKeyCredential {
  readonly type: "ssh_key";
  readonly username: string;
  /** PEM / OpenSSH private key text. */
  readonly private_key: string;
  readonly passphrase?: string;
}

export type Credential = PasswordCredential | SshKeyCredential;

/** Credentials by `credential_ref`. */
export type Credentials = ReadonlyMap<string, Credential>;

const REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const secret = z.string().min(1).max(MAX_SECRET_CHARS);
const username = z.string().min(1).max(256);
const CredentialSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("password"), username, password: secret, domain: z.string().min(1).max(256).optional() }),
  z.strictObject({ type: z.literal("ssh_key"), username, private_key: secret, passphrase: secret.optional() }),
]);
const FileSchema = z.strictObject({
  credentials: z.record(z.string().regex(REF_PATTERN), CredentialSchema),
});

/**
 * Reads the credentials file at `path`. Throws ConfigError: `bad_permissions` when other users can read or
 * any group can write it, `read_failed`, `too_large`, `yaml_syntax`, `unknown_key`, `missing_key`,
 * `invalid_value` — never with a secret in the message.
 */
export async function loadCredentialsFile(path: string): Promise<Credentials> {
  await checkPermissions(path);
  const text = await readBounded(path, MAX_CREDENTIALS_BYTES);
  const data = parseYamlMapping(text, path, false);
  const result = FileSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => redactedIssues(issue, data));
    // "pasword" unknown + "password" missing is one mistake: keep the did-you-mean only.
    const meant = new Set(issues.flatMap((i) => (i.suggestion ? [`${i.path.replace(/\.[^.]+$/, "")}.${i.suggestion}`] : [])));
    throw configError(path, issues.filter((i) => !(i.code === "missing_key" && meant.has(i.path))));
  }
  const out = new Map<string, Credential>();
  for (const [ref, cred] of Object.entries(result.data.credentials)) out.set(ref, redacting(ref, cred));
  return out;
}

async function checkPermissions(path: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (e) {
    throw new ConfigError("read_failed", `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { source: path, issues: [] });
  }
  if ((mode & 0o027) !== 0) {
    const message = `credentials file must not be readable by other users or writable by its group (mode 0600 or 0640); saw mode 0${mode.toString(8)}; run chmod 600 ${path}`;
    throw new ConfigError("bad_permissions", `${path}: ${message}`, { source: path, issues: [{ code: "bad_permissions", path: "", message }] });
  }
}

/** Describes a problem by key path and expectation only: the value may be a secret. */
function redactedIssues(issue: z.core.$ZodIssue, data: unknown): ConfigIssue[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        // A key name is shown only when it looks like a field name: a mis-indented secret could be a key.
        const shown = FIELD_NAME.test(key) ? JSON.stringify(key) : "(name not shown)";
        const hint = FIELD_NAME.test(key) ? suggest(key, FIELDS) : undefined;
        const out: ConfigIssue = { code: "unknown_key", path: FIELD_NAME.test(key) ? formatPath([...issue.path, key]) : path, message: `unknown key ${shown}${hint ? ` (did you mean "${hint}"?)` : ""}` };
        if (hint) out.suggestion = hint;
        return out;
      });
    case "invalid_type":
      if (valueAt(data, issue.path) === undefined) return [{ code: "missing_key", path, message: `is required (${issue.expected})` }];
      return [{ code: "invalid_value", path, message: `expected ${issue.expected} (value not shown)` }];
    case "invalid_union":
      return [{ code: "invalid_value", path, message: 'expected type "password" or "ssh_key" (value not shown)' }];
    case "invalid_key":
      return [{ code: "invalid_value", path, message: `credential names must match ${REF_PATTERN.source} (name not shown)` }];
    case "too_small":
      return [{ code: "invalid_value", path, message: "must not be empty" }];
    case "too_big":
      return [{ code: "invalid_value", path, message: `is longer than ${MAX_SECRET_CHARS} characters` }];
    default:
      return [{ code: "invalid_value", path, message: "is not valid (value not shown)" }];
  }
}

const FIELD_NAME = /^[a-z_]{1,32}$/;
const FIELDS = ["type", "username", "password", "domain", "private_key", "passphrase", "credentials"];

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

/** Freezes `cred` and makes it print as `[redacted]` in JSON and util.inspect. */
function redacting(ref: string, cred: Credential): Credential {
  const shown = { credential_ref: ref, type: cred.type, username: cred.username, secret: "[redacted]" };
  Object.defineProperty(cred, "toJSON", { value: () => shown, enumerable: false });
  Object.defineProperty(cred, Symbol.for("nodejs.util.inspect.custom"), { value: () => shown, enumerable: false });
  return Object.freeze(cred);
}
