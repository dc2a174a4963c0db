/**
 * Schema of the learning loop (relay/learning/), numbered in db/migrations.ts.
 *
 * - `healing_attempts`: every healing attempt appliances pushed (check, platform, runbook, canonical params,
 *   tier, outcome, duration, site, rule id), in a queryable form, plus the labelled simulated history the demo
 *   seeds (`provenance` starts with `simulated:`). Natural key (appliance_id, attempt_id): an attempt pushed
 *   twice is stored once. Append-only by trigger (it is evidence of what healed what). The one owner of
 *   pushed attempts: the dashboard's `site_attempts` is a view over it (HEALING_ATTEMPTS_OWNER_MIGRATION).
 * - `learning_candidates`: one per (MSP, check, platform, runbook, canonical params) that met the thresholds;
 *   its id is also the id of the rule it becomes. `state` changes only through a ledgered transition: a
 *   trigger refuses an UPDATE of `state` unless the newest ledger row of the candidate says exactly that
 *   change. Identity columns never change; rows are never deleted.
 * - `learning_transitions`: the ledger of every state change (who, when, why, proof JSON); append-only.
 * - `learning_settings`: per MSP, threshold overrides (JSON) and whether policy may approve by itself.
 * - `learning_cursor`: how far the import of pushed healing attempts (outbox_receipts rowid) has read.
 * - `learning_leases`: the background job's lease, so one relay process runs it at a time.
 * - `rulesets.msp_id`: rule sets published for one MSP's appliances (NULL: for every appliance).
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const LEARNING_MIGRATION: FeatureMigration = {
  name: "learning_loop",
  sql: `
CREATE TABLE healing_attempts (
  appliance_id TEXT    NOT NULL,
  attempt_id   TEXT    NOT NULL,
  msp_id       TEXT    NOT NULL REFERENCES msps (id),
  site_id      TEXT    NOT NULL REFERENCES sites (id),
  outbox_seq   INTEGER,
  incident_id  TEXT,
  host_id      TEXT,
  check_id     TEXT    NOT NULL,
  platform     TEXT    NOT NULL,
  runbook      TEXT,
  params       TEXT    NOT NULL,
  group_key    TEXT    CHECK (group_key IS NULL OR length(group_key) = 64),
  tier         TEXT    NOT NULL CHECK (tier IN ('L1', 'L2', 'L3')),
  outcome      TEXT    NOT NULL,
  duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0),
  rule_id      TEXT,
  started_at   TEXT    NOT NULL,
  finished_at  TEXT    NOT NULL,
  pre_state    TEXT,
  provenance   TEXT    NOT NULL CHECK (provenance = 'appliance' OR provenance LIKE 'simulated:%'),
  received_at  TEXT    NOT NULL,
  PRIMARY KEY (appliance_id, attempt_id),
  CHECK ((runbook IS NULL) = (group_key IS NULL))
) STRICT;
CREATE INDEX healing_attempts_group ON healing_attempts (msp_id, group_key, finished_at);
CREATE INDEX healing_attempts_rule ON healing_attempts (msp_id, rule_id, finished_at);
CREATE INDEX healing_attempts_check ON healing_attempts (msp_id, check_id, platform, finished_at);
CREATE INDEX healing_attempts_finished ON healing_attempts (msp_id, finished_at);
CREATE TRIGGER healing_attempts_no_update BEFORE UPDATE ON healing_attempts
BEGIN SELECT RAISE(ABORT, 'healing_attempts is append-only: UPDATE refused'); END;
CREATE TRIGGER healing_attempts_no_delete BEFORE DELETE ON healing_attempts
BEGIN SELECT RAISE(ABORT, 'healing_attempts is append-only: DELETE refused'); END;

CREATE TABLE learning_candidates (
  id         TEXT PRIMARY KEY,
  msp_id     TEXT NOT NULL REFERENCES msps (id),
  group_key  TEXT NOT NULL CHECK (length(group_key) = 64),
  check_id   TEXT NOT NULL,
  platform   TEXT NOT NULL,
  runbook    TEXT NOT NULL,
  params     TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('proposed', 'shadow', 'approved', 'active', 'graduated', 'auto_disabled', 'retired')),
  stats      TEXT NOT NULL,
  replay     TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (msp_id, group_key)
) STRICT;
CREATE INDEX learning_candidates_state ON learning_candidates (msp_id, state);

CREATE TABLE learning_transitions (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_id TEXT    NOT NULL REFERENCES learning_candidates (id),
  msp_id       TEXT    NOT NULL,
  from_state   TEXT,
  to_state     TEXT    NOT NULL,
  at           TEXT    NOT NULL,
  actor_kind   TEXT    NOT NULL CHECK (actor_kind IN ('user', 'policy', 'system')),
  actor_id     TEXT    NOT NULL,
  actor_name   TEXT    NOT NULL,
  reason       TEXT    NOT NULL,
  proof        TEXT    NOT NULL
) STRICT;
CREATE INDEX learning_transitions_candidate ON learning_transitions (candidate_id, seq);
CREATE TRIGGER learning_transitions_no_update BEFORE UPDATE ON learning_transitions
BEGIN SELECT RAISE(ABORT, 'learning_transitions is append-only: UPDATE refused'); END;
CREATE TRIGGER learning_transitions_no_delete BEFORE DELETE ON learning_transitions
BEGIN SELECT RAISE(ABORT, 'learning_transitions is append-only: DELETE refused'); END;

CREATE TRIGGER learning_candidates_state_ledgered BEFORE UPDATE OF state ON learning_candidates
WHEN NEW.state IS NOT OLD.state AND NOT EXISTS (
  SELECT 1 FROM learning_transitions t
  WHERE t.seq = (SELECT MAX(seq) FROM learning_transitions WHERE candidate_id = NEW.id)
    AND t.from_state = OLD.state AND t.to_state = NEW.state)
BEGIN SELECT RAISE(ABORT, 'learning_candidates.state changes only through a ledgered transition'); END;
CREATE TRIGGER learning_candidates_identity BEFORE UPDATE OF id, msp_id, group_key, check_id, platform, runbook, params, created_at ON learning_candidates
BEGIN SELECT RAISE(ABORT, 'learning_candidates identity columns cannot change'); END;
CREATE TRIGGER learning_candidates_no_delete BEFORE DELETE ON learning_candidates
BEGIN SELECT RAISE(ABORT, 'learning_candidates are kept: DELETE refused'); END;

CREATE TABLE learning_settings (
  msp_id       TEXT    PRIMARY KEY REFERENCES msps (id),
  thresholds   TEXT    NOT NULL,
  auto_promote INTEGER NOT NULL CHECK (auto_promote IN (0, 1)),
  updated_at   TEXT    NOT NULL,
  updated_by   TEXT    NOT NULL
) STRICT;

CREATE TABLE learning_cursor (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL CHECK (value >= 0)
) STRICT;

CREATE TABLE learning_leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;

ALTER TABLE rulesets ADD COLUMN msp_id TEXT REFERENCES msps (id);
CREATE INDEX rulesets_msp ON rulesets (msp_id, version);
`,
};

/**
 * One owner for pushed healing attempts: `healing_attempts` also keeps `deferred_until` and `detail` (clipped
 * to MAX_ATTEMPT_DETAIL characters), filled from the stored receipts for rows recorded before, and the
 * dashboard digest's copy (`site_attempts`, sites/schema.ts) becomes a view over the appliances' attempts
 * (never the demo's simulated history), indexed for the incident timeline's lookup by appliance + incident.
 * The update trigger is dropped only for the backfill and recreated in the same migration.
 */
export const HEALING_ATTEMPTS_OWNER_MIGRATION: FeatureMigration = {
  name: "healing_attempts_single_owner",
  sql: `
ALTER TABLE healing_attempts ADD COLUMN deferred_until TEXT;
ALTER TABLE healing_attempts ADD COLUMN detail TEXT;
DROP TRIGGER healing_attempts_no_update;
UPDATE healing_attempts SET
  deferred_until = (SELECT json_extract(r.body, '$.deferred_until') FROM outbox_receipts r
                    WHERE r.appliance_id = healing_attempts.appliance_id AND r.outbox_seq = healing_attempts.outbox_seq AND r.type = 'healing_attempt'),
  detail = (SELECT substr(json_extract(r.body, '$.detail'), 1, 500) FROM outbox_receipts r
            WHERE r.appliance_id = healing_attempts.appliance_id AND r.outbox_seq = healing_attempts.outbox_seq AND r.type = 'healing_attempt')
WHERE outbox_seq IS NOT NULL AND provenance = 'appliance';
CREATE TRIGGER healing_attempts_no_update BEFORE UPDATE ON healing_attempts
BEGIN SELECT RAISE(ABORT, 'healing_attempts is append-only: UPDATE refused'); END;
CREATE INDEX healing_attempts_incident ON healing_attempts (appliance_id, incident_id, finished_at);
DROP TABLE site_attempts;
CREATE VIEW site_attempts AS
  SELECT appliance_id, attempt_id, site_id, incident_id, host_id, check_id, runbook, tier, outcome, started_at, finished_at, deferred_until, detail
  FROM healing_attempts WHERE provenance = 'appliance';
`,
};

/**
 * Site-scoped rules. `learning_candidates.scope_site_id`: NULL for a fleet-wide candidate (a rule for every
 * site of the MSP); else the one site whose own runs proved the fix, the only site that receives its rule (its
 * `group_key` is then the candidate key, mining.ts `candidateKey`). `rulesets.site_id`: a set published for
 * one site's appliances (the MSP's fleet-wide rules plus that site's), with the site's MSP in `msp_id`. The
 * database refuses a scope or a set naming another MSP's site, and a scope that changes.
 */
export const SITE_SCOPED_RULES_MIGRATION: FeatureMigration = {
  name: "learning_site_scoped_rules",
  sql: `
ALTER TABLE learning_candidates ADD COLUMN scope_site_id TEXT REFERENCES sites (id);
CREATE TRIGGER learning_candidates_scope_fixed BEFORE UPDATE OF scope_site_id ON learning_candidates
BEGIN SELECT RAISE(ABORT, 'learning_candidates.scope_site_id cannot change'); END;
CREATE TRIGGER learning_candidates_scope_of_msp BEFORE INSERT ON learning_candidates
WHEN NEW.scope_site_id IS NOT NULL AND NEW.msp_id IS NOT (SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = NEW.scope_site_id)
BEGIN SELECT RAISE(ABORT, 'learning_candidates.scope_site_id must be a site of the candidate''s MSP'); END;
ALTER TABLE rulesets ADD COLUMN site_id TEXT REFERENCES sites (id);
CREATE INDEX rulesets_site ON rulesets (site_id, version);
CREATE TRIGGER rulesets_site_of_msp BEFORE INSERT ON rulesets
WHEN NEW.site_id IS NOT NULL AND NEW.msp_id IS NOT (SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = NEW.site_id)
BEGIN SELECT RAISE(ABORT, 'rulesets.site_id must be a site of the set''s msp_id'); END;
`,
};
