/**
 * Schema of the L2 planner gateway (relay/l2/), L3 escalations (relay/escalations/) and notifications
 * (relay/notify/), numbered in db/migrations.ts.
 *
 * - `l2_settings`: per MSP, the kill switch and budgets. The LLM endpoint (URL, model, key file) is operator
 *   configuration (`L2Config`), never a row: a web-editable key path would let a tenant make the relay read
 *   any file and send it to any URL.
 * - `l2_decisions`: every plan request and what came of it, with the prompt and the model's answer for the
 *   MSP to review. A row is written `pending` before the model is called (that reservation is what budgets
 *   count) and finished once; finished rows are immutable and no row is ever deleted.
 * - `escalations`: L3 tickets; one open ticket per site + incident (later reports of the same incident are
 *   merged into it, `escalation_reports` keeps each one, idempotent by `source_key`).
 * - `notification_channels`: e-mail, webhook, Slack, syslog at MSP, partner or site scope; `secret` is
 *   write-only (never read back by a route). Deleting sets `deleted_at` so the delivery log keeps its link.
 * - `notification_deliveries`: the delivery log and queue: one row per channel + event key (idempotent),
 *   retried with backoff until sent or out of attempts.
 * - `notify_leases`: the background job's lease, so one relay process runs it at a time.
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const ESCALATIONS_MIGRATION: FeatureMigration = {
  name: "l2_escalations_notifications",
  sql: `
CREATE TABLE l2_settings (
  msp_id          TEXT    PRIMARY KEY REFERENCES msps (id),
  enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  site_per_hour   INTEGER NOT NULL CHECK (site_per_hour >= 0),
  site_per_day    INTEGER NOT NULL CHECK (site_per_day >= 0),
  global_per_hour INTEGER NOT NULL CHECK (global_per_hour >= 0),
  global_per_day  INTEGER NOT NULL CHECK (global_per_day >= 0),
  min_confidence  REAL    NOT NULL CHECK (min_confidence BETWEEN 0 AND 1),
  updated_at      TEXT    NOT NULL,
  updated_by      TEXT    NOT NULL
) STRICT;

CREATE TABLE l2_decisions (
  id            TEXT    PRIMARY KEY,
  msp_id        TEXT    NOT NULL REFERENCES msps (id),
  site_id       TEXT    NOT NULL REFERENCES sites (id),
  appliance_id  TEXT    NOT NULL REFERENCES appliances (id),
  request_id    TEXT    NOT NULL,
  incident_id   TEXT,
  check_id      TEXT    NOT NULL,
  platform      TEXT    NOT NULL,
  severity      TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('pending', 'planned', 'escalated')),
  reason_code   TEXT,
  reason        TEXT,
  llm_called    INTEGER NOT NULL CHECK (llm_called IN (0, 1)),
  model         TEXT,
  prompt        TEXT,
  answer        TEXT,
  runbook       TEXT,
  params        TEXT,
  confidence    REAL,
  reasoning     TEXT,
  redactions    TEXT    NOT NULL DEFAULT '[]',
  escalation_id TEXT,
  created_at    TEXT    NOT NULL,
  finished_at   TEXT,
  duration_ms   INTEGER,
  UNIQUE (appliance_id, request_id),
  CHECK ((status = 'pending') = (finished_at IS NULL))
) STRICT;
CREATE INDEX l2_decisions_site ON l2_decisions (site_id, created_at);
CREATE INDEX l2_decisions_msp ON l2_decisions (msp_id, llm_called, created_at);
CREATE TRIGGER l2_decisions_final BEFORE UPDATE ON l2_decisions WHEN OLD.status <> 'pending'
BEGIN SELECT RAISE(ABORT, 'l2_decisions: a finished decision cannot change'); END;
CREATE TRIGGER l2_decisions_no_delete BEFORE DELETE ON l2_decisions
BEGIN SELECT RAISE(ABORT, 'l2_decisions are kept for review: DELETE refused'); END;

CREATE TABLE escalations (
  id                     TEXT    PRIMARY KEY,
  msp_id                 TEXT    NOT NULL REFERENCES msps (id),
  org_id                 TEXT    NOT NULL REFERENCES organisations (id),
  site_id                TEXT    NOT NULL REFERENCES sites (id),
  incident_id            TEXT,
  host_id                TEXT,
  check_id               TEXT,
  category               TEXT,
  severity               TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  priority               TEXT    NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  source                 TEXT    NOT NULL CHECK (source IN ('appliance', 'l2')),
  reason                 TEXT    NOT NULL,
  status                 TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  reports                INTEGER NOT NULL DEFAULT 1 CHECK (reports >= 1),
  created_at             TEXT    NOT NULL,
  updated_at             TEXT    NOT NULL,
  response_due_at        TEXT    NOT NULL,
  resolution_due_at      TEXT    NOT NULL,
  acknowledged_at        TEXT,
  acknowledged_by        TEXT,
  acknowledge_note       TEXT,
  resolved_at            TEXT,
  resolved_by            TEXT,
  resolution_note        TEXT,
  notified_at            TEXT,
  response_renotified    INTEGER NOT NULL DEFAULT 0,
  resolution_renotified  INTEGER NOT NULL DEFAULT 0,
  next_renotify_at       TEXT,
  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
  CHECK (status = 'open' OR acknowledged_at IS NOT NULL)
) STRICT;
CREATE INDEX escalations_site ON escalations (site_id, created_at);
CREATE INDEX escalations_org ON escalations (org_id, status, created_at);
CREATE INDEX escalations_pending_notice ON escalations (notified_at) WHERE notified_at IS NULL;
CREATE INDEX escalations_renotify ON escalations (next_renotify_at) WHERE status <> 'resolved';
CREATE UNIQUE INDEX escalations_open_incident ON escalations (site_id, incident_id) WHERE incident_id IS NOT NULL AND status <> 'resolved';
CREATE TRIGGER escalations_no_delete BEFORE DELETE ON escalations
BEGIN SELECT RAISE(ABORT, 'escalations are kept: DELETE refused'); END;

CREATE TABLE escalation_reports (
  source_key    TEXT    PRIMARY KEY,
  escalation_id TEXT    NOT NULL REFERENCES escalations (id),
  source        TEXT    NOT NULL CHECK (source IN ('appliance', 'l2')),
  appliance_id  TEXT,
  severity      TEXT    NOT NULL,
  reason        TEXT    NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  reported_at   TEXT    NOT NULL,
  received_at   TEXT    NOT NULL
) STRICT;
CREATE INDEX escalation_reports_escalation ON escalation_reports (escalation_id);
CREATE TRIGGER escalation_reports_no_update BEFORE UPDATE ON escalation_reports
BEGIN SELECT RAISE(ABORT, 'escalation_reports is append-only: UPDATE refused'); END;
CREATE TRIGGER escalation_reports_no_delete BEFORE DELETE ON escalation_reports
BEGIN SELECT RAISE(ABORT, 'escalation_reports is append-only: DELETE refused'); END;

CREATE TABLE notification_channels (
  id           TEXT PRIMARY KEY,
  msp_id       TEXT NOT NULL REFERENCES msps (id),
  scope        TEXT NOT NULL CHECK (scope IN ('msp', 'partner', 'site')),
  scope_id     TEXT NOT NULL,
  partner_id   TEXT REFERENCES partners (id),
  site_id      TEXT REFERENCES sites (id),
  type         TEXT NOT NULL CHECK (type IN ('email', 'webhook', 'slack', 'syslog')),
  name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  audience     TEXT NOT NULL CHECK (audience IN ('staff', 'client')),
  min_priority TEXT NOT NULL CHECK (min_priority IN ('low', 'medium', 'high', 'critical')),
  digest       TEXT NOT NULL CHECK (digest IN ('off', 'daily', 'weekly')),
  config       TEXT NOT NULL,
  secret       TEXT,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  deleted_at   TEXT,
  deleted_by   TEXT,
  CHECK ((scope = 'msp' AND scope_id = msp_id) OR (scope = 'partner' AND scope_id = partner_id) OR (scope = 'site' AND scope_id = site_id)),
  CHECK (audience = 'staff' OR (scope = 'site' AND type = 'email'))
) STRICT;
CREATE INDEX notification_channels_msp ON notification_channels (msp_id, deleted_at);

CREATE TABLE notification_deliveries (
  id              TEXT    PRIMARY KEY,
  channel_id      TEXT    NOT NULL REFERENCES notification_channels (id),
  event           TEXT    NOT NULL,
  event_key       TEXT    NOT NULL,
  escalation_id   TEXT    REFERENCES escalations (id),
  site_id         TEXT,
  payload         TEXT    NOT NULL,
  status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_error      TEXT,
  last_status     INTEGER,
  created_at      TEXT    NOT NULL,
  sent_at         TEXT,
  UNIQUE (channel_id, event_key),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
) STRICT;
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, created_at);
CREATE TRIGGER notification_deliveries_no_delete BEFORE DELETE ON notification_deliveries
BEGIN SELECT RAISE(ABORT, 'the delivery log is kept: DELETE refused'); END;

CREATE TABLE notify_leases (
  job        TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
`,
};
