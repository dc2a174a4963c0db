/**
 * Browser sessions: a random session id in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), stored
 * only as its SHA-256, with an absolute lifetime and an idle timeout, and a per-session CSRF token that every
 * state-changing request must echo in `X-CSRF-Token` (synchronizer token; the SameSite cookie is the second
 * layer). Logging out or disabling the user ends the session at once.
 */
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { newToken, tokenSha256 } from "./token.ts";
import { userFromRow, userPrincipal } from "./users.ts";

export const SESSION_COOKIE = "osiris_session";
export const CSRF_HEADER = "X-CSRF-Token";
/** A session ends 12 h after login at the latest… */
export const SESSION_MAX_AGE_MS = 12 * 3600_000;
/** …or after 2 h without a request. */
export const SESSION_IDLE_MS = 2 * 3600_000;
/** last_seen is written at most this often. */
const TOUCH_INTERVAL_MS = 60_000;

export interface NewSession {
  /** The cookie value (never stored). */
  sessionId: string;
  csrfToken: string;
  expiresAt: string;
}

export async function createSession(db: RelayDb, userId: string, env: Env): Promise<NewSession> {
  const sessionId = newToken(env.random);
  const csrfToken = newToken(env.random);
  const now = env.clock.now();
  const expiresAt = isoTime(now + SESSION_MAX_AGE_MS);
  await db.execute({
    sql: "INSERT INTO sessions (id_sha256, user_id, csrf_token, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    args: [tokenSha256(sessionId), userId, csrfToken, isoTime(now), isoTime(now), expiresAt],
  });
  return { sessionId, csrfToken, expiresAt };
}

export interface ActiveSession {
  principal: Principal;
  csrfToken: string;
  idSha256: string;
}

/** The session behind a cookie value; RelayError 401 when unknown, ended, idle too long, or the user is disabled. */
export async function sessionFor(db: RelayDb, sessionId: string, clock: { now(): number }): Promise<ActiveSession> {
  const idSha256 = tokenSha256(sessionId);
  const rs = await db.execute({ sql: "SELECT s.csrf_token, s.last_seen, s.expires_at, s.revoked_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ?", args: [idSha256] });
  const row = rs.rows[0];
  if (!row) throw new RelayError("session_expired", "Your session is unknown or has ended: log in again");
  const now = clock.now();
  if (strOrNull(row, "revoked_at") !== null) throw new RelayError("session_expired", "Your session was ended (logged out): log in again");
  if (now >= parseIsoTime(str(row, "expires_at"))) throw new RelayError("session_expired", "Your session has expired: log in again");
  const lastSeen = parseIsoTime(str(row, "last_seen"));
  if (now - lastSeen >= SESSION_IDLE_MS) throw new RelayError("session_expired", "Your session ended after 2 hours without activity: log in again");
  const user = userFromRow(row);
  if (user.disabled) throw new RelayError("session_expired", "This account has been disabled");
  if (now - lastSeen >= TOUCH_INTERVAL_MS) await db.execute({ sql: "UPDATE sessions SET last_seen = ? WHERE id_sha256 = ?", args: [isoTime(now), idSha256] });
  return { principal: userPrincipal(user), csrfToken: str(row, "csrf_token"), idSha256 };
}

export async function endSession(db: RelayDb, idSha256: string, clock: { now(): number }): Promise<void> {
  await db.execute({ sql: "UPDATE sessions SET revoked_at = ? WHERE id_sha256 = ? AND revoked_at IS NULL", args: [isoTime(clock.now()), idSha256] });
}

/** Ends every session of a user (password change, disable). */
export async function endUserSessions(db: RelayDb, userId: string, clock: { now(): number }): Promise<void> {
  await db.execute({ sql: "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", args: [isoTime(clock.now()), userId] });
}

/** The Set-Cookie value for a new session (Secure when the relay is reached over HTTPS). */
export function sessionCookie(sessionId: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_MS / 1000}${secure ? "; Secure" : ""}`;
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
}

/** The session cookie's value from a Cookie header, or null. */
export function readSessionCookie(header: string | undefined | null): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === SESSION_COOKIE) {
      const value = v.join("=");
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
    }
  }
  return null;
}
