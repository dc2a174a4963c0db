/**
 * Schema of relay/sites/ (the dashboard's API), numbered in db/migrations.ts.
 *
 * - `approval_requests`: fixes waiting for a human. An appliance reports them as `pending_approval` healing
 *   attempts (digest.ts files one request per appliance + host + check + runbook while it is pending); an
 *   assistant (MCP) or a user may propose an order the same way. Approving issues a signed order
 *   (`approve_runbook`, or the proposed order type) and records its id; a decision is final.
 * - `site_digest_cursors`: how far the dashboard digest has read each appliance's evidence (seq) and outbox
 *   receipts (outbox_seq), plus what it learnt on the way (lab appliance, last check cycle, version, clock
 *   offset). Moves in the same batch as the rows it covers.
 * - `site_results`: a summary of stored evidence for scoring: per site, UTC day, check and host, the latest
 *   result of that day (ties: the worse status, then the smaller appliance id, exactly the order of
 *   scores/score.ts). `check_id = ''` marks "host unreachable". Feeding these rows to `scoreSite` gives the
 *   same score as feeding every bundle (see digest.ts for why), at a cost bounded by days × checks × hosts.
 * - `site_incidents`: the appliance's incident records for the incident timeline, latest state per incident.
 * - `site_attempts`: healing attempts (tier, outcome) for that timeline. Created as a table here; since
 *   migration 11 (HEALING_ATTEMPTS_OWNER_MIGRATION, relay/learning/schema.ts) it is a view over
 *   `healing_attempts`, the one owner of pushed attempts.
 * - `site_hosts`: the latest inventory entry per host (names for the device list).
 * - `site_summaries`: per-site cache of score and 30-day trend, valid for one digest version and one hour.
 * - `site_digest_versions`: bumped whenever a site's digest rows change (cache key).
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const SITES_MIGRATION: FeatureMigration = {
  name: "sites_dashboard",
  sql: `
CREATE TABLE approval_requests (
  id            TEXT PRIMARY KEY,
  site_id       TEXT NOT NULL REFERENCES sites (id),
  appliance_id  TEXT NOT NULL REFERENCES appliances (id),
  kind          TEXT NOT NULL CHECK (kind IN ('runbook', 'order')),
  order_type    TEXT NOT NULL,
  runbook_id    TEXT,
  host_id       TEXT,
  check_id      TEXT,
  incident_id   TEXT,
  params        TEXT NOT NULL,
  reason        TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  source        TEXT NOT NULL,
  dedup_key     TEXT NOT NULL,
  requested_at  TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
  decided_by    TEXT,
  decided_at    TEXT,
  decision_note TEXT,
  order_id      TEXT REFERENCES orders (id),
  CHECK ((state = 'pending') = (decided_at IS NULL)),
  CHECK ((state = 'approved') = (order_id IS NOT NULL))
) STRICT;
CREATE INDEX approval_requests_site ON approval_requests (site_id, state, requested_at);
-- One pending request per appliance + host + check + runbook: a fix asked again every cycle is one request.
CREATE UNIQUE INDEX approval_requests_pending ON approval_requests (dedup_key) WHERE state = 'pending';
-- A decision is final: only a pending request may change, and only once.
CREATE TRIGGER approval_requests_decided BEFORE UPDATE ON approval_requests WHEN OLD.state <> 'pending'
BEGIN SELECT RAISE(ABORT, 'approval request already decided'); END;
CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests
BEGIN SELECT RAISE(ABORT, 'approval requests are kept: DELETE refused'); END;

CREATE TABLE site_digest_cursors (
  appliance_id  TEXT    PRIMARY KEY REFERENCES appliances (id),
  site_id       TEXT    NOT NULL REFERENCES sites (id),
  evidence_seq  INTEGER NOT NULL DEFAULT 0 CHECK (evidence_seq >= 0),
  outbox_seq    INTEGER NOT NULL DEFAULT 0 CHECK (outbox_seq >= 0),
  simulated     INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1)),
  last_cycle_at TEXT,
  version       TEXT,
  ntp_offset_ms INTEGER,
  updated_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX site_digest_cursors_site ON site_digest_cursors (site_id);

CREATE TABLE site_results (
  site_id      TEXT NOT NULL,
  day          TEXT NOT NULL,
  check_id     TEXT NOT NULL,
  host_id      TEXT NOT NULL,
  appliance_id TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
  finished_at  TEXT NOT NULL,
  expected     TEXT,
  actual       TEXT,
  PRIMARY KEY (site_id, day, check_id, host_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE site_incidents (
  appliance_id    TEXT    NOT NULL,
  incident_id     TEXT    NOT NULL,
  site_id         TEXT    NOT NULL,
  host_id         TEXT,
  check_id        TEXT    NOT NULL,
  severity        TEXT    NOT NULL,
  status          TEXT    NOT NULL,
  opened_at       TEXT    NOT NULL,
  updated_at      TEXT    NOT NULL,
  resolved_at     TEXT,
  occurrences     INTEGER NOT NULL,
  PRIMARY KEY (appliance_id, incident_id)
) STRICT;
CREATE INDEX site_incidents_site ON site_incidents (site_id, status, updated_at);

CREATE TABLE site_attempts (
  appliance_id   TEXT    NOT NULL,
  attempt_id     TEXT    NOT NULL,
  site_id        TEXT    NOT NULL,
  incident_id    TEXT,
  host_id        TEXT,
  check_id       TEXT    NOT NULL,
  runbook        TEXT,
  tier           TEXT    NOT NULL,
  outcome        TEXT    NOT NULL,
  started_at     TEXT    NOT NULL,
  finished_at    TEXT    NOT NULL,
  deferred_until TEXT,
  detail         TEXT,
  PRIMARY KEY (appliance_id, attempt_id)
) STRICT;
CREATE INDEX site_attempts_incident ON site_attempts (appliance_id, incident_id, finished_at);
CREATE INDEX site_attempts_site ON site_attempts (site_id, finished_at);

CREATE TABLE site_hosts (
  site_id      TEXT    NOT NULL,
  host_id      TEXT    NOT NULL,
  appliance_id TEXT    NOT NULL,
  hostname     TEXT    NOT NULL,
  platform     TEXT    NOT NULL,
  os_version   TEXT,
  reachable    INTEGER NOT NULL CHECK (reachable IN (0, 1)),
  seen_at      TEXT    NOT NULL,
  PRIMARY KEY (site_id, host_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE site_digest_versions (
  site_id TEXT    PRIMARY KEY REFERENCES sites (id),
  version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE site_summaries (
  site_id        TEXT    PRIMARY KEY REFERENCES sites (id),
  digest_version INTEGER NOT NULL,
  hour           TEXT    NOT NULL,
  overall        REAL,
  trend          TEXT    NOT NULL,
  failing        INTEGER NOT NULL,
  computed_at    TEXT    NOT NULL
) STRICT;
`,
};

/** `site_summaries.unchecked`: latest results that could not be evaluated, apart from `failing` (now fails only). */
export const SITE_SUMMARIES_UNCHECKED_MIGRATION: FeatureMigration = {
  name: "site_summaries_unchecked",
  sql: `
ALTER TABLE site_summaries ADD COLUMN unchecked INTEGER NOT NULL DEFAULT 0;
DELETE FROM site_summaries;
`,
};

/** The healing mode each appliance reports it heals with (heartbeat), beside the site's setting. */
export const APPLIANCE_HEALING_MODE_MIGRATION: FeatureMigration = {
  name: "appliance_healing_mode",
  sql: `
ALTER TABLE site_digest_cursors ADD COLUMN healing_mode TEXT CHECK (healing_mode IS NULL OR healing_mode IN ('observe', 'advise', 'enforce'));
ALTER TABLE site_digest_cursors ADD COLUMN healing_mode_source TEXT CHECK (healing_mode_source IS NULL OR healing_mode_source IN ('config', 'relay', 'order'));
`,
};

/** Pending requests per proposer (`source`), for the cap on an assistant's open proposals (relay/mcp). */
export const APPROVAL_PENDING_SOURCE_MIGRATION: FeatureMigration = {
  name: "approval_pending_source",
  sql: `
CREATE INDEX approval_requests_pending_source ON approval_requests (source) WHERE state = 'pending';
`,
};
