/**
 * Schema of relay/inventory/ and relay/billing/ (one migration, numbered in db/migrations.ts).
 *
 * Inventory: `devices` (one row per device per site, keyed by MAC when known, else by address), the
 * append-only `device_events` (new device, gone, returned, port opened/closed, type changed),
 * `inventory_sites` (when the learning period ends) and `inventory_alerts` (new devices after it,
 * rate-limited). Billing: `billing_plans` (one per client organisation), `partner_revenue_shares` (tiers),
 * and the immutable `partner_statements` + `statement_lines`: once issued, neither can be updated or deleted;
 * the clinic lines are fixed at issue (a trigger refuses more than the statement counted) and corrections are
 * new lines. Money is integer cents; shares are basis points (1/100 %).
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const INVENTORY_BILLING_MIGRATION: FeatureMigration = {
  name: "inventory_billing",
  sql: `
CREATE TABLE devices (
  id                TEXT    PRIMARY KEY,
  site_id           TEXT    NOT NULL REFERENCES sites (id),
  device_key        TEXT    NOT NULL,
  ip                TEXT    NOT NULL,
  mac               TEXT,
  vendor            TEXT,
  hostname          TEXT,
  mdns_name         TEXT,
  netbios_name      TEXT,
  open_ports        TEXT    NOT NULL DEFAULT '[]',
  device_type       TEXT    NOT NULL,
  confidence        INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 100),
  evidence          TEXT    NOT NULL DEFAULT '[]',
  status            TEXT    NOT NULL DEFAULT 'discovered' CHECK (status IN ('discovered', 'monitored', 'excluded', 'medical')),
  status_changed_at TEXT,
  status_changed_by TEXT,
  first_seen        TEXT    NOT NULL,
  last_seen         TEXT    NOT NULL,
  gone_at           TEXT,
  appliance_id      TEXT    NOT NULL REFERENCES appliances (id),
  UNIQUE (site_id, device_key)
) STRICT;
CREATE INDEX devices_site ON devices (site_id, status);
CREATE INDEX devices_site_ip ON devices (site_id, ip);

CREATE TABLE device_events (
  id           TEXT PRIMARY KEY,
  site_id      TEXT NOT NULL REFERENCES sites (id),
  device_id    TEXT NOT NULL REFERENCES devices (id),
  kind         TEXT NOT NULL CHECK (kind IN ('new_device', 'device_gone', 'device_returned', 'port_opened', 'port_closed', 'type_changed')),
  details      TEXT NOT NULL,
  at           TEXT NOT NULL,
  scan_id      TEXT NOT NULL,
  appliance_id TEXT NOT NULL
) STRICT;
CREATE INDEX device_events_site ON device_events (site_id, at);
CREATE INDEX device_events_device ON device_events (device_id, at);
CREATE TRIGGER device_events_no_update BEFORE UPDATE ON device_events
BEGIN SELECT RAISE(ABORT, 'device_events is append-only: UPDATE refused'); END;
CREATE TRIGGER device_events_no_delete BEFORE DELETE ON device_events
BEGIN SELECT RAISE(ABORT, 'device_events is append-only: DELETE refused'); END;

CREATE TABLE inventory_sites (
  site_id        TEXT PRIMARY KEY REFERENCES sites (id),
  first_scan_at  TEXT NOT NULL,
  learning_until TEXT NOT NULL,
  last_scan_at   TEXT NOT NULL,
  last_scan_id   TEXT NOT NULL
) STRICT;

CREATE TABLE inventory_alerts (
  id              TEXT PRIMARY KEY,
  site_id         TEXT NOT NULL REFERENCES sites (id),
  device_id       TEXT NOT NULL REFERENCES devices (id),
  kind            TEXT NOT NULL CHECK (kind IN ('new_device')),
  state           TEXT NOT NULL CHECK (state IN ('raised', 'suppressed')),
  message         TEXT NOT NULL,
  raised_at       TEXT NOT NULL,
  acknowledged_at TEXT,
  acknowledged_by TEXT
) STRICT;
CREATE INDEX inventory_alerts_site ON inventory_alerts (site_id, state, raised_at);

CREATE TABLE billing_plans (
  id                  TEXT    PRIMARY KEY,
  org_id              TEXT    NOT NULL UNIQUE REFERENCES organisations (id),
  currency            TEXT    NOT NULL CHECK (length(currency) = 3),
  monthly_price_cents INTEGER NOT NULL CHECK (monthly_price_cents >= 0),
  included_devices    INTEGER NOT NULL CHECK (included_devices >= 0),
  extra_device_cents  INTEGER NOT NULL CHECK (extra_device_cents >= 0),
  starts_on           TEXT    NOT NULL,
  ends_on             TEXT,
  updated_at          TEXT    NOT NULL,
  updated_by          TEXT    NOT NULL,
  CHECK (ends_on IS NULL OR ends_on >= starts_on)
) STRICT;

CREATE TABLE partner_revenue_shares (
  partner_id TEXT PRIMARY KEY REFERENCES partners (id),
  tiers      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
) STRICT;

CREATE TABLE partner_statements (
  id            TEXT    PRIMARY KEY,
  partner_id    TEXT    NOT NULL REFERENCES partners (id),
  month         TEXT    NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
  currency      TEXT    NOT NULL CHECK (length(currency) = 3),
  days_in_month INTEGER NOT NULL CHECK (days_in_month BETWEEN 28 AND 31),
  clinics       INTEGER NOT NULL CHECK (clinics >= 0),
  share_bp      INTEGER NOT NULL CHECK (share_bp BETWEEN 0 AND 10000),
  issued_at     TEXT    NOT NULL,
  issued_by     TEXT    NOT NULL,
  UNIQUE (partner_id, month)
) STRICT;
CREATE TRIGGER partner_statements_no_update BEFORE UPDATE ON partner_statements
BEGIN SELECT RAISE(ABORT, 'an issued statement is immutable: UPDATE refused (add a correction line)'); END;
CREATE TRIGGER partner_statements_no_delete BEFORE DELETE ON partner_statements
BEGIN SELECT RAISE(ABORT, 'an issued statement is immutable: DELETE refused'); END;

CREATE TABLE statement_lines (
  statement_id        TEXT    NOT NULL REFERENCES partner_statements (id),
  line_no             INTEGER NOT NULL CHECK (line_no >= 1),
  kind                TEXT    NOT NULL CHECK (kind IN ('clinic', 'correction')),
  org_id              TEXT,
  org_name            TEXT    NOT NULL,
  plan_monthly_cents  INTEGER,
  included_devices    INTEGER,
  extra_device_cents  INTEGER,
  active_days         INTEGER,
  active_appliances   INTEGER,
  monitored_devices   INTEGER,
  extra_devices       INTEGER,
  base_cents          INTEGER,
  extras_cents        INTEGER,
  amount_cents        INTEGER NOT NULL,
  share_cents         INTEGER NOT NULL,
  note                TEXT,
  corrects_line       INTEGER,
  created_at          TEXT    NOT NULL,
  created_by          TEXT    NOT NULL,
  PRIMARY KEY (statement_id, line_no)
) STRICT;
CREATE TRIGGER statement_lines_no_update BEFORE UPDATE ON statement_lines
BEGIN SELECT RAISE(ABORT, 'statement lines are immutable: UPDATE refused (add a correction line)'); END;
CREATE TRIGGER statement_lines_no_delete BEFORE DELETE ON statement_lines
BEGIN SELECT RAISE(ABORT, 'statement lines are immutable: DELETE refused'); END;
CREATE TRIGGER statement_lines_clinics_fixed BEFORE INSERT ON statement_lines
WHEN NEW.kind = 'clinic' AND (SELECT COUNT(*) FROM statement_lines WHERE statement_id = NEW.statement_id AND kind = 'clinic') >= (SELECT clinics FROM partner_statements WHERE id = NEW.statement_id)
BEGIN SELECT RAISE(ABORT, 'an issued statement has all its clinic lines: add a correction line instead'); END;
`,
};
