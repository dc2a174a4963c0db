/**
 * Password login with lockout, the optional TOTP step, and magic links for client users.
 *
 * Lockout: after MAX_FAILED_LOGINS wrong passwords (or TOTP codes) in a row the account is locked for
 * LOCKOUT_MS (423 with Retry-After); the per-address rate limit of public routes comes on top. Unknown
 * e-mails, disabled accounts and wrong passwords all answer the same `login_failed` after the same scrypt
 * work, so the answer does not tell which e-mails exist.
 *
 * Magic links: single use, valid 30 minutes, stored as SHA-256; requesting one always answers 202 whether
 * or not the address belongs to a client user (503 `mail_unavailable` when the relay cannot send mail at
 * all). The link carries the token in the URL fragment (never sent to a server, a log or a Referer); the
 * login page posts it back to consume it.
 */
import { z } from "zod";
import { isoTime, MAGIC_LINK_TOKEN_PATTERN, parseIsoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env, RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { audit } from "./audit.ts";
import { DUMMY_HASH, MAX_PASSWORD_LENGTH, verifyPassword } from "./password.ts";
import { createSession, type NewSession } from "./sessions.ts";
import { newToken, tokenSha256 } from "./token.ts";
import { matchTotp } from "./totp.ts";
import { emailSchema, userFromRow, userPrincipal, type UserRecord } from "./users.ts";

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;
export const MAGIC_LINK_TTL_MS = 30 * 60_000;

export const loginRequestSchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  totp_code: z.string().max(12).optional(),
});

export interface LoginResult {
  user: UserRecord;
  session: NewSession;
}

const failed = () => new RelayError("login_failed", "E-mail or password is wrong");

async function recordFailure(db: RelayDb, userId: string, failures: number, now: number): Promise<never> {
  if (failures + 1 >= MAX_FAILED_LOGINS) {
    await db.execute({ sql: "UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?", args: [isoTime(now + LOCKOUT_MS), userId] });
    throw new RelayError("account_locked", `Too many failed logins: this account is locked for ${LOCKOUT_MS / 60_000} minutes`, { retry_after_s: LOCKOUT_MS / 1000 });
  }
  await db.execute({ sql: "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?", args: [userId] });
  throw failed();
}

export async function loginWithPassword(deps: RelayDeps, input: unknown): Promise<LoginResult> {
  const req = parseSchema(loginRequestSchema, input, "login");
  const rs = await deps.db.execute({ sql: "SELECT * FROM users WHERE email = ?", args: [req.email] });
  const row = rs.rows[0];
  const hash = row ? strOrNull(row, "password_hash") : null;
  if (!row || hash === null || num(row, "disabled") === 1) {
    await verifyPassword(req.password, DUMMY_HASH);
    throw failed();
  }
  const now = deps.clock.now();
  const lockedUntil = strOrNull(row, "locked_until");
  if (lockedUntil !== null && parseIsoTime(lockedUntil) > now) {
    const retry = Math.ceil((parseIsoTime(lockedUntil) - now) / 1000);
    throw new RelayError("account_locked", `Too many failed logins: this account is locked for another ${Math.ceil(retry / 60)} minute(s)`, { retry_after_s: retry });
  }
  const userId = str(row, "id");
  if (!(await verifyPassword(req.password, hash))) return recordFailure(deps.db, userId, num(row, "failed_logins"), now);
  if (num(row, "totp_enabled") === 1) {
    if (req.totp_code === undefined) throw new RelayError("totp_required", "Enter the 6-digit code from your authenticator app");
    const step = matchTotp(str(row, "totp_secret"), req.totp_code, now);
    if (step === null || step <= num(row, "totp_last_step")) return recordFailure(deps.db, userId, num(row, "failed_logins"), now);
    await deps.db.execute({ sql: "UPDATE users SET totp_last_step = ? WHERE id = ?", args: [step, userId] });
  }
  await deps.db.execute({ sql: "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", args: [userId] });
  const user = userFromRow(row);
  const session = await createSession(deps.db, userId, deps);
  await audit(deps.db, deps.clock, userPrincipal(user), { action: "user.login", target: userId, details: { method: "password", totp: user.totp_enabled } });
  return { user, session };
}

export const magicLinkRequestSchema = z.strictObject({ email: emailSchema });
export const magicLinkConsumeSchema = z.strictObject({ token: z.string().regex(MAGIC_LINK_TOKEN_PATTERN, "expected the token from the e-mailed link") });

/** The portal URL a magic link points to. */
export function magicLinkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/login#magic=${token}`;
}

/**
 * E-mails a sign-in link to a client user. Unknown or non-client addresses get nothing (and the caller the
 * same 202). The e-mail names no clinic and no patient: just the link.
 */
export async function requestMagicLink(deps: RelayDeps, input: unknown): Promise<void> {
  const { email } = parseSchema(magicLinkRequestSchema, input, "magic link request");
  // Without mail nobody gets a link: saying so tells nothing about any address, and spares people the wait.
  if (!deps.mailer || !deps.publicUrl) {
    deps.log.error("magic_link_not_sent", { reason: deps.mailer ? "relay public URL unknown" : "SMTP not configured" });
    throw new RelayError("mail_unavailable", "Sign-in links cannot be sent: this relay has no e-mail set up. Ask your IT provider to set it up, or for a password");
  }
  const rs = await deps.db.execute({ sql: "SELECT id, role, disabled FROM users WHERE email = ?", args: [email] });
  const row = rs.rows[0];
  if (!row || !str(row, "role").startsWith("client_") || num(row, "disabled") === 1) return;
  const token = newToken(deps.random);
  const now = deps.clock.now();
  await deps.db.execute({
    sql: "INSERT INTO magic_links (token_sha256, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    args: [tokenSha256(token), str(row, "id"), isoTime(now), isoTime(now + MAGIC_LINK_TTL_MS)],
  });
  const link = magicLinkUrl(deps.publicUrl, token);
  try {
    await deps.mailer.send({
      to: email,
      subject: "Your OsirisCare sign-in link",
      text: `Use this link within 30 minutes to sign in to your compliance portal. It works once.\n\n${link}\n\nIf you did not ask to sign in, ignore this e-mail.\n`,
    });
    deps.log.info("magic_link_sent", { user_id: str(row, "id") });
  } catch (e) {
    deps.log.error("magic_link_not_sent", { reason: (e as Error).message, user_id: str(row, "id") });
  }
}

/** Exchanges a magic-link token for a session (once, within its 30 minutes). */
export async function consumeMagicLink(deps: RelayDeps, input: unknown): Promise<LoginResult> {
  const { token } = parseSchema(magicLinkConsumeSchema, input, "magic link");
  const now = deps.clock.now();
  const hash = tokenSha256(token);
  const userId = await deps.db.transaction(async (tx) => {
    const rs = await tx.execute({ sql: "SELECT user_id, expires_at, used_at FROM magic_links WHERE token_sha256 = ?", args: [hash] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("magic_link_invalid", "This sign-in link is not valid: ask for a new one");
    if (strOrNull(row, "used_at") !== null) throw new RelayError("magic_link_invalid", "This sign-in link was already used: ask for a new one");
    if (parseIsoTime(str(row, "expires_at")) <= now) throw new RelayError("magic_link_invalid", "This sign-in link has expired (links last 30 minutes): ask for a new one");
    await tx.execute({ sql: "UPDATE magic_links SET used_at = ? WHERE token_sha256 = ?", args: [isoTime(now), hash] });
    return str(row, "user_id");
  });
  const rs = await deps.db.execute({ sql: "SELECT * FROM users WHERE id = ?", args: [userId] });
  const user = userFromRow(rs.rows[0]!);
  if (user.disabled) throw new RelayError("magic_link_invalid", "This account has been disabled");
  const session = await createSession(deps.db, userId, deps);
  await audit(deps.db, deps.clock, userPrincipal(user), { action: "user.login", target: userId, details: { method: "magic_link" } });
  return { user, session };
}

/** Starts TOTP enrolment: stores a new (not yet enabled) secret. */
export async function setTotpSecret(db: RelayDb, userId: string, secret: string): Promise<void> {
  // Never replace an enabled second factor: a stolen session must not be able to remove it.
  const rs = await db.execute({ sql: "UPDATE users SET totp_secret = ?, totp_enabled = 0 WHERE id = ? AND totp_enabled = 0", args: [secret, userId] });
  if (rs.rowsAffected === 0) throw new RelayError("forbidden", "TOTP is already on for this account; an MSP admin must reset it before a new authenticator can be set up");
}

/** Enables TOTP once the user proves the app produces codes for the stored secret. */
export async function enableTotp(db: RelayDb, env: Env, userId: string, code: string): Promise<void> {
  const rs = await db.execute({ sql: "SELECT totp_secret FROM users WHERE id = ?", args: [userId] });
  const secret = rs.rows[0] ? strOrNull(rs.rows[0], "totp_secret") : null;
  if (secret === null) throw new RelayError("bad_request", "Start TOTP setup first (POST /api/auth/totp/setup)");
  const step = matchTotp(secret, code, env.clock.now());
  if (step === null) throw new RelayError("schema", "code: does not match the authenticator app: check the phone's clock and try the next code");
  await db.execute({ sql: "UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?", args: [step, userId] });
}
