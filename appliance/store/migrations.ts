/**
 * The appliance database schema, as an ordered list of migrations. Never edit a migration that has shipped:
 * add a new one. `openStore` applies each pending migration in its own write transaction and records it in
 * `schema_migrations` (version, name, applied_at); it refuses a database whose version is newer than the
 * last one here, or whose recorded names differ from these.
 *
 * Times are RFC 3339 UTC strings with milliseconds (docs/protocol.md), so they sort as text. Secrets are
 * never stored here: the relay token and private keys live in 0600 key files (keyfiles.ts).
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "evidence_log",
    sql: `
-- The appliance's evidence chain: one row per bundle, seq 1, 2, ... with no gaps. \`line\` is the canonical
-- bundle exactly as signed and hashed; it is never rewritten. \`acked\` = 1 once the relay has stored it;
-- retention deletes only acknowledged rows.
CREATE TABLE evidence (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
  line       TEXT    NOT NULL,
  hash       TEXT    NOT NULL CHECK (length(hash) = 64),
  kind       TEXT    NOT NULL CHECK (kind IN ('check_cycle', 'remediation', 'order', 'system')),
  created_at TEXT    NOT NULL,
  acked      INTEGER NOT NULL DEFAULT 0 CHECK (acked IN (0, 1))
) STRICT;
CREATE INDEX evidence_unacked ON evidence (seq) WHERE acked = 0;
CREATE INDEX evidence_created_at ON evidence (created_at);

-- Messages waiting for the relay, written in the same transaction as the data they carry. outbox_seq is
-- assigned by the writer as MAX(outbox_seq) + 1 inside the write transaction (no AUTOINCREMENT table); it is
-- monotonic because pruning deletes only acknowledged rows and never the row holding the maximum.
CREATE TABLE outbox (
  outbox_seq INTEGER PRIMARY KEY CHECK (outbox_seq >= 1),
  type       TEXT    NOT NULL,
  body       TEXT    NOT NULL,
  created_at TEXT    NOT NULL,
  acked      INTEGER NOT NULL DEFAULT 0 CHECK (acked IN (0, 1))
) STRICT;
CREATE INDEX outbox_unacked ON outbox (outbox_seq) WHERE acked = 0;

-- Signed checkpoints (C2SP signed notes) by tree size; countersigned_note adds the relay's cosignature.
CREATE TABLE checkpoints (
  size               INTEGER PRIMARY KEY CHECK (size >= 1),
  note               TEXT NOT NULL,
  countersigned_note TEXT,
  created_at         TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    name: "healing_orders_identity",
    sql: `
-- One incident per host + check (check_id: "check" is an SQL keyword); a new failure reopens the row.
CREATE TABLE incidents (
  id              INTEGER PRIMARY KEY,
  host_id         TEXT    NOT NULL,
  check_id        TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('open', 'deferred', 'pending_approval', 'escalated', 'resolved')),
  opened_at       TEXT    NOT NULL,
  updated_at      TEXT    NOT NULL,
  resolved_at     TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_outcome    TEXT,
  next_attempt_at TEXT,
  UNIQUE (host_id, check_id)
) STRICT;
CREATE INDEX incidents_status ON incidents (status, next_attempt_at);

-- Every healing attempt, for cooldowns, failure budgets (3 in 24 h) and the learning loop.
CREATE TABLE healing_attempts (
  id           INTEGER PRIMARY KEY,
  incident_id  INTEGER REFERENCES incidents (id),
  host_id      TEXT NOT NULL,
  check_id     TEXT NOT NULL,
  runbook      TEXT NOT NULL,
  rule_id      TEXT,
  tier         TEXT NOT NULL CHECK (tier IN ('L1', 'L2', 'L3')),
  outcome      TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  detail       TEXT,
  evidence_seq INTEGER
) STRICT;
CREATE INDEX healing_attempts_host_check ON healing_attempts (host_id, check_id, started_at);
CREATE INDEX healing_attempts_rule_host ON healing_attempts (rule_id, host_id, started_at);

-- Nonces of orders seen, so an order runs at most once; rows may go once expires_at has passed.
CREATE TABLE order_nonces (
  nonce      TEXT PRIMARY KEY,
  order_id   TEXT NOT NULL,
  seen_at    TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX order_nonces_expires_at ON order_nonces (expires_at);

-- The signed rule set in force (singleton): the envelope exactly as received, its payload hash and version.
CREATE TABLE ruleset (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  version   INTEGER NOT NULL,
  envelope  TEXT    NOT NULL,
  hash      TEXT    NOT NULL CHECK (length(hash) = 64),
  loaded_at TEXT    NOT NULL
) STRICT;

-- Site configuration pushed by the relay (singleton JSON, validated by appliance/config before it is stored).
CREATE TABLE site_config (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  config     TEXT NOT NULL CHECK (json_valid(config)),
  source     TEXT NOT NULL CHECK (source IN ('file', 'relay')),
  updated_at TEXT NOT NULL
) STRICT;

-- Small named values: sync cursors, backoff state. Never secrets.
CREATE TABLE kv (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Who this appliance is (singleton). Public material only: private keys and the relay token are in key files
-- under state_dir; token_sha256 lets the appliance tell which token file matches the enrollment.
CREATE TABLE identity (
  id                     INTEGER PRIMARY KEY CHECK (id = 1),
  state                  TEXT NOT NULL CHECK (state IN ('unclaimed', 'pending', 'enrolled')),
  appliance_id           TEXT,
  site_id                TEXT,
  identity_public_key    TEXT NOT NULL,
  evidence_public_key    TEXT NOT NULL,
  evidence_key_id        TEXT NOT NULL,
  credentials_public_key TEXT NOT NULL,
  relay_keys             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(relay_keys)),
  token_sha256           TEXT CHECK (token_sha256 IS NULL OR length(token_sha256) = 64),
  enrolled_at            TEXT,
  updated_at             TEXT NOT NULL
) STRICT;
`,
  },
];

/** The schema version this code writes. */
export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
