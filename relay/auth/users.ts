/**
 * Users: creation with a tenant that matches the role, look-ups, and the principal a user acts as. A user's
 * tenant ids come from the database, never from a request.
 */
import { z } from "zod";
import { EMAIL_PATTERN, isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb, type Row } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { ROLES, type Principal, type Role } from "../http/types.ts";
import { checkPasswordPolicy, hashPassword } from "./password.ts";

export const emailSchema = z.string().trim().toLowerCase().min(3).max(254).regex(EMAIL_PATTERN, "expected an e-mail address");

export const newUserSchema = z.strictObject({
  email: emailSchema,
  name: z.string().trim().min(1).max(200),
  role: z.enum(ROLES),
  partner_id: z.string().min(1).max(100).nullish(),
  org_id: z.string().min(1).max(100).nullish(),
  /** Client users may have none: they log in by magic link. */
  password: z.string().nullish(),
});
export type NewUser = z.input<typeof newUserSchema>;

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  msp_id: string;
  partner_id: string | null;
  org_id: string | null;
  totp_enabled: boolean;
  disabled: boolean;
  created_at: string;
}

export function userFromRow(r: Row): UserRecord {
  return {
    id: str(r, "id"),
    email: str(r, "email"),
    name: str(r, "name"),
    role: str(r, "role") as Role,
    msp_id: str(r, "msp_id"),
    partner_id: strOrNull(r, "partner_id"),
    org_id: strOrNull(r, "org_id"),
    totp_enabled: num(r, "totp_enabled") === 1,
    disabled: num(r, "disabled") === 1,
    created_at: str(r, "created_at"),
  };
}

/** The principal a user acts as (for a session). */
export function userPrincipal(u: UserRecord): Principal {
  return { kind: "session", user_id: u.id, api_key_id: null, key_scope: null, email: u.email, name: u.name, role: u.role, msp_id: u.msp_id, partner_id: u.partner_id, org_id: u.org_id };
}

/**
 * Creates a user under `msp_id`. Partner roles need a partner of that MSP; client roles an organisation of
 * that MSP (its partner is recorded too). MSP and partner users need a password; client users may use magic
 * links only.
 *
 * An e-mail address is one login on the whole relay (login and magic links find the account by address alone),
 * so an address in use anywhere is refused with `user_exists`, and that answer tells the creator the address
 * has an account somewhere. Closing that needs logins separate from tenant memberships (one login invited into
 * several tenants), which this model does not have yet.
 */
export async function createUser(db: RelayDb, msp_id: string, input: unknown, env: Env): Promise<UserRecord> {
  const u = parseSchema(newUserSchema, input, "user");
  if ((await db.execute({ sql: "SELECT 1 FROM msps WHERE id = ?", args: [msp_id] })).rows.length === 0) throw new RelayError("tenant_unknown", `MSP ${JSON.stringify(msp_id)} does not exist`);
  let partnerId: string | null = null;
  let orgId: string | null = null;
  if (u.role.startsWith("partner_")) {
    if (!u.partner_id) throw new RelayError("schema", `partner_id: required for role ${u.role}`);
    if (u.org_id) throw new RelayError("schema", `org_id: role ${u.role} belongs to a partner, not to an organisation: leave org_id out`);
    const rs = await db.execute({ sql: "SELECT 1 FROM partners WHERE id = ? AND msp_id = ?", args: [u.partner_id, msp_id] });
    if (rs.rows.length === 0) throw new RelayError("tenant_unknown", `partner ${JSON.stringify(u.partner_id)} does not exist under this MSP`);
    partnerId = u.partner_id;
  } else if (u.role.startsWith("client_")) {
    if (!u.org_id) throw new RelayError("schema", `org_id: required for role ${u.role}`);
    if (u.partner_id) throw new RelayError("schema", `partner_id: a clinic user's partner is its organisation's: leave partner_id out`);
    const rs = await db.execute({ sql: "SELECT partner_id FROM organisations WHERE id = ? AND msp_id = ?", args: [u.org_id, msp_id] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("tenant_unknown", `organisation ${JSON.stringify(u.org_id)} does not exist under this MSP`);
    orgId = u.org_id;
    partnerId = strOrNull(row, "partner_id");
  } else if (u.partner_id || u.org_id) {
    throw new RelayError("schema", `role ${u.role} is MSP-wide: leave partner_id and org_id out`);
  }
  const needsPassword = !u.role.startsWith("client_");
  if (needsPassword && !u.password) throw new RelayError("schema", `password: required for role ${u.role} (only client users log in by magic link alone)`);
  const hash = u.password ? await hashPassword(checkPasswordPolicy(u.password)) : null;
  const id = newId("usr", env.random);
  const now = isoTime(env.clock.now());
  try {
    await db.execute({
      sql: "INSERT INTO users (id, email, name, role, msp_id, partner_id, org_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      args: [id, u.email, u.name, u.role, msp_id, partnerId, orgId, hash, now],
    });
  } catch (e) {
    if (/UNIQUE constraint failed: users\.email/.test(String((e as Error).message))) throw new RelayError("user_exists", `A user with e-mail ${u.email} already exists`);
    throw e;
  }
  return { id, email: u.email, name: u.name, role: u.role, msp_id, partner_id: partnerId, org_id: orgId, totp_enabled: false, disabled: false, created_at: now };
}

export async function userById(db: RelayDb, id: string): Promise<UserRecord | null> {
  const rs = await db.execute({ sql: "SELECT * FROM users WHERE id = ?", args: [id] });
  return rs.rows[0] ? userFromRow(rs.rows[0]) : null;
}

/** A user as GET /api/users lists it: the record plus when they last signed in (their newest session), if ever. */
export interface UserListing extends UserRecord {
  last_login_at: string | null;
}

/** The users of `where` (a condition on `u`), by e-mail, each with the start of their newest session. */
export async function listUsers(db: RelayDb, where: { sql: string; args: (string | number)[] }): Promise<UserListing[]> {
  const rs = await db.execute({
    sql: `SELECT u.*, (SELECT max(s.created_at) FROM sessions s WHERE s.user_id = u.id) AS last_login_at FROM users u WHERE ${where.sql} ORDER BY u.email`,
    args: where.args,
  });
  return rs.rows.map((r) => ({ ...userFromRow(r), last_login_at: strOrNull(r, "last_login_at") }));
}

/**
 * Disables user `id` (already known to be in the actor's MSP). Refused with 409 `user_change_refused`, and
 * nothing changes, for one's own account (API keys never get here: the route is people-only) and for the MSP's last active
 * MSP admin; the guard sits in the UPDATE itself, so two admins disabling each other at once cannot both
 * succeed. Answers whether anything changed (false: the user was already disabled).
 */
export async function disableUser(db: RelayDb, actor: Principal, id: string): Promise<boolean> {
  if (id === actor.user_id) throw new RelayError("user_change_refused", "You cannot disable your own account: ask another MSP admin", { user_id: id, reason: "self" });
  const rs = await db.execute({
    sql: `UPDATE users SET disabled = 1 WHERE id = ? AND msp_id = ? AND disabled = 0
            AND (role <> 'msp_admin' OR EXISTS (SELECT 1 FROM users o WHERE o.msp_id = users.msp_id AND o.role = 'msp_admin' AND o.disabled = 0 AND o.id <> users.id))`,
    args: [id, actor.msp_id],
  });
  if (rs.rowsAffected === 1) return true;
  const user = await userById(db, id);
  if (!user || user.msp_id !== actor.msp_id) throw new RelayError("not_found", `No user ${JSON.stringify(id.slice(0, 100))} here`);
  if (user.disabled) return false;
  throw new RelayError("user_change_refused", `${user.email} is the last active MSP admin: make another user an MSP admin before disabling them, or nobody could administer the MSP`, {
    user_id: id,
    reason: "last_msp_admin",
  });
}

/** Roles a principal may create: MSP admins anything under their MSP; partner admins their partner's and client roles; client owners viewers. */
export function mayCreateRole(creator: Principal, role: Role): boolean {
  if (creator.role === "msp_admin") return true;
  if (creator.role === "partner_admin") return role.startsWith("partner_") || role.startsWith("client_");
  if (creator.role === "client_owner") return role === "client_viewer" || role === "client_owner";
  return false;
}
