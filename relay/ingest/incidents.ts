/**
 * Integrity incidents: a fork (different bytes for a seq or outbox_seq already stored, a chain that no longer
 * links, a checkpoint whose root is not the relay's), a gap, a bad signature, a malformed bundle. Each is
 * recorded with the offending bytes and never "repaired"; the same failure pushed again bumps `occurrences`.
 */
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import type { RelayErrorCode } from "../errors.ts";

export const INCIDENT_KINDS = ["fork", "gap", "bad_signature", "invalid", "chain", "checkpoint", "outbox_conflict"] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** The incident kind of a failure code. */
export function incidentKind(code: RelayErrorCode): IncidentKind {
  switch (code) {
    case "fork":
    case "seq_duplicate":
    case "prev_hash_mismatch":
    case "checkpoint_mismatch":
      return "fork";
    case "seq_gap":
      return "gap";
    case "bad_signature":
    case "unknown_key":
      return "bad_signature";
    case "outbox_conflict":
      return "outbox_conflict";
    case "site_mismatch":
    case "time_backwards":
    case "appliance_mismatch":
      return "chain";
    default:
      return "invalid";
  }
}

export interface IncidentInput {
  appliance_id: string;
  site_id: string;
  kind: IncidentKind;
  code: RelayErrorCode;
  message: string;
  outbox_seq?: number;
  seq?: number;
  /** The offending bytes (a bundle line or a note), kept as evidence of what was sent. */
  line?: string;
  /** SHA-256 of what the relay already holds at that position, when it holds something. */
  stored_sha256?: string;
}

/** Largest offending payload kept in an incident (a bundle line is at most 256 KiB). */
export const MAX_INCIDENT_LINE_CHARS = 256 * 1024;

/** Records an incident (or counts one more occurrence of the same one); returns its id. */
export async function recordIncident(tx: Tx, input: IncidentInput, env: Env): Promise<string> {
  const now = isoTime(env.clock.now());
  const line = input.line === undefined ? null : input.line.slice(0, MAX_INCIDENT_LINE_CHARS);
  const rs = await tx.execute({
    sql: `INSERT INTO integrity_incidents (id, appliance_id, site_id, kind, code, outbox_seq, seq, line, line_sha256, stored_sha256, message, first_seen, last_seen)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (appliance_id, kind, code, outbox_seq, seq, line_sha256)
          DO UPDATE SET last_seen = excluded.last_seen, occurrences = occurrences + 1
          RETURNING id`,
    args: [
      newId("inc", env.random),
      input.appliance_id,
      input.site_id,
      input.kind,
      input.code,
      input.outbox_seq ?? 0,
      input.seq ?? 0,
      line,
      input.line === undefined ? "" : sha256Hex(input.line),
      input.stored_sha256 ?? null,
      input.message.slice(0, 2000),
      now,
      now,
    ],
  });
  return str(rs.rows[0]!, "id");
}

export interface IncidentRecord {
  id: string;
  appliance_id: string;
  site_id: string;
  kind: IncidentKind;
  code: string;
  outbox_seq: number | null;
  seq: number | null;
  line_sha256: string | null;
  stored_sha256: string | null;
  message: string;
  first_seen: string;
  last_seen: string;
  occurrences: number;
}

/** An appliance's incidents, newest first. */
export async function listIncidents(db: RelayDb, applianceId: string): Promise<IncidentRecord[]> {
  const rs = await db.execute({ sql: "SELECT * FROM integrity_incidents WHERE appliance_id = ? ORDER BY last_seen DESC, id", args: [applianceId] });
  return rs.rows.map((r) => ({
    id: str(r, "id"),
    appliance_id: str(r, "appliance_id"),
    site_id: str(r, "site_id"),
    kind: str(r, "kind") as IncidentKind,
    code: str(r, "code"),
    outbox_seq: num(r, "outbox_seq") || null,
    seq: num(r, "seq") || null,
    line_sha256: str(r, "line_sha256") || null,
    stored_sha256: strOrNull(r, "stored_sha256"),
    message: str(r, "message"),
    first_seen: str(r, "first_seen"),
    last_seen: str(r, "last_seen"),
    occurrences: num(r, "occurrences"),
  }));
}
