/**
 * Schema of users, sessions, magic links, partner API keys, partner branding and the audit log (numbered in
 * db/migrations.ts). Secrets are stored only as hashes: passwords as scrypt (auth/password.ts), session ids,
 * magic-link tokens and API keys as SHA-256. A user's tenant is fixed by role: MSP roles carry only
 * msp_id, partner roles also partner_id, client roles org_id (and the org's partner_id, if any).
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const AUTH_MIGRATION: FeatureMigration = {
  name: "users_sessions_audit",
  sql: `
CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  email           TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
  name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role            TEXT NOT NULL CHECK (role IN ('msp_admin', 'msp_tech', 'partner_admin', 'partner_tech', 'partner_billing', 'client_owner', 'client_viewer')),
  msp_id          TEXT NOT NULL REFERENCES msps (id),
  partner_id      TEXT REFERENCES partners (id),
  org_id          TEXT REFERENCES organisations (id),
  password_hash   TEXT,
  totp_secret     TEXT,
  totp_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
  totp_last_step  INTEGER NOT NULL DEFAULT 0,
  failed_logins   INTEGER NOT NULL DEFAULT 0,
  locked_until    TEXT,
  disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at      TEXT NOT NULL,
  CHECK ((role LIKE 'partner_%') = (partner_id IS NOT NULL) OR role LIKE 'client_%'),
  CHECK ((role LIKE 'client_%') = (org_id IS NOT NULL))
) STRICT;
CREATE INDEX users_msp ON users (msp_id);

CREATE TABLE sessions (
  id_sha256   TEXT PRIMARY KEY CHECK (length(id_sha256) = 64),
  user_id     TEXT NOT NULL REFERENCES users (id),
  csrf_token  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  last_seen   TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  revoked_at  TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE magic_links (
  token_sha256 TEXT PRIMARY KEY CHECK (length(token_sha256) = 64),
  user_id      TEXT NOT NULL REFERENCES users (id),
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  used_at      TEXT
) STRICT;

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  key_sha256  TEXT NOT NULL UNIQUE CHECK (length(key_sha256) = 64),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role        TEXT NOT NULL CHECK (role IN ('msp_admin', 'msp_tech', 'partner_admin', 'partner_tech', 'partner_billing')),
  msp_id      TEXT NOT NULL REFERENCES msps (id),
  partner_id  TEXT REFERENCES partners (id),
  created_by  TEXT NOT NULL REFERENCES users (id),
  created_at  TEXT NOT NULL,
  last_used   TEXT,
  revoked_at  TEXT,
  CHECK ((role LIKE 'partner_%') = (partner_id IS NOT NULL))
) STRICT;

-- Token rotation: a new token waits here until the appliance first uses it; then it replaces token_sha256
-- (until then the old token keeps working, so a lost answer cannot lock the appliance out).
ALTER TABLE appliances ADD COLUMN next_token_sha256 TEXT CHECK (next_token_sha256 IS NULL OR length(next_token_sha256) = 64);
CREATE UNIQUE INDEX appliances_next_token ON appliances (next_token_sha256) WHERE next_token_sha256 IS NOT NULL;

-- Partner branding for the dashboard, client portal and packets: {name, logo_data_url, primary, accent}.
ALTER TABLE partners ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';

-- Every state-changing user action. Append-only.
CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  actor_id    TEXT NOT NULL,
  actor_email TEXT NOT NULL,
  actor_role  TEXT NOT NULL,
  msp_id      TEXT NOT NULL,
  partner_id  TEXT,
  org_id      TEXT,
  site_id     TEXT,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_log_msp ON audit_log (msp_id, seq);
CREATE INDEX audit_log_site ON audit_log (site_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
`,
};

/**
 * API key scopes: `api` keys act with their role on the API (scripts, PSA integrations); `assistant` keys
 * (an AI assistant's) may only call the MCP endpoint, where they can read and propose but never approve or
 * send anything. Existing keys keep acting as before (`api`).
 */
export const API_KEY_SCOPE_MIGRATION: FeatureMigration = {
  name: "api_key_scope",
  sql: `
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'api' CHECK (scope IN ('api', 'assistant'));
`,
};

/**
 * `api_keys.expires_at`: when a key stops working (auth/api-keys.ts sets it for every new key). Keys made
 * before this migration keep NULL, "never", and are listed so, to be replaced by a person rather than cut off.
 */
export const API_KEY_EXPIRY_MIGRATION: FeatureMigration = {
  name: "api_key_expiry",
  sql: `
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
`,
};
