/** Reading learning candidates (rows of `learning_candidates`). */
import type { JsonObject } from "../../protocol/evidence.ts";
import { str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import type { ReplayResult } from "./replay.ts";
import type { CandidateState } from "./transitions.ts";

export interface Candidate {
  id: string;
  msp_id: string;
  group_key: string;
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
  return {
    id: str(row, "id"),
    msp_id: str(row, "msp_id"),
    group_key: str(row, "group_key"),
    check_id: str(row, "check_id"),
    platform: str(row, "platform"),
    runbook: str(row, "runbook"),
    params: JSON.parse(str(row, "params")) as JsonObject,
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

/** When the candidate last went active (ms), or null. */
export async function activatedAt(db: Db, id: string): Promise<number | null> {
  const row = (await db.execute({ sql: "SELECT at FROM learning_transitions WHERE candidate_id = ? AND to_state = 'active' ORDER BY seq DESC LIMIT 1", args: [id] })).rows[0];
  return row ? Date.parse(str(row, "at")) : null;
}
