/**
 * Site credentials on the relay: stored encrypted (vault.ts), listed as metadata only, deleted, re-encrypted
 * after a vault key rotation. Write-only by design: nothing here returns a secret to a caller except
 * `readSecret`, which only the pull (seal-for-appliance.ts) uses, to seal it straight to an appliance.
 *
 * Input is checked without ever quoting the secret: a wrong secret says its type or size, never its value.
 */
import { z } from "zod";
import { canonicalBytes } from "../../protocol/canonical.ts";
import { fromUtf8, utf8 } from "../../protocol/encoding.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { CREDENTIAL_KINDS, CREDENTIAL_TARGET_PATTERN, MAX_SECRET_BYTES, MAX_USERNAME_CHARS, type CredentialKind } from "../../node/sealed-credential.ts";
import { visibleOrgsWhere } from "../auth/scope.ts";
import { str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import type { CredentialVault } from "./vault.ts";

/** Credentials per site: plenty for a clinic, and keeps a pull (every credential sealed) well under its limit. */
export const MAX_SITE_CREDENTIALS = 100;
/** Rows re-encrypted per call of `reencryptCredentials` (one short transaction each). */
export const REENCRYPT_BATCH = 100;

/** What a user sends to store a credential. */
export interface CredentialInput {
  target: string;
  kind: CredentialKind;
  username: string;
  secret: string;
}

/** The metadata of a credential; the secret never appears here. */
export interface CredentialSummary {
  id: string;
  site_id: string;
  target: string;
  kind: CredentialKind;
  username: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_validation: LastValidation | null;
}

export const VALIDATION_STATES = ["pending", "success", "failed", "expired"] as const;
export type ValidationState = (typeof VALIDATION_STATES)[number];

/** The latest `validate_credential` order for a credential and, once the appliance answered, its outcome. */
export interface LastValidation {
  status: ValidationState;
  order_id: string;
  appliance_id: string;
  host_id: string;
  requested_at: string;
  requested_by: string;
  completed_at: string | null;
  /** The failure class the appliance reported (`auth_failed`, `unreachable`, `timeout`, …), null on success. */
  code: string | null;
  /** The appliance's own words (never containing the secret), or why there is no answer. */
  detail: string | null;
}

/** What `last_validation` holds in the row: the request; the outcome is read from `orders`. */
export const validationRequestSchema = z.strictObject({
  order_id: z.string(),
  appliance_id: z.string(),
  host_id: z.string(),
  requested_at: z.string(),
  requested_by: z.string(),
});
export type ValidationRequest = z.output<typeof validationRequestSchema>;

const metaSchema = z.strictObject({
  target: z.string().regex(CREDENTIAL_TARGET_PATTERN, "expected a host id, a pattern with * and ? (e.g. srv-*), or * for every host"),
  kind: z.enum(CREDENTIAL_KINDS),
  // Control characters would let a user name forge log lines or break a WinRM header.
  username: z.string().min(1).max(MAX_USERNAME_CHARS).regex(/^[^\u0000-\u001f\u007f]+$/, "must not contain control characters"),
});

/** Field names shown in "unknown field" messages; anything else might be a secret pasted as a key. */
const FIELD_NAME = /^[a-z_]{1,32}$/;
const FIELDS = new Set(["target", "kind", "username", "secret"]);

/** Validates a store request; RelayError `schema` naming the field, never quoting the secret. */
export function parseCredentialInput(json: unknown): CredentialInput {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new RelayError("schema", "credential: expected a JSON object {target, kind, username, secret}");
  const body = json as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    const shown = unknown.map((k) => (FIELD_NAME.test(k) ? JSON.stringify(k) : "(name not shown)"));
    throw new RelayError("schema", `credential: unknown field${unknown.length > 1 ? "s" : ""} ${shown.join(", ")}: expected target, kind, username, secret`);
  }
  const secret = body["secret"];
  if (typeof secret !== "string") throw new RelayError("schema", `secret: expected a string, got ${secret === undefined ? "nothing" : Array.isArray(secret) ? "an array" : secret === null ? "null" : typeof secret} (value not shown)`);
  const bytes = utf8(secret).length;
  if (bytes === 0 || bytes > MAX_SECRET_BYTES) throw new RelayError("schema", `secret: must be 1..${MAX_SECRET_BYTES} bytes, got ${bytes} bytes (value not shown)`);
  const meta = parseSchema(metaSchema, { target: body["target"], kind: body["kind"], username: body["username"] }, "credential");
  if (meta.kind === "ssh_key" && !/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(secret.trimStart())) {
    throw new RelayError("schema", "secret: an ssh_key credential must be a PEM or OpenSSH private key (-----BEGIN … PRIVATE KEY-----); value not shown");
  }
  return { ...meta, secret };
}

/** The additional data binding a ciphertext to its row. */
export function credentialAad(row: { id: string; site_id: string; target: string; kind: string; username: string }): Uint8Array {
  return canonicalBytes({ purpose: "osiris.site-credential/v1", id: row.id, site_id: row.site_id, target: row.target, kind: row.kind, username: row.username });
}

/**
 * Encrypts and stores a credential for a site (inside the caller's transaction when `db` is a Tx).
 * RelayError `credential_limit` when the site already has MAX_SITE_CREDENTIALS.
 */
export async function storeCredential(db: RelayDb | Tx, vault: CredentialVault, input: CredentialInput & { site_id: string; created_by: string }, env: Env): Promise<{ id: string; created_at: string }> {
  const id = newId("cred", env.random);
  const now = isoTime(env.clock.now());
  const enc = await vault.encrypt(utf8(input.secret), credentialAad({ id, site_id: input.site_id, target: input.target, kind: input.kind, username: input.username }));
  // The count and the insert are one statement, so two concurrent stores cannot both pass the limit.
  const rs = await db.execute({
    sql: `INSERT INTO site_credentials (id, site_id, target, kind, username, key_id, nonce, ciphertext, created_by, created_at, updated_at)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM site_credentials WHERE site_id = ?) < ?`,
    args: [id, input.site_id, input.target, input.kind, input.username, enc.key_id, enc.nonce, enc.ciphertext, input.created_by, now, now, input.site_id, MAX_SITE_CREDENTIALS],
  });
  if (rs.rowsAffected !== 1) throw new RelayError("credential_limit", `Site ${input.site_id} already has ${MAX_SITE_CREDENTIALS} credentials: delete one first`, { limit: MAX_SITE_CREDENTIALS });
  return { id, created_at: now };
}

const SUMMARY_COLUMNS = "c.id, c.site_id, c.target, c.kind, c.username, c.created_by, c.created_at, c.updated_at, c.last_validation";

/** The credentials of a site a principal may see, metadata only, newest validation outcome included. */
export async function listCredentials(db: RelayDb, viewer: Principal, siteId: string, now: number): Promise<CredentialSummary[]> {
  const visible = visibleOrgsWhere(viewer);
  const rs = await db.execute({
    sql: `SELECT ${SUMMARY_COLUMNS}, ord.status AS order_status, ord.result AS order_result, ord.completed_at AS order_completed_at, ord.expires_at AS order_expires_at
          FROM site_credentials c
          JOIN sites s ON s.id = c.site_id
          JOIN organisations o ON o.id = s.org_id
          LEFT JOIN orders ord ON ord.id = json_extract(c.last_validation, '$.order_id')
          WHERE c.site_id = ? AND ${visible.sql}
          ORDER BY c.target, c.id
          LIMIT ?`,
    args: [siteId, ...visible.args, MAX_SITE_CREDENTIALS],
  });
  return rs.rows.map((r) => summary(r, now));
}

/** One credential's metadata (null when there is none). */
export async function getCredential(db: RelayDb | Tx, id: string, now: number): Promise<CredentialSummary | null> {
  const rs = await db.execute({
    sql: `SELECT ${SUMMARY_COLUMNS}, ord.status AS order_status, ord.result AS order_result, ord.completed_at AS order_completed_at, ord.expires_at AS order_expires_at
          FROM site_credentials c LEFT JOIN orders ord ON ord.id = json_extract(c.last_validation, '$.order_id') WHERE c.id = ?`,
    args: [id],
  });
  const row = rs.rows[0];
  return row ? summary(row, now) : null;
}

/** Deletes a credential; returns what it was (metadata), or null when there was none. */
export async function deleteCredential(db: RelayDb | Tx, id: string, now: number): Promise<CredentialSummary | null> {
  const before = await getCredential(db, id, now);
  if (!before) return null;
  await db.execute({ sql: "DELETE FROM site_credentials WHERE id = ?", args: [id] });
  return before;
}

/** Records the validation order just issued for a credential. */
export async function recordValidationRequest(db: RelayDb | Tx, id: string, request: ValidationRequest): Promise<void> {
  await db.execute({ sql: "UPDATE site_credentials SET last_validation = ? WHERE id = ?", args: [JSON.stringify(request), id] });
}

/** The stored row a secret is read from. */
export interface CredentialRow {
  id: string;
  site_id: string;
  target: string;
  kind: CredentialKind;
  username: string;
  key_id: string;
  nonce: string;
  ciphertext: string;
}

export function credentialRow(r: Row): CredentialRow {
  return {
    id: str(r, "id"),
    site_id: str(r, "site_id"),
    target: str(r, "target"),
    kind: str(r, "kind") as CredentialKind,
    username: str(r, "username"),
    key_id: str(r, "key_id"),
    nonce: str(r, "nonce"),
    ciphertext: str(r, "ciphertext"),
  };
}

/** Decrypts a row's secret; RelayError `credential_unreadable` when the vault cannot. Only for sealing. */
export async function readSecret(vault: CredentialVault, row: CredentialRow): Promise<string> {
  const bytes = await vault.decrypt(row, credentialAad(row));
  try {
    return fromUtf8(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Moves up to `batch` credentials encrypted under older vault keys to the current key (each row in its own
 * short write, guarded so a concurrent delete or rewrite wins). Call until `remaining` is 0; rows whose key
 * the vault does not hold are counted as `unreadable` and left as they are.
 */
export async function reencryptCredentials(db: RelayDb, vault: CredentialVault, env: Env, batch = REENCRYPT_BATCH): Promise<{ reencrypted: number; unreadable: number; remaining: number }> {
  const ids = vault.keyIds.filter((k) => k !== vault.currentKeyId);
  let reencrypted = 0;
  let unreadable = 0;
  if (ids.length > 0) {
    const rs = await db.execute({
      sql: `SELECT id, site_id, target, kind, username, key_id, nonce, ciphertext FROM site_credentials WHERE key_id IN (${ids.map(() => "?").join(", ")}) ORDER BY id LIMIT ?`,
      args: [...ids, batch],
    });
    for (const r of rs.rows) {
      const row = credentialRow(r);
      let secret: Uint8Array;
      try {
        secret = await vault.decrypt(row, credentialAad(row));
      } catch {
        unreadable++;
        continue;
      }
      const enc = await vault.encrypt(secret, credentialAad(row));
      secret.fill(0);
      const up = await db.execute({
        sql: "UPDATE site_credentials SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = ? WHERE id = ? AND key_id = ? AND nonce = ?",
        args: [enc.key_id, enc.nonce, enc.ciphertext, isoTime(env.clock.now()), row.id, row.key_id, row.nonce],
      });
      if (up.rowsAffected === 1) reencrypted++;
    }
  }
  const left = await db.execute({ sql: "SELECT COUNT(*) AS n FROM site_credentials WHERE key_id <> ?", args: [vault.currentKeyId] });
  return { reencrypted, unreadable, remaining: Number(left.rows[0]?.["n"] ?? 0) };
}

function summary(r: Row, now: number): CredentialSummary {
  return {
    id: str(r, "id"),
    site_id: str(r, "site_id"),
    target: str(r, "target"),
    kind: str(r, "kind") as CredentialKind,
    username: str(r, "username"),
    created_by: str(r, "created_by"),
    created_at: str(r, "created_at"),
    updated_at: str(r, "updated_at"),
    last_validation: lastValidation(r, now),
  };
}

/** The request stored in the row, completed with the order's state and result. */
function lastValidation(r: Row, now: number): LastValidation | null {
  const raw = strOrNull(r, "last_validation");
  if (raw === null) return null;
  const parsed = validationRequestSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) return null;
  const req = parsed.data;
  const base = { ...req, completed_at: null, code: null, detail: null };
  const status = strOrNull(r, "order_status");
  if (status === "done") {
    const result = parseResult(strOrNull(r, "order_result"));
    const ok = result.outcome === "success";
    const m = /^([a-z_]{2,40}): /.exec(result.detail);
    return {
      ...base,
      status: ok ? "success" : "failed",
      completed_at: strOrNull(r, "order_completed_at"),
      code: ok ? null : (m?.[1] ?? result.outcome),
      detail: result.detail,
    };
  }
  const expires = strOrNull(r, "order_expires_at");
  if (status === null || status === "cancelled" || (expires !== null && expires <= isoTime(now))) {
    return { ...base, status: "expired", code: "expired", detail: "the appliance did not run the validation before the order expired (is it online?)" };
  }
  return { ...base, status: "pending" };
}

function parseResult(text: string | null): { outcome: string; detail: string } {
  try {
    const v = JSON.parse(text ?? "null") as { outcome?: unknown; detail?: unknown } | null;
    return { outcome: typeof v?.outcome === "string" ? v.outcome : "failed", detail: typeof v?.detail === "string" ? v.detail : "" };
  } catch {
    return { outcome: "failed", detail: "" };
  }
}
