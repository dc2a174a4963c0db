/** Reading learning candidates (rows of `learning_candidates`). */
import type { JsonObject } from "../../protocol/evidence.ts";
import { str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import { groupKey } from "./mining.ts";
import type { ReplayResult } from "./replay.ts";
import type { CandidateState } from "./transitions.ts";

export interface Candidate {
  id: string;
  msp_id: string;
  /** The candidate key (mining.ts `candidateKey`): the fix's group key when fleet-wide. */
  group_key: string;
  /** The fix's group key (`groupKey` of check, platform, runbook, params): what its attempts carry. */
  fix_key: string;
  /** null: a rule for every site of the MSP; else the one site it was proven at and applies to. */
  scope_site_id: string | null;
  check_id: string;
  platform: string;
  runbook: string;
  params: JsonObject;
  state: CandidateState;
  /** Mining stats when it was proposed. */
  stats: Record<string, unknown>;
  /** The latest shadow replay, or null before one ran. */
  replay: ReplayResult | null;
  created_at: string;
  updated_at: string;
}

type Db = Pick<RelayDb | Tx, "execute">;

function candidateOf(row: Row): Candidate {
  const replay = strOrNull(row, "replay");
  const params = JSON.parse(str(row, "params")) as JsonObject;
  return {
    id: str(row, "id"),
    msp_id: str(row, "msp_id"),
    group_key: str(row, "group_key"),
    fix_key: groupKey(str(row, "check_id"), str(row, "platform"), str(row, "runbook"), params),
    scope_site_id: strOrNull(row, "scope_site_id"),
    check_id: str(row, "check_id"),
    platform: str(row, "platform"),
    runbook: str(row, "runbook"),
    params,
    state: str(row, "state") as CandidateState,
    stats: JSON.parse(str(row, "stats")) as Record<string, unknown>,
    replay: replay === null ? null : (JSON.parse(replay) as ReplayResult),
    created_at: str(row, "created_at"),
    updated_at: str(row, "updated_at"),
  };
}

/** An MSP's candidates (optionally only some states), by id. */
export async function listCandidates(db: Db, mspId: string, states?: readonly CandidateState[]): Promise<Candidate[]> {
  const filter = states ? ` AND state IN (${states.map(() => "?").join(", ")})` : "";
  const rs = await db.execute({ sql: `SELECT * FROM learning_candidates WHERE msp_id = ?${filter} ORDER BY id`, args: [mspId, ...(states ?? [])] });
  return rs.rows.map(candidateOf);
}

/** One candidate; RelayError `not_found` when there is none. */
export async function getCandidate(db: Db, id: string): Promise<Candidate> {
  const row = (await db.execute({ sql: "SELECT * FROM learning_candidates WHERE id = ?", args: [id] })).rows[0];
  if (!row) throw new RelayError("not_found", `No learning candidate ${JSON.stringify(id)}`);
  return candidateOf(row);
}

/** Whether a candidate with this id exists (any state). */
export async function candidateExists(db: Db, id: string): Promise<boolean> {
  return (await db.execute({ sql: "SELECT 1 FROM learning_candidates WHERE id = ?", args: [id] })).rows.length > 0;
}

/** When the candidate last went active (ms), or null. */
export async function activatedAt(db: Db, id: string): Promise<number | null> {
  const row = (await db.execute({ sql: "SELECT at FROM learning_transitions WHERE candidate_id = ? AND to_state = 'active' ORDER BY seq DESC LIMIT 1", args: [id] })).rows[0];
  return row ? Date.parse(str(row, "at")) : null;
}
