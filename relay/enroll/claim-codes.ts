/**
 * Claim codes in the database: created for a site by an MSP or partner user, single use, expiring (30 days by
 * default), revocable. `checkClaimCode` gives the reason a code cannot be used, for enrollment to refuse with.
 */
import { isoTime, newId } from "../../protocol/ids.ts";
import { str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { siteExists } from "../tenants/tenants.ts";
import { claimCodeSha256, newClaimCode, normaliseClaimCode } from "./claim-code.ts";

/** Default lifetime of a claim code: long enough to ship a box and have someone plug it in. */
export const DEFAULT_CLAIM_CODE_TTL_MS = 30 * 24 * 60 * 60_000;
/** Longest lifetime allowed: an unused code is a standing invitation. */
export const MAX_CLAIM_CODE_TTL_MS = 90 * 24 * 60 * 60_000;

export interface CreatedClaimCode {
  id: string;
  /** The code itself: shown once, never stored. */
  code: string;
  site_id: string;
  expires_at: string;
}

/** Creates a claim code for a site. */
export async function createClaimCode(db: RelayDb, input: { site_id: string; created_by: string; ttl_ms?: number }, env: Env): Promise<CreatedClaimCode> {
  const ttl = input.ttl_ms ?? DEFAULT_CLAIM_CODE_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_CLAIM_CODE_TTL_MS) {
    throw new RangeError(`Cannot create a claim code as its lifetime must be 1..${MAX_CLAIM_CODE_TTL_MS} ms: current value is ${input.ttl_ms}`);
  }
  if (!input.created_by || input.created_by.length > 200) throw new RelayError("schema", "created_by: must name who created the code (1 to 200 characters)");
  const id = newId("claim", env.random);
  const code = newClaimCode(env.random);
  const now = env.clock.now();
  const expires_at = isoTime(now + ttl);
  await db.transaction(async (tx) => {
    if (!(await siteExists(tx, input.site_id))) throw new RelayError("site_unknown", `site ${JSON.stringify(input.site_id)} does not exist`);
    await tx.execute({
      sql: "INSERT INTO claim_codes (id, code_sha256, site_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      args: [id, claimCodeSha256(code), input.site_id, input.created_by, isoTime(now), expires_at],
    });
  });
  return { id, code, site_id: input.site_id, expires_at };
}

/** Revokes a claim code by its id or the code itself; idempotent. RelayError `claim_code_unknown` if none. */
export async function revokeClaimCode(db: RelayDb, which: { id: string } | { code: string }, env: Pick<Env, "clock">): Promise<{ id: string; revoked_at: string }> {
  const now = isoTime(env.clock.now());
  const where = "id" in which ? { sql: "id = ?", arg: which.id } : { sql: "code_sha256 = ?", arg: claimCodeSha256(which.code) };
  return db.transaction(async (tx) => {
    const rs = await tx.execute({ sql: `SELECT id, revoked_at, used_at, used_by FROM claim_codes WHERE ${where.sql}`, args: [where.arg] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("claim_code_unknown", "No such claim code");
    const id = str(row, "id");
    const already = strOrNull(row, "revoked_at");
    if (already) return { id, revoked_at: already };
    // A used code can enroll nothing more; "revoking" it would only read as if the appliance it enrolled were.
    const usedAt = strOrNull(row, "used_at");
    if (usedAt) throw new RelayError("claim_code_used", `Claim code ${id} was already used at ${usedAt} by appliance ${str(row, "used_by")} and can enroll nothing more: to remove that appliance, revoke the appliance`, { claim_code_id: id });
    await tx.execute({ sql: "UPDATE claim_codes SET revoked_at = ? WHERE id = ?", args: [now, id] });
    return { id, revoked_at: now };
  });
}

/**
 * The usable claim code for `code` at `now`, or RelayError with the reason it cannot be used:
 * `claim_code_unknown` (404), `claim_code_revoked`, `claim_code_used`, `claim_code_expired` (410).
 */
export async function checkClaimCode(tx: Tx, code: string, now: number): Promise<{ id: string; site_id: string }> {
  const normalised = normaliseClaimCode(code);
  if (normalised === null) throw new RelayError("claim_code_unknown", "Unknown claim code: it is not a well-formed code (20 letters and digits, e.g. 7KQ2M-XH3PD-0W9RT-ZB4NC)");
  const rs = await tx.execute({ sql: "SELECT * FROM claim_codes WHERE code_sha256 = ?", args: [claimCodeSha256(normalised)] });
  const row = rs.rows[0];
  if (!row) throw new RelayError("claim_code_unknown", "Unknown claim code: check it was typed correctly, or ask for a new one");
  const id = str(row, "id");
  if (strOrNull(row, "revoked_at")) throw new RelayError("claim_code_revoked", `Claim code was revoked at ${str(row, "revoked_at")}; ask for a new one`, { claim_code_id: id });
  if (strOrNull(row, "used_at")) throw new RelayError("claim_code_used", `Claim code was already used at ${str(row, "used_at")}; each code enrolls one appliance`, { claim_code_id: id });
  if (isoTime(now) >= str(row, "expires_at")) throw new RelayError("claim_code_expired", `Claim code expired at ${str(row, "expires_at")}; ask for a new one`, { claim_code_id: id });
  return { id, site_id: str(row, "site_id") };
}
