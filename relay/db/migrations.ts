/**
 * The relay database schema, as an ordered list of migrations. Never edit a migration that has shipped: add
 * a new one.
 *
 * Conventions: ids are opaque protocol ids (`msp_…`, `site_…`, `app_…`) minted by the relay; times are RFC
 * 3339 UTC with milliseconds (they sort as text); keys and hashes are lower-case hex. No secret is ever
 * stored: bearer tokens and claim codes only as SHA-256, the relay's private key only in its 0600 key file
 * (`relay_keys.key_file` names the file).
 *
 * Append-only by trigger: `evidence`, `outbox_receipts`, `rulesets` refuse UPDATE and DELETE; `checkpoints`
 * refuses DELETE and any change to what the appliance signed (only the countersigned note may gain
 * cosignatures, e.g. after a relay key rotation); `integrity_incidents` refuses DELETE.
 */

import { APPLIANCE_CONFIG_MIGRATION } from "../enroll/appliance-config-schema.ts";
import { APPLIANCE_KEY_ROTATION_MIGRATION } from "../enroll/key-rotation-schema.ts";
import { ARCHIVE_EVIDENCE_CURSOR_MIGRATION, ARCHIVE_MIGRATION } from "../archive/schema.ts";
import { API_KEY_EXPIRY_MIGRATION, API_KEY_SCOPE_MIGRATION, AUTH_MIGRATION } from "../auth/schema.ts";
import { CREDENTIALS_MIGRATION } from "../credentials/schema.ts";
import { ESCALATIONS_MIGRATION } from "../escalations/schema.ts";
import { INVENTORY_BILLING_MIGRATION } from "../inventory/schema.ts";
import { HEALING_ATTEMPTS_OWNER_MIGRATION, LEARNING_MIGRATION, SITE_SCOPED_RULES_MIGRATION } from "../learning/schema.ts";
import { REPORT_MIGRATION } from "../report/schema.ts";
import { SITE_SUMMARIES_UNCHECKED_MIGRATION, APPLIANCE_HEALING_MODE_MIGRATION, APPROVAL_PENDING_SOURCE_MIGRATION, SITES_MIGRATION } from "../sites/schema.ts";
import { SPARSE_FINISHED_INDEX_MIGRATION } from "../ingest/finished-index-schema.ts";
import { EVIDENCE_RECEIPT_RUNS_MIGRATION } from "../ingest/receipts.ts";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** A feature's schema change, numbered in MIGRATIONS below. */
export type FeatureMigration = Omit<Migration, "version">;

/** v1: tenancy, appliances, evidence, checkpoints, orders, keys, rule sets. */
const RELAY_CORE: Migration = {
    version: 1,
    name: "relay_core",
    sql: `
-- Tenancy: MSP → partner (optional) → client organisation → site → appliance.
CREATE TABLE msps (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE partners (
  id         TEXT PRIMARY KEY,
  msp_id     TEXT NOT NULL REFERENCES msps (id),
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX partners_msp ON partners (msp_id);

CREATE TABLE organisations (
  id         TEXT PRIMARY KEY,
  msp_id     TEXT NOT NULL REFERENCES msps (id),
  partner_id TEXT REFERENCES partners (id),
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX organisations_msp ON organisations (msp_id);

-- A site carries the configuration its appliances pull (protocol sync.ts siteConfigSchema).
CREATE TABLE sites (
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL REFERENCES organisations (id),
  name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone            TEXT NOT NULL DEFAULT 'UTC',
  healing_mode        TEXT NOT NULL DEFAULT 'observe' CHECK (healing_mode IN ('observe', 'advise', 'enforce')),
  l2_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (l2_enabled IN (0, 1)),
  deployment_mode     TEXT NOT NULL DEFAULT 'direct' CHECK (deployment_mode IN ('direct', 'reseller')),
  reseller_id         TEXT,
  maintenance_windows TEXT NOT NULL DEFAULT '[]',
  disabled_checks     TEXT NOT NULL DEFAULT '[]',
  created_at          TEXT NOT NULL
) STRICT;
CREATE INDEX sites_org ON sites (org_id);

-- An enrolled appliance. id is minted at enrollment (never a MAC); its keys are registered here once and
-- are the only keys its requests, evidence and checkpoints are checked with.
CREATE TABLE appliances (
  id                     TEXT PRIMARY KEY,
  site_id                TEXT NOT NULL REFERENCES sites (id),
  identity_public_key    TEXT NOT NULL UNIQUE CHECK (length(identity_public_key) = 64),
  evidence_public_key    TEXT NOT NULL UNIQUE CHECK (length(evidence_public_key) = 64),
  evidence_key_id        TEXT NOT NULL CHECK (length(evidence_key_id) = 16),
  credentials_public_key TEXT NOT NULL CHECK (length(credentials_public_key) = 64),
  fingerprint            TEXT NOT NULL,
  macs                   TEXT NOT NULL DEFAULT '[]',
  token_sha256           TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
  state                  TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
  enrolled_at            TEXT NOT NULL,
  enrolled_via           TEXT NOT NULL CHECK (enrolled_via IN ('claim_code', 'pending')),
  revoked_at             TEXT,
  revoked_reason         TEXT,
  last_seen_at           TEXT,
  CHECK (identity_public_key <> evidence_public_key)
) STRICT;
CREATE INDEX appliances_site ON appliances (site_id);

-- Claim codes: single use, expiring, revocable; only the SHA-256 of the normalised code is kept.
CREATE TABLE claim_codes (
  id          TEXT PRIMARY KEY,
  code_sha256 TEXT NOT NULL UNIQUE CHECK (length(code_sha256) = 64),
  site_id     TEXT NOT NULL REFERENCES sites (id),
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  used_at     TEXT,
  used_by     TEXT REFERENCES appliances (id),
  revoked_at  TEXT,
  CHECK (expires_at > created_at),
  CHECK ((used_at IS NULL) = (used_by IS NULL))
) STRICT;
CREATE INDEX claim_codes_site ON claim_codes (site_id);

-- Drop-ship: an unclaimed appliance registers its public keys and MACs; an MSP accepts it to a site after
-- comparing the fingerprint; the appliance then enrolls by proving possession of the same identity key.
CREATE TABLE pending_appliances (
  id                     TEXT PRIMARY KEY,
  identity_public_key    TEXT NOT NULL UNIQUE CHECK (length(identity_public_key) = 64),
  evidence_public_key    TEXT NOT NULL CHECK (length(evidence_public_key) = 64),
  credentials_public_key TEXT NOT NULL CHECK (length(credentials_public_key) = 64),
  macs                   TEXT NOT NULL,
  fingerprint            TEXT NOT NULL,
  first_seen             TEXT NOT NULL,
  last_seen              TEXT NOT NULL,
  state                  TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'enrolled')),
  site_id                TEXT REFERENCES sites (id),
  accepted_at            TEXT,
  accepted_by            TEXT,
  appliance_id           TEXT REFERENCES appliances (id),
  CHECK ((state = 'pending') = (site_id IS NULL))
) STRICT;
CREATE INDEX pending_appliances_state ON pending_appliances (state);

CREATE TABLE pending_macs (
  mac        TEXT NOT NULL,
  pending_id TEXT NOT NULL REFERENCES pending_appliances (id),
  PRIMARY KEY (mac, pending_id)
) STRICT, WITHOUT ROWID;

-- Evidence, exactly as the appliance signed it: line is the canonical bundle, byte for byte; hash is its
-- SHA-256 (the next bundle's prev_hash), leaf_hash its RFC 6962 Merkle leaf hash (SHA-256(0x00 || line)).
CREATE TABLE evidence (
  appliance_id TEXT    NOT NULL REFERENCES appliances (id),
  seq          INTEGER NOT NULL CHECK (seq >= 1),
  line         TEXT    NOT NULL,
  hash         TEXT    NOT NULL CHECK (length(hash) = 64),
  leaf_hash    TEXT    NOT NULL CHECK (length(leaf_hash) = 64),
  finished_at  TEXT    NOT NULL,
  received_at  TEXT    NOT NULL,
  PRIMARY KEY (appliance_id, seq)
) STRICT;
CREATE INDEX evidence_finished ON evidence (appliance_id, finished_at);
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is append-only: UPDATE refused'); END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is append-only: DELETE refused'); END;

-- Where each appliance's verified chain stands: the ChainVerifier state (chain_state, JSON, null before the
-- first bundle), the Merkle accumulator over all its lines (tree_size, tree_peaks: JSON hex list) and the
-- highest contiguous outbox_seq stored. Moves in the same transaction as the rows it covers.
CREATE TABLE chain_state (
  appliance_id     TEXT    PRIMARY KEY REFERENCES appliances (id),
  verified_seq     INTEGER NOT NULL CHECK (verified_seq >= 0),
  head_hash        TEXT    NOT NULL CHECK (length(head_hash) = 64),
  chain_state      TEXT,
  tree_size        INTEGER NOT NULL,
  tree_peaks       TEXT    NOT NULL,
  acked_outbox_seq INTEGER NOT NULL CHECK (acked_outbox_seq >= 0),
  updated_at       TEXT    NOT NULL,
  CHECK (tree_size = verified_seq)
) STRICT;

-- Appliance checkpoints (C2SP signed notes) and the relay's countersigned copy; one per (appliance, size).
CREATE TABLE checkpoints (
  appliance_id       TEXT    NOT NULL REFERENCES appliances (id),
  size               INTEGER NOT NULL CHECK (size >= 1),
  root               TEXT    NOT NULL,
  note               TEXT    NOT NULL,
  countersigned_note TEXT    NOT NULL,
  witness_key_id     TEXT    NOT NULL,
  received_at        TEXT    NOT NULL,
  PRIMARY KEY (appliance_id, size)
) STRICT;
CREATE TRIGGER checkpoints_note_immutable BEFORE UPDATE OF appliance_id, size, root, note ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: the signed note cannot change'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused'); END;

-- Every outbox entry stored, by the appliance's outbox_seq (evidence entries keep {seq, hash} here; the
-- line itself is in evidence).
CREATE TABLE outbox_receipts (
  appliance_id TEXT    NOT NULL REFERENCES appliances (id),
  outbox_seq   INTEGER NOT NULL CHECK (outbox_seq >= 1),
  type         TEXT    NOT NULL,
  body         TEXT    NOT NULL,
  received_at  TEXT    NOT NULL,
  PRIMARY KEY (appliance_id, outbox_seq)
) STRICT;
CREATE TRIGGER outbox_receipts_no_update BEFORE UPDATE ON outbox_receipts
BEGIN SELECT RAISE(ABORT, 'outbox_receipts is append-only: UPDATE refused'); END;
CREATE TRIGGER outbox_receipts_no_delete BEFORE DELETE ON outbox_receipts
BEGIN SELECT RAISE(ABORT, 'outbox_receipts is append-only: DELETE refused'); END;

-- Forks, gaps, bad signatures, mismatching checkpoints: recorded, shown, never repaired. The same failure
-- pushed again bumps occurrences instead of adding rows (seq 0 / '' stand for "none" so UNIQUE applies).
CREATE TABLE integrity_incidents (
  id            TEXT    PRIMARY KEY,
  appliance_id  TEXT    NOT NULL REFERENCES appliances (id),
  site_id       TEXT    NOT NULL,
  kind          TEXT    NOT NULL,
  code          TEXT    NOT NULL,
  outbox_seq    INTEGER NOT NULL DEFAULT 0,
  seq           INTEGER NOT NULL DEFAULT 0,
  line          TEXT,
  line_sha256   TEXT    NOT NULL DEFAULT '',
  stored_sha256 TEXT,
  message       TEXT    NOT NULL,
  first_seen    TEXT    NOT NULL,
  last_seen     TEXT    NOT NULL,
  occurrences   INTEGER NOT NULL DEFAULT 1,
  UNIQUE (appliance_id, kind, code, outbox_seq, seq, line_sha256)
) STRICT;
CREATE INDEX integrity_incidents_site ON integrity_incidents (site_id, last_seen);
CREATE TRIGGER integrity_incidents_no_delete BEFORE DELETE ON integrity_incidents
BEGIN SELECT RAISE(ABORT, 'integrity incidents are kept: DELETE refused'); END;

-- Orders, signed by the relay key when issued; envelope is exactly what the appliance receives.
CREATE TABLE orders (
  id           TEXT PRIMARY KEY,
  appliance_id TEXT NOT NULL REFERENCES appliances (id),
  site_id      TEXT NOT NULL,
  type         TEXT NOT NULL,
  params       TEXT NOT NULL,
  envelope     TEXT NOT NULL,
  nonce        TEXT NOT NULL,
  issued_by    TEXT NOT NULL,
  issued_at    TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
  result       TEXT,
  completed_at TEXT
) STRICT;
CREATE INDEX orders_pending ON orders (appliance_id, status, expires_at);

-- Request nonces seen per appliance, kept a little longer than the timestamp window, then pruned.
CREATE TABLE request_nonces (
  appliance_id TEXT NOT NULL,
  nonce        TEXT NOT NULL,
  seen_at      TEXT NOT NULL,
  PRIMARY KEY (appliance_id, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX request_nonces_seen ON request_nonces (seen_at);

-- Relay signing keys. The private key is only in key_file (mode 0600); a rotated-in key carries the
-- rotation statement signed by the key it replaces.
CREATE TABLE relay_keys (
  key_id             TEXT PRIMARY KEY CHECK (length(key_id) = 16),
  public_key         TEXT NOT NULL UNIQUE CHECK (length(public_key) = 64),
  name               TEXT NOT NULL,
  key_file           TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  replaces           TEXT REFERENCES relay_keys (key_id),
  rotation_statement TEXT,
  superseded_by      TEXT REFERENCES relay_keys (key_id),
  CHECK ((replaces IS NULL) = (rotation_statement IS NULL))
) STRICT;

-- Signed rule sets; the newest version is what appliances pull.
CREATE TABLE rulesets (
  version        INTEGER PRIMARY KEY CHECK (version >= 1),
  envelope       TEXT NOT NULL,
  payload_sha256 TEXT NOT NULL,
  issued_at      TEXT NOT NULL
) STRICT;
CREATE TRIGGER rulesets_no_update BEFORE UPDATE ON rulesets
BEGIN SELECT RAISE(ABORT, 'rulesets are append-only: UPDATE refused'); END;
CREATE TRIGGER rulesets_no_delete BEFORE DELETE ON rulesets
BEGIN SELECT RAISE(ABORT, 'rulesets are append-only: DELETE refused'); END;
`,
};

/**
 * Every migration in order. Features keep their own schema next to their code (name + SQL) and get their
 * version here, so the order is decided in one place.
 */
export const MIGRATIONS: readonly Migration[] = [
  RELAY_CORE,
  { version: 2, ...AUTH_MIGRATION },
  { version: 3, ...CREDENTIALS_MIGRATION },
  { version: 4, ...LEARNING_MIGRATION },
  { version: 5, ...REPORT_MIGRATION },
  { version: 6, ...INVENTORY_BILLING_MIGRATION },
  { version: 7, ...ESCALATIONS_MIGRATION },
  { version: 8, ...ARCHIVE_MIGRATION },
  { version: 9, ...SITES_MIGRATION },
  { version: 10, ...APPLIANCE_CONFIG_MIGRATION },
  { version: 11, ...HEALING_ATTEMPTS_OWNER_MIGRATION },
  { version: 12, ...SITE_SCOPED_RULES_MIGRATION },
  { version: 13, ...APPLIANCE_KEY_ROTATION_MIGRATION },
  { version: 14, ...SITE_SUMMARIES_UNCHECKED_MIGRATION },
  { version: 15, ...API_KEY_SCOPE_MIGRATION },
  { version: 16, ...APPLIANCE_HEALING_MODE_MIGRATION },
  { version: 17, ...APPROVAL_PENDING_SOURCE_MIGRATION },
  { version: 18, ...API_KEY_EXPIRY_MIGRATION },
  { version: 19, ...ARCHIVE_EVIDENCE_CURSOR_MIGRATION },
  { version: 20, ...SPARSE_FINISHED_INDEX_MIGRATION },
  { version: 21, ...EVIDENCE_RECEIPT_RUNS_MIGRATION },
];

/** The schema version this code writes. */
export const LATEST_VERSION = MIGRATIONS.length;
