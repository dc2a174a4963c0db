/**
 * Schema of relay/report/ (numbered in db/migrations.ts): monthly compliance packets, the auditor kits they
 * reference, and the lease that keeps the packet scheduler to one relay process at a time.
 *
 * A packet is what a clinic hands to an auditor, so it never changes once stored: `packets` and
 * `packet_kits` refuse UPDATE and DELETE. One packet per (site, month, framework); generating it again
 * returns the stored one. The kit ZIP is stored (deduplicated by its SHA-256, so the HIPAA, SOC 2 and GLBA
 * packets of a month share one) because the relay's countersigned notes may gain cosignatures later (key
 * rotation), which would change a re-exported kit's bytes and break the SHA-256 printed in the PDF.
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const REPORT_MIGRATION: FeatureMigration = {
  name: "reports",
  sql: `
-- manifest: what the packet prints about the kit (packet-kit.ts KitSummary, JSON), so every framework's
-- packet of the month references the same kit without exporting it again.
CREATE TABLE packet_kits (
  sha256     TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
  site_id    TEXT    NOT NULL REFERENCES sites (id),
  month      TEXT    NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
  zip        BLOB    NOT NULL,
  bytes      INTEGER NOT NULL CHECK (bytes = length(zip)),
  bundles    INTEGER NOT NULL CHECK (bundles >= 0),
  manifest   TEXT    NOT NULL,
  created_at TEXT    NOT NULL
) STRICT;
CREATE INDEX packet_kits_site ON packet_kits (site_id, month);
CREATE TRIGGER packet_kits_no_update BEFORE UPDATE ON packet_kits
BEGIN SELECT RAISE(ABORT, 'packet_kits are append-only: UPDATE refused'); END;
CREATE TRIGGER packet_kits_no_delete BEFORE DELETE ON packet_kits
BEGIN SELECT RAISE(ABORT, 'packet_kits are append-only: DELETE refused'); END;

-- summary: JSON figures for lists (overall score, controls ready/total, incidents, bundles), so a list
-- never has to open a PDF. generated_by: a user id, or 'scheduler'.
CREATE TABLE packets (
  id           TEXT    PRIMARY KEY,
  site_id      TEXT    NOT NULL REFERENCES sites (id),
  month        TEXT    NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
  framework    TEXT    NOT NULL CHECK (framework IN ('hipaa', 'soc2', 'glba')),
  sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
  pdf          BLOB    NOT NULL,
  bytes        INTEGER NOT NULL CHECK (bytes = length(pdf)),
  kit_sha256   TEXT    NOT NULL REFERENCES packet_kits (sha256),
  summary      TEXT    NOT NULL,
  generated_at TEXT    NOT NULL,
  generated_by TEXT    NOT NULL,
  UNIQUE (site_id, month, framework)
) STRICT;
CREATE TRIGGER packets_no_update BEFORE UPDATE ON packets
BEGIN SELECT RAISE(ABORT, 'packets are append-only: UPDATE refused'); END;
CREATE TRIGGER packets_no_delete BEFORE DELETE ON packets
BEGIN SELECT RAISE(ABORT, 'packets are append-only: DELETE refused'); END;

-- Background-job leases: the holder runs the job until expires_at; another process may take it after.
CREATE TABLE report_leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
`,
};
