/**
 * API keys, for automation and AI assistants (MCP): `osk_` + 32 random bytes (base64url), shown once at
 * creation, stored as SHA-256, revocable. A partner key acts with the partner role it was created with,
 * scoped to its partner; an MSP key with an MSP role, scoped to the MSP. Client users have no API keys.
 *
 * Scope: an `api` key (the default) acts with its role on the API, except on routes only a signed-in person
 * may use (RouteSpec.peopleOnly: approvals, users, keys); an `assistant` key may only call the MCP endpoint
 * (RouteSpec.assistantKeys), so an AI assistant can read and propose, never approve or send an order.
 *
 * Expiry: every new key expires, by default API_KEY_DEFAULT_DAYS after it is made, at most API_KEY_MAX_DAYS
 * (`expires_in_days`); an expired key is refused with 401 `api_key_expired` and is replaced, not extended.
 * A key that is never rotated is a key whose leak is never noticed, so there are no keys without an end;
 * keys made before expiry existed have none (`expires_at: null`) and are listed so.
 */
import { z } from "zod";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { API_KEY_SCOPES, type ApiKeyScope, type Principal, type Role } from "../http/types.ts";
import { newToken, tokenSha256 } from "./token.ts";

export const API_KEY_PREFIX = "osk_";
/** A new key's lifetime unless its creator picks another: the rotation period security reviews commonly expect. */
export const API_KEY_DEFAULT_DAYS = 90;
/** The longest lifetime a key may be given: a year, so every key is rotated at least once a year. */
export const API_KEY_MAX_DAYS = 365;
const DAY_MS = 86_400_000;
const API_KEY_PATTERN = /^osk_[A-Za-z0-9_-]{43}$/;

export const newApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(["msp_admin", "msp_tech", "partner_admin", "partner_tech", "partner_billing"]).optional(),
  scope: z.enum(API_KEY_SCOPES).optional(),
  expires_in_days: z
    .int()
    .min(1)
    .max(API_KEY_MAX_DAYS)
    .optional()
    .describe(`days until the key stops working (default ${API_KEY_DEFAULT_DAYS}, at most ${API_KEY_MAX_DAYS})`),
});

/** What creating a key answers: the key text (this once) and when it stops working. */
export const createdApiKeySchema = z.object({ id: z.string(), key: z.string(), expires_at: z.string() });
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  scope: ApiKeyScope;
  partner_id: string | null;
  created_by: string;
  created_at: string;
  last_used: string | null;
  revoked_at: string | null;
  /** When it stops working; null for a key made before keys expired (it never does). */
  expires_at: string | null;
}

/**
 * Creates a key for a partner (`partnerId`) or for the creator's MSP (null); returns the key text once. A
 * partner key takes a partner role (default partner_tech), an MSP key an MSP role (default msp_tech).
 */
export async function createApiKey(db: RelayDb, creator: Principal, partnerId: string | null, input: unknown, env: Env): Promise<CreatedApiKey> {
  const parsed = parseSchema(newApiKeySchema, input, "api key");
  const k = { ...parsed, role: parsed.role ?? (partnerId ? "partner_tech" : "msp_tech"), scope: parsed.scope ?? "api" };
  if (k.scope === "assistant" && partnerId !== null) throw new RelayError("schema", "scope: assistant keys are for MSP staff (the MCP endpoint accepts no partner key)");
  if (partnerId !== null && !k.role.startsWith("partner_")) throw new RelayError("schema", `role: a partner's key takes a partner role: current value is ${k.role}`);
  if (partnerId === null && !k.role.startsWith("msp_")) throw new RelayError("schema", `role: an MSP key takes an MSP role: current value is ${k.role}`);
  if (k.role === "msp_admin" && creator.role !== "msp_admin") throw new RelayError("forbidden", "Only an MSP admin may create an msp_admin key");
  const key = API_KEY_PREFIX + newToken(env.random);
  const id = newId("key", env.random);
  const now = env.clock.now();
  const expiresAt = isoTime(now + (k.expires_in_days ?? API_KEY_DEFAULT_DAYS) * DAY_MS);
  await db.execute({
    sql: "INSERT INTO api_keys (id, key_sha256, name, role, scope, msp_id, partner_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    args: [id, tokenSha256(key), k.name, k.role, k.scope, creator.msp_id, partnerId, creator.user_id, isoTime(now), expiresAt],
  });
  return { id, key, expires_at: expiresAt };
}

/** A partner's keys (`partnerId`), or an MSP's own keys (null partner, `mspId`). */
export async function listApiKeys(db: RelayDb, partnerId: string | null, mspId?: string): Promise<ApiKeyRecord[]> {
  const rs =
    partnerId !== null
      ? await db.execute({ sql: "SELECT * FROM api_keys WHERE partner_id = ? ORDER BY created_at", args: [partnerId] })
      : await db.execute({ sql: "SELECT * FROM api_keys WHERE msp_id = ? AND partner_id IS NULL ORDER BY created_at", args: [mspId ?? "-"] });
  return rs.rows.map((r) => ({
    id: str(r, "id"),
    name: str(r, "name"),
    role: str(r, "role") as Role,
    scope: str(r, "scope") as ApiKeyScope,
    partner_id: strOrNull(r, "partner_id"),
    created_by: str(r, "created_by"),
    created_at: str(r, "created_at"),
    last_used: strOrNull(r, "last_used"),
    revoked_at: strOrNull(r, "revoked_at"),
    expires_at: strOrNull(r, "expires_at"),
  }));
}

/** Revokes a key; answers whether it changed anything (false: it was revoked already). */
export async function revokeApiKey(db: RelayDb, id: string, clock: { now(): number }): Promise<boolean> {
  const rs = await db.execute({ sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", args: [isoTime(clock.now()), id] });
  return rs.rowsAffected > 0;
}

/** Whether a bearer value looks like an API key (rather than an appliance token). */
export function isApiKey(bearer: string): boolean {
  return bearer.startsWith(API_KEY_PREFIX);
}

/** The principal behind an API key; RelayError 401 when unknown, revoked or expired. */
export async function apiKeyPrincipal(db: RelayDb, key: string, clock: { now(): number }): Promise<Principal> {
  if (!API_KEY_PATTERN.test(key)) throw new RelayError("token_unknown", "Unknown API key");
  const rs = await db.execute({
    sql: "SELECT k.*, u.email, u.name AS user_name, u.disabled FROM api_keys k JOIN users u ON u.id = k.created_by WHERE k.key_sha256 = ?",
    args: [tokenSha256(key)],
  });
  const row = rs.rows[0];
  if (!row) throw new RelayError("token_unknown", "Unknown API key");
  if (strOrNull(row, "revoked_at") !== null) throw new RelayError("api_key_revoked", "This API key has been revoked", { api_key_id: str(row, "id") });
  // A key acts for the user who made it: once that user is disabled, so are their keys.
  if (num(row, "disabled") === 1) throw new RelayError("api_key_revoked", `This API key's owner (${str(row, "email")}) has been disabled`, { api_key_id: str(row, "id"), reason: "owner_disabled" });
  const now = isoTime(clock.now());
  const expiresAt = strOrNull(row, "expires_at");
  if (expiresAt !== null && expiresAt <= now) {
    throw new RelayError("api_key_expired", `This API key expired at ${expiresAt}: an administrator can create a new one (keys are replaced, not extended)`, { api_key_id: str(row, "id"), expires_at: expiresAt });
  }
  await db.execute({ sql: "UPDATE api_keys SET last_used = ? WHERE id = ?", args: [now, str(row, "id")] });
  return {
    kind: "api_key",
    user_id: str(row, "created_by"),
    api_key_id: str(row, "id"),
    key_scope: str(row, "scope") as ApiKeyScope,
    email: str(row, "email"),
    name: `API key ${str(row, "name")}`,
    role: str(row, "role") as Role,
    msp_id: str(row, "msp_id"),
    partner_id: strOrNull(row, "partner_id"),
    org_id: null,
  };
}
