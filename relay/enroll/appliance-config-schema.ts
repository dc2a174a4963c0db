/**
 * Schema of the signed appliance configs (appliance-config.ts), numbered in db/migrations.ts.
 *
 * `appliance_configs` keeps every version the relay signed for an appliance, newest = in force: the pinned
 * NixOS system, the antivirus binary's expected hash and the firewall baseline, each as the envelope exactly
 * as signed (what a pull hands out) plus the plain columns the dashboard shows. Versions start at 1 per
 * appliance and only increase (the appliance refuses one not newer than its own); rows are append-only by
 * trigger, so what was pinned when, and by whom, stays on record.
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const APPLIANCE_CONFIG_MIGRATION: FeatureMigration = {
  name: "appliance_config",
  sql: `
CREATE TABLE appliance_configs (
  appliance_id     TEXT NOT NULL REFERENCES appliances (id),
  version          INTEGER NOT NULL CHECK (version >= 1),
  envelope         TEXT NOT NULL,
  payload_sha256   TEXT NOT NULL CHECK (length(payload_sha256) = 64),
  pinned_system    TEXT,
  av_binary_sha256 TEXT CHECK (av_binary_sha256 IS NULL OR length(av_binary_sha256) = 64),
  baseline_sha256  TEXT CHECK (baseline_sha256 IS NULL OR length(baseline_sha256) = 64),
  issued_by        TEXT NOT NULL,
  issued_at        TEXT NOT NULL,
  PRIMARY KEY (appliance_id, version)
) STRICT;
CREATE TRIGGER appliance_configs_no_update BEFORE UPDATE ON appliance_configs
BEGIN SELECT RAISE(ABORT, 'appliance_configs are append-only: UPDATE refused'); END;
CREATE TRIGGER appliance_configs_no_delete BEFORE DELETE ON appliance_configs
BEGIN SELECT RAISE(ABORT, 'appliance_configs are append-only: DELETE refused'); END;
`,
};
