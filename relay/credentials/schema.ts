/**
 * Schema of relay/credentials/ (numbered in db/migrations.ts): host credentials per site, the secret only as
 * AES-256-GCM ciphertext under a vault key (vault.ts). `key_id` names the vault key (so keys can rotate and
 * old rows still open); `nonce` and `ciphertext` are unpadded base64url. The additional data binds the
 * ciphertext to its row (id, site, target, kind, username): a ciphertext copied to another row, or a row
 * whose target was edited in the database, no longer opens.
 *
 * `last_validation` is JSON `{order_id, appliance_id, host_id, requested_at, requested_by}` of the latest
 * `validate_credential` order (its outcome is read from `orders` when listed), or NULL.
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const CREDENTIALS_MIGRATION: FeatureMigration = {
  name: "credentials",
  sql: `
CREATE TABLE site_credentials (
  id              TEXT PRIMARY KEY,
  site_id         TEXT NOT NULL REFERENCES sites (id),
  target          TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 63),
  kind            TEXT NOT NULL CHECK (kind IN ('ssh_password', 'ssh_key', 'winrm_basic', 'winrm_ntlm')),
  username        TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
  key_id          TEXT NOT NULL CHECK (length(key_id) = 16),
  nonce           TEXT NOT NULL CHECK (length(nonce) = 16),
  ciphertext      TEXT NOT NULL CHECK (length(ciphertext) >= 22),
  created_by      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  last_validation TEXT CHECK (last_validation IS NULL OR json_valid(last_validation))
) STRICT;
CREATE INDEX site_credentials_site ON site_credentials (site_id, id);
CREATE INDEX site_credentials_key ON site_credentials (key_id);
`,
};
