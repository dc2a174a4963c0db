/**
 * Schema of relay/archive/ (numbered in db/migrations.ts): the WORM archive queue.
 *
 * One row per object the relay must put in the Object Lock bucket: every evidence bundle (exact line bytes)
 * and every countersigned checkpoint. Checkpoints are queued by triggers in the same transaction as the
 * ingest that stores them. Evidence is queued by the archiver itself, from a per-appliance cursor over the
 * append-only evidence (`archive_evidence_cursor`, ARCHIVE_EVIDENCE_CURSOR_MIGRATION below; queue.ts
 * `queueNewEvidence`): every seq up to the appliance's verified_seq is stored, so nothing stored can be missed,
 * and ingest, which adds a few hundred bundles per push, writes no queue row per bundle (that row and its four
 * indexes were ~8 µs of the relay's CPU per bundle). Until queued, a bundle counts as pending (status.ts).
 * `INSERT OR IGNORE` keeps a queue problem from ever failing an ingest. Rows stored before this migration are
 * queued by the backfill at the end.
 *
 * Object keys are deterministic (the same data always has the same key):
 *   evidence/<site_id>/<appliance_id>/<seq, 12 digits>.json
 *   checkpoints/<site_id>/<appliance_id>/<size, 12 digits>.note
 *
 * States: `pending` (not yet in the bucket; retried with backoff), `archived` (the bucket acknowledged the
 * version: version_id, sha256, retain_until), `failed` (still retried, slowly, but an operator must look:
 * the bucket refused it, or it failed many times). `attempts` counts attempts *started* (a claim increments
 * it), so a row that is still pending with attempts > 0 may already be in the bucket: the archiver checks
 * with HEAD before uploading again (nothing is archived twice). A claim sets `claim_id` and moves
 * `next_attempt_at` past a lease, so two relay processes on one database never upload the same row at once;
 * the result is recorded only while the claim still holds.
 *
 * A checkpoint whose countersigned note gains a cosignature (relay key rotation) is queued again: the new
 * bytes become a new version of the same key, and the old version stays locked.
 */
import type { FeatureMigration } from "../db/migrations.ts";

/** Digits of the zero-padded seq / size in object keys (sorts by number up to 10^12 - 1). */
export const KEY_NUMBER_DIGITS = 12;

export const ARCHIVE_MIGRATION: FeatureMigration = {
  name: "archive",
  sql: `
CREATE TABLE archive_objects (
  object_key      TEXT    PRIMARY KEY,
  kind            TEXT    NOT NULL CHECK (kind IN ('evidence', 'checkpoint')),
  site_id         TEXT    NOT NULL,
  appliance_id    TEXT    NOT NULL,
  num             INTEGER NOT NULL CHECK (num >= 1),
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'archived', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  claim_id        TEXT,
  enqueued_at     TEXT    NOT NULL,
  next_attempt_at TEXT    NOT NULL,
  last_attempt_at TEXT,
  last_error      TEXT,
  sha256          TEXT    CHECK (sha256 IS NULL OR length(sha256) = 64),
  bytes           INTEGER,
  version_id      TEXT,
  retain_until    TEXT,
  archived_at     TEXT,
  UNIQUE (kind, appliance_id, num),
  CHECK ((state = 'archived') = (archived_at IS NOT NULL))
) STRICT;
CREATE INDEX archive_objects_due ON archive_objects (next_attempt_at) WHERE state <> 'archived';
CREATE INDEX archive_objects_site ON archive_objects (site_id, state, enqueued_at);

CREATE TRIGGER archive_queue_evidence AFTER INSERT ON evidence
BEGIN
  INSERT OR IGNORE INTO archive_objects (object_key, kind, site_id, appliance_id, num, enqueued_at, next_attempt_at)
  SELECT 'evidence/' || a.site_id || '/' || NEW.appliance_id || '/' || printf('%0${KEY_NUMBER_DIGITS}d', NEW.seq) || '.json',
         'evidence', a.site_id, NEW.appliance_id, NEW.seq, NEW.received_at, NEW.received_at
  FROM appliances a WHERE a.id = NEW.appliance_id;
END;

CREATE TRIGGER archive_queue_checkpoint AFTER INSERT ON checkpoints
BEGIN
  INSERT OR IGNORE INTO archive_objects (object_key, kind, site_id, appliance_id, num, enqueued_at, next_attempt_at)
  SELECT 'checkpoints/' || a.site_id || '/' || NEW.appliance_id || '/' || printf('%0${KEY_NUMBER_DIGITS}d', NEW.size) || '.note',
         'checkpoint', a.site_id, NEW.appliance_id, NEW.size, NEW.received_at, NEW.received_at
  FROM appliances a WHERE a.id = NEW.appliance_id;
END;

CREATE TRIGGER archive_requeue_checkpoint AFTER UPDATE OF countersigned_note ON checkpoints
WHEN NEW.countersigned_note IS NOT OLD.countersigned_note
BEGIN
  UPDATE archive_objects
     SET state = 'pending', attempts = 0, claim_id = NULL, next_attempt_at = NEW.received_at, archived_at = NULL, last_error = NULL
   WHERE kind = 'checkpoint' AND appliance_id = NEW.appliance_id AND num = NEW.size;
END;

INSERT OR IGNORE INTO archive_objects (object_key, kind, site_id, appliance_id, num, enqueued_at, next_attempt_at)
SELECT 'evidence/' || a.site_id || '/' || e.appliance_id || '/' || printf('%0${KEY_NUMBER_DIGITS}d', e.seq) || '.json',
       'evidence', a.site_id, e.appliance_id, e.seq, e.received_at, e.received_at
FROM evidence e JOIN appliances a ON a.id = e.appliance_id;
INSERT OR IGNORE INTO archive_objects (object_key, kind, site_id, appliance_id, num, enqueued_at, next_attempt_at)
SELECT 'checkpoints/' || a.site_id || '/' || c.appliance_id || '/' || printf('%0${KEY_NUMBER_DIGITS}d', c.size) || '.note',
       'checkpoint', a.site_id, c.appliance_id, c.size, c.received_at, c.received_at
FROM checkpoints c JOIN appliances a ON a.id = c.appliance_id;
`,
};

/**
 * Evidence leaves the ingest transaction's queue (schema 19): the `archive_queue_evidence` trigger is dropped,
 * and each appliance's `queued_seq` says up to which seq its bundles are in `archive_objects` (the archiver
 * queues the rest, queue.ts `queueNewEvidence`). Under the trigger every stored bundle was queued, so the
 * cursor starts at the highest queued seq.
 */
export const ARCHIVE_EVIDENCE_CURSOR_MIGRATION: FeatureMigration = {
  name: "archive_evidence_cursor",
  sql: `
CREATE TABLE archive_evidence_cursor (
  appliance_id TEXT    PRIMARY KEY REFERENCES appliances (id),
  queued_seq   INTEGER NOT NULL CHECK (queued_seq >= 0)
) STRICT;
DROP TRIGGER archive_queue_evidence;
INSERT INTO archive_evidence_cursor (appliance_id, queued_seq)
SELECT appliance_id, MAX(num) FROM archive_objects WHERE kind = 'evidence' GROUP BY appliance_id;
`,
};
