/**
 * Schema of appliance key rotations (key-rotation.ts), numbered in db/migrations.ts.
 *
 * `appliance_key_rotations` is the key history: one row per successor key an appliance presented in a rotation
 * statement (kept exactly as received), which key it replaced, and when it came into force. `accepted`: the
 * relay verified the statement but still checks with the old key (identity: until the first request signed by
 * the new one; evidence: until the chain announces the switch, whose seq becomes `from_seq`). `in_force`: the
 * key is the one in force (identity, credentials: also in `appliances`; evidence: `appliances` keeps the enrollment
 * key that anchors the chain, later keys are only here, by `from_seq`). `superseded`: accepted, then replaced by a
 * newer statement before it was used.
 */
import type { FeatureMigration } from "../db/migrations.ts";

export const APPLIANCE_KEY_ROTATION_MIGRATION: FeatureMigration = {
  name: "appliance_key_rotations",
  sql: `
CREATE TABLE appliance_key_rotations (
  appliance_id   TEXT NOT NULL REFERENCES appliances (id),
  kind           TEXT NOT NULL CHECK (kind IN ('identity', 'evidence', 'credentials')),
  new_public_key TEXT NOT NULL CHECK (length(new_public_key) = 64),
  new_key_id     TEXT NOT NULL CHECK (length(new_key_id) = 16),
  old_public_key TEXT NOT NULL CHECK (length(old_public_key) = 64),
  order_id       TEXT NOT NULL,
  statement      TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('accepted', 'in_force', 'superseded')),
  from_seq       INTEGER CHECK (from_seq IS NULL OR (kind = 'evidence' AND from_seq >= 2)),
  accepted_at    TEXT NOT NULL,
  in_force_at    TEXT,
  PRIMARY KEY (appliance_id, kind, new_public_key)
) STRICT;
CREATE UNIQUE INDEX appliance_key_rotations_waiting ON appliance_key_rotations (appliance_id, kind) WHERE state = 'accepted';
CREATE TRIGGER appliance_key_rotations_fixed BEFORE UPDATE OF appliance_id, kind, new_public_key, new_key_id, old_public_key, order_id, statement, accepted_at ON appliance_key_rotations
BEGIN SELECT RAISE(ABORT, 'appliance key rotations are kept as received: only state, from_seq and in_force_at change'); END;
CREATE TRIGGER appliance_key_rotations_no_delete BEFORE DELETE ON appliance_key_rotations
BEGIN SELECT RAISE(ABORT, 'appliance key rotations are kept: DELETE refused'); END;
`,
};
