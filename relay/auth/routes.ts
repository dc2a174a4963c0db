/**
 * Routes of relay/auth/: login (password, TOTP, magic link), the current session, users, partner API keys,
 * partner branding and the audit log.
 */
import QRCode from "qrcode";
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { str, strOrNull } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { ANY_USER, ROLES, SITE_VIEWERS, type Principal, type RelayContext, type Role, type RouteSpec } from "../http/types.ts";
import { API_KEY_DEFAULT_DAYS, createApiKey, createdApiKeySchema, listApiKeys, newApiKeySchema, revokeApiKey } from "./api-keys.ts";
import { audit, listAudit, MAX_AUDIT_PAGE } from "./audit.ts";
import { brandingFor, brandingSchema, setBranding } from "./branding.ts";
import { consumeMagicLink, enableTotp, loginRequestSchema, loginWithPassword, magicLinkConsumeSchema, magicLinkRequestSchema, requestMagicLink, setTotpSecret, type LoginResult } from "./login.ts";
import { visibleOrgsWhere } from "./scope.ts";
import { clearedSessionCookie, endSession, endUserSessions, sessionCookie } from "./sessions.ts";
import { newTotpSecret } from "./totp.ts";
import { createUser, disableUser, listUsers, mayCreateRole, newUserSchema, userFromRow } from "./users.ts";

const SMALL_BODY = 4 * 1024;
const EMPTY_BODY = 1024;

const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  msp_id: z.string(),
  partner_id: z.string().nullable(),
  org_id: z.string().nullable(),
  totp_enabled: z.boolean(),
  disabled: z.boolean(),
  created_at: z.string(),
});
const sessionResponse = z.object({ user: userSchema, csrf_token: z.string(), branding: brandingSchema });

async function sessionAnswer(c: RelayContext, deps: RelayDeps, r: LoginResult): Promise<Response> {
  c.header("Set-Cookie", sessionCookie(r.session.sessionId, deps.secureCookies ?? false));
  return c.json({ user: r.user, csrf_token: r.session.csrfToken, branding: await brandingFor(deps.db, r.user.partner_id) });
}

const principal = (c: RelayContext): Principal => c.var.principal;

/** Creating a user inside one's own tenant only: partner admins for their partner and its organisations, client owners for their organisation. */
async function checkUserTenant(c: RelayContext, deps: RelayDeps, input: z.output<typeof newUserSchema>): Promise<void> {
  const p = principal(c);
  if (!mayCreateRole(p, input.role)) throw new RelayError("forbidden", `Your role (${p.role}) may not create ${input.role} users`);
  if (p.role === "partner_admin") {
    if (input.role.startsWith("partner_") && input.partner_id !== p.partner_id) throw new RelayError("forbidden", "partner_id: you may only create users of your own partner");
    if (input.role.startsWith("client_")) {
      const rs = await deps.db.execute({ sql: "SELECT 1 FROM organisations WHERE id = ? AND partner_id = ?", args: [input.org_id ?? "", p.partner_id ?? ""] });
      if (rs.rows.length === 0) throw new RelayError("forbidden", "org_id: you may only create users of organisations you serve");
    }
  }
  if (p.role === "client_owner" && input.org_id !== p.org_id) throw new RelayError("forbidden", "org_id: you may only create users of your own organisation");
}

// A malformed page cursor or size is refused, not ignored: the caller would get another page than asked.
const auditQuery = z.object({
  site_id: z.string().max(100).optional().describe("only this site's entries"),
  before: z.string().regex(/^[1-9]\d{0,14}$/, "expected an entry's seq (a whole number ≥ 1)").optional().describe("page cursor: entries older than this seq"),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, `expected 1 to ${MAX_AUDIT_PAGE} entries`)
    .refine((v) => Number(v) >= 1 && Number(v) <= MAX_AUDIT_PAGE, `expected 1 to ${MAX_AUDIT_PAGE} entries`)
    .optional()
    .describe(`page size, 1 to ${MAX_AUDIT_PAGE}`),
});

export const AUTH_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/api/auth/login",
    callers: ["public"],
    rateLimited: true,
    summary: "log in with e-mail, password and (if enabled) a TOTP code; sets the session cookie",
    maxBodyBytes: SMALL_BODY,
    request: loginRequestSchema,
    response: sessionResponse,
    handler: async (c, deps) => sessionAnswer(c, deps, await loginWithPassword(deps, parseJsonBody(c.var.body))),
  },
  {
    method: "POST",
    path: "/api/auth/magic-link",
    callers: ["public"],
    rateLimited: true,
    summary: "e-mail a client user a single-use sign-in link (202 whether or not the address is known; 503 when the relay has no e-mail set up)",
    maxBodyBytes: SMALL_BODY,
    request: magicLinkRequestSchema,
    handler: async (c, deps) => {
      await requestMagicLink(deps, parseJsonBody(c.var.body));
      return c.json({ status: "sent_if_known" }, 202);
    },
  },
  {
    method: "POST",
    path: "/api/auth/magic-link/consume",
    callers: ["public"],
    rateLimited: true,
    summary: "exchange a magic-link token for a session",
    maxBodyBytes: SMALL_BODY,
    request: magicLinkConsumeSchema,
    response: sessionResponse,
    handler: async (c, deps) => sessionAnswer(c, deps, await consumeMagicLink(deps, parseJsonBody(c.var.body))),
  },
  {
    method: "GET",
    path: "/api/auth/session",
    callers: ANY_USER,
    summary: "the signed-in user, the CSRF token to send with changes, and the partner branding to apply",
    maxBodyBytes: EMPTY_BODY,
    response: sessionResponse,
    handler: async (c, deps) => {
      const p = principal(c);
      const rs = await deps.db.execute({ sql: "SELECT * FROM users WHERE id = ?", args: [p.user_id] });
      const csrf = c.var.session_id_sha256
        ? str((await deps.db.execute({ sql: "SELECT csrf_token FROM sessions WHERE id_sha256 = ?", args: [c.var.session_id_sha256] })).rows[0]!, "csrf_token")
        : "";
      return c.json({ user: userFromRow(rs.rows[0]!), csrf_token: csrf, branding: await brandingFor(deps.db, p.partner_id) });
    },
  },
  {
    method: "POST",
    path: "/api/auth/logout",
    status: 204,
    callers: ANY_USER,
    summary: "end this session",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => {
      if (c.var.session_id_sha256) await endSession(deps.db, c.var.session_id_sha256, deps.clock);
      c.header("Set-Cookie", clearedSessionCookie(deps.secureCookies ?? false));
      return c.body(null, 204);
    },
  },
  {
    method: "POST",
    path: "/api/auth/totp/setup",
    callers: ANY_USER,
    peopleOnly: true,
    summary: "start TOTP enrolment: a new secret as text, otpauth URI and QR code (SVG)",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ secret: z.string(), otpauth_uri: z.string(), qr_svg: z.string() }),
    handler: async (c, deps) => {
      const p = principal(c);
      const { secret, uri } = newTotpSecret(p.email, deps.random);
      await setTotpSecret(deps.db, p.user_id, secret);
      await audit(deps.db, deps.clock, p, { action: "user.totp.setup", target: p.user_id });
      return c.json({ secret, otpauth_uri: uri, qr_svg: await QRCode.toString(uri, { type: "svg", margin: 1 }) });
    },
  },
  {
    method: "POST",
    path: "/api/auth/totp/enable",
    status: 204,
    callers: ANY_USER,
    peopleOnly: true,
    summary: "turn TOTP on by entering a current code from the authenticator app",
    maxBodyBytes: SMALL_BODY,
    request: z.strictObject({ code: z.string() }),
    handler: async (c, deps) => {
      const p = principal(c);
      const { code } = parseSchema(z.strictObject({ code: z.string().max(12) }), parseJsonBody(c.var.body), "totp");
      await enableTotp(deps.db, deps, p.user_id, code);
      await audit(deps.db, deps.clock, p, { action: "user.totp.enable", target: p.user_id });
      return c.body(null, 204);
    },
  },
  {
    method: "GET",
    path: "/api/users",
    callers: ["msp_admin", "partner_admin", "client_owner"],
    summary: "users the caller administers",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ users: z.array(userSchema.extend({ last_login_at: z.string().nullable() })) }),
    handler: async (c, deps) => {
      const p = principal(c);
      const orgs = visibleOrgsWhere(p);
      const where =
        p.role === "msp_admin"
          ? { sql: "u.msp_id = ?", args: [p.msp_id] }
          : p.role === "partner_admin"
            ? { sql: `u.msp_id = ? AND (u.partner_id = ? OR u.org_id IN (SELECT o.id FROM organisations o WHERE ${orgs.sql}))`, args: [p.msp_id, p.partner_id ?? "-", ...orgs.args] }
            : { sql: "u.msp_id = ? AND u.org_id = ?", args: [p.msp_id, p.org_id ?? "-"] };
      return c.json({ users: await listUsers(deps.db, where) });
    },
  },
  {
    method: "POST",
    path: "/api/users",
    status: 201,
    callers: ["msp_admin", "partner_admin", "client_owner"],
    peopleOnly: true,
    summary: "create a user in the caller's tenant (client users may have no password: they sign in by magic link)",
    maxBodyBytes: SMALL_BODY,
    request: newUserSchema,
    response: userSchema,
    handler: async (c, deps) => {
      const p = principal(c);
      const input = parseSchema(newUserSchema, parseJsonBody(c.var.body), "user");
      await checkUserTenant(c, deps, input);
      if (!input.password && !deps.mailer) {
        throw new RelayError("mail_unavailable", "This relay sends no e-mail (it was started without --smtp-url), so a user without a password could never sign in: give them a password, or ask the relay's operator to configure SMTP");
      }
      const user = await createUser(deps.db, p.msp_id, input, deps);
      await audit(deps.db, deps.clock, p, { action: "user.create", target: user.id, org_id: user.org_id, details: { email: user.email, role: user.role } });
      return c.json(user, 201);
    },
  },
  {
    method: "POST",
    path: "/api/users/:user_id/disable",
    status: 204,
    callers: ["msp_admin", "partner_admin", "client_owner"],
    peopleOnly: true,
    summary: "disable a user the caller administers (partner admins: their partner's staff and their clinics' users; clinic owners: their clinic's users) and end their sessions (409 user_change_refused for yourself or the MSP's last active MSP admin)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => {
      const id = c.req.param("user_id")!;
      if (!(await disableUser(deps.db, principal(c), id))) return c.body(null, 204);
      await endUserSessions(deps.db, id, deps.clock);
      await audit(deps.db, deps.clock, principal(c), { action: "user.disable", target: id });
      return c.body(null, 204);
    },
  },
  {
    method: "GET",
    path: "/api/partners/:partner_id/api-keys",
    callers: ["msp_admin", "partner_admin"],
    peopleOnly: true,
    summary: "a partner's API keys with when each expires (never the key text)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => c.json({ api_keys: await listApiKeys(deps.db, c.req.param("partner_id")!) }),
  },
  {
    method: "POST",
    path: "/api/partners/:partner_id/api-keys",
    status: 201,
    callers: ["msp_admin", "partner_admin"],
    peopleOnly: true,
    summary: `create a partner API key (it expires after ${API_KEY_DEFAULT_DAYS} days unless expires_in_days says otherwise); the key text is shown once in this answer`,
    maxBodyBytes: SMALL_BODY,
    request: newApiKeySchema.omit({ scope: true }).extend({ role: z.enum(["partner_admin", "partner_tech", "partner_billing"]).optional() }),
    response: createdApiKeySchema,
    handler: async (c, deps) => {
      const p = principal(c);
      const partnerId = c.req.param("partner_id")!;
      const created = await createApiKey(deps.db, p, partnerId, parseJsonBody(c.var.body), deps);
      await audit(deps.db, deps.clock, p, { action: "api_key.create", target: created.id, details: { partner_id: partnerId } });
      return c.json(created, 201);
    },
  },
  {
    method: "GET",
    path: "/api/api-keys",
    callers: ["msp_admin"],
    peopleOnly: true,
    summary: "the MSP's own API keys with when each expires (for automation and AI assistants over MCP; never the key text)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => c.json({ api_keys: await listApiKeys(deps.db, null, principal(c).msp_id) }),
  },
  {
    method: "POST",
    path: "/api/api-keys",
    status: 201,
    callers: ["msp_admin"],
    peopleOnly: true,
    summary: `create an MSP API key (by default role msp_tech, scope api, expiring after ${API_KEY_DEFAULT_DAYS} days); the key text is shown once in this answer`,
    maxBodyBytes: SMALL_BODY,
    request: newApiKeySchema.extend({ role: z.enum(["msp_admin", "msp_tech"]).optional() }),
    response: createdApiKeySchema,
    handler: async (c, deps) => {
      const p = principal(c);
      const created = await createApiKey(deps.db, p, null, parseJsonBody(c.var.body), deps);
      await audit(deps.db, deps.clock, p, { action: "api_key.create", target: created.id, details: { scope: "msp" } });
      return c.json(created, 201);
    },
  },
  {
    method: "POST",
    path: "/api/api-keys/:api_key_id/revoke",
    status: 204,
    callers: ["msp_admin", "partner_admin"],
    peopleOnly: true,
    summary: "revoke an API key (its requests fail at once with 401 api_key_revoked)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => {
      const id = c.req.param("api_key_id")!;
      // Revoking again changes nothing and is not audited again.
      if (await revokeApiKey(deps.db, id, deps.clock)) await audit(deps.db, deps.clock, principal(c), { action: "api_key.revoke", target: id });
      return c.body(null, 204);
    },
  },
  {
    method: "GET",
    path: "/api/partners/:partner_id/branding",
    callers: ["msp_admin", "msp_tech", "partner_admin", "partner_tech", "partner_billing"],
    summary: "a partner's branding (name, logo, colours)",
    maxBodyBytes: EMPTY_BODY,
    response: brandingSchema,
    handler: async (c, deps) => c.json(await brandingFor(deps.db, c.req.param("partner_id")!)),
  },
  {
    method: "PUT",
    path: "/api/partners/:partner_id/branding",
    status: 204,
    callers: ["msp_admin", "partner_admin"],
    summary: "set a partner's branding, applied to its dashboard, client portal and packets",
    maxBodyBytes: 256 * 1024,
    request: brandingSchema,
    handler: async (c, deps) => {
      const partnerId = c.req.param("partner_id")!;
      await setBranding(deps.db, partnerId, parseJsonBody(c.var.body));
      await audit(deps.db, deps.clock, principal(c), { action: "partner.branding.update", target: partnerId });
      return c.body(null, 204);
    },
  },
  {
    method: "GET",
    path: "/api/audit-log",
    callers: SITE_VIEWERS,
    summary: "user actions in the caller's tenant, newest first (?site_id=&before=&limit=)",
    maxBodyBytes: EMPTY_BODY,
    query: auditQuery,
    handler: async (c, deps) => {
      const { before, limit, site_id: site } = queryParams(c, auditQuery);
      return c.json({
        entries: await listAudit(deps.db, principal(c), {
          ...(site ? { site_id: site } : {}),
          ...(before ? { before: Number(before) } : {}),
          ...(limit ? { limit: Number(limit) } : {}),
        }),
      });
    },
  },
];

