/**
 * The candidate state machine and its ledger.
 *
 *   proposed ──▶ shadow ──▶ approved ──▶ active ──▶ graduated
 *      │           │           │           │  ╲         │
 *      ▼           ▼           ▼           ▼   ╲        ▼
 *   retired ◀── retired ◀── retired ◀── retired  auto_disabled ──▶ retired
 *
 * `transition` is the only way a candidate's state changes. It refuses any move not in TRANSITIONS, and any
 * actor not allowed to make it (a person approves or retires; policy may approve; only the loop itself
 * records a shadow replay, activates, graduates or disables; the loop also retires a site-scoped candidate
 * that a fleet-wide rule for the same fix supersedes, actions.ts), with a RelayError `transition_refused` that
 * names the current state and what is allowed from it. Each move appends a ledger row (who, when, why,
 * proof) and then updates the state, in the caller's transaction; the database refuses a state change that
 * does not match the newest ledger row, so the two cannot disagree.
 */
import { isoTime } from "../../protocol/ids.ts";
import { str, strOrNull, type Tx } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";

export const CANDIDATE_STATES = ["proposed", "shadow", "approved", "active", "graduated", "auto_disabled", "retired"] as const;
export type CandidateState = (typeof CANDIDATE_STATES)[number];

/** States whose rule is in the MSP's signed rule set. */
export const LIVE_STATES = ["active", "graduated"] as const satisfies readonly CandidateState[];

export const ACTOR_KINDS = ["user", "policy", "system"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Who moves a candidate: a signed-in MSP user, the MSP's auto-promotion policy, or the loop itself. */
export type Actor = { kind: "user"; principal: Principal } | { kind: "policy"; name: string } | { kind: "system"; name: string };

/** Every allowed move and who may make it. Anything else is refused. */
export const TRANSITIONS: Readonly<Record<CandidateState, Readonly<Partial<Record<CandidateState, readonly ActorKind[]>>>>> = {
  proposed: { shadow: ["system"], retired: ["user", "system"] },
  shadow: { approved: ["user", "policy"], retired: ["user", "system"] },
  approved: { active: ["system"], retired: ["user", "system"] },
  active: { graduated: ["system"], auto_disabled: ["system"], retired: ["user", "system"] },
  graduated: { auto_disabled: ["system"], retired: ["user", "system"] },
  auto_disabled: { retired: ["user"] },
  retired: {},
};

/** Longest reason kept in the ledger. */
export const MAX_REASON_CHARS = 500;

export interface TransitionInput {
  candidate_id: string;
  to: CandidateState;
  actor: Actor;
  reason: string;
  /** What the decision rests on (stats, replay, rule set version, canary numbers); JSON, never a secret. */
  proof: Record<string, unknown>;
}

export interface TransitionResult {
  candidate_id: string;
  from: CandidateState;
  to: CandidateState;
  seq: number;
  at: string;
}

function actorColumns(a: Actor): { id: string; name: string } {
  if (a.kind === "user") return { id: a.principal.user_id, name: `${a.principal.email} (${a.principal.role})` };
  return { id: `${a.kind}:${a.name}`, name: a.name };
}

function allowedText(from: CandidateState): string {
  const moves = Object.entries(TRANSITIONS[from]);
  return moves.length ? moves.map(([to, who]) => `${to} (${(who as readonly string[]).join(", ")})`).join(", ") : "nothing (final state)";
}

/** Appends the ledger row and moves the candidate; refuses disallowed moves. Run it inside a transaction. */
export async function transition(tx: Tx, clock: Clock, input: TransitionInput): Promise<TransitionResult> {
  const row = (await tx.execute({ sql: "SELECT state, msp_id FROM learning_candidates WHERE id = ?", args: [input.candidate_id] })).rows[0];
  if (!row) throw new RelayError("not_found", `No learning candidate ${JSON.stringify(input.candidate_id)}`);
  const from = str(row, "state") as CandidateState;
  const allowed = TRANSITIONS[from][input.to];
  const details = { candidate_id: input.candidate_id, from, to: input.to, actor_kind: input.actor.kind, allowed: allowedText(from) };
  if (!allowed) throw new RelayError("transition_refused", `Cannot move candidate ${input.candidate_id} from ${from} to ${input.to}: allowed from ${from}: ${allowedText(from)}`, details);
  if (!allowed.includes(input.actor.kind)) {
    throw new RelayError("transition_refused", `Cannot move candidate ${input.candidate_id} from ${from} to ${input.to} as ${input.actor.kind}: only ${allowed.join(" or ")} may`, details);
  }
  const reason = input.reason.trim();
  if (reason.length === 0) throw new RelayError("schema", `reason: a transition needs a reason: current value is ${JSON.stringify(input.reason)}`);
  const at = isoTime(clock.now());
  const who = actorColumns(input.actor);
  const ins = await tx.execute({
    sql: `INSERT INTO learning_transitions (candidate_id, msp_id, from_state, to_state, at, actor_kind, actor_id, actor_name, reason, proof)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
    args: [input.candidate_id, str(row, "msp_id"), from, input.to, at, input.actor.kind, who.id, who.name, reason.slice(0, MAX_REASON_CHARS), JSON.stringify(input.proof)],
  });
  // The WHERE on the old state makes a concurrent move (another process, same candidate) fail loudly.
  const upd = await tx.execute({ sql: "UPDATE learning_candidates SET state = ?, updated_at = ? WHERE id = ? AND state = ?", args: [input.to, at, input.candidate_id, from] });
  if (upd.rowsAffected !== 1) throw new RelayError("transition_refused", `Candidate ${input.candidate_id} changed state while moving it to ${input.to}`, details);
  return { candidate_id: input.candidate_id, from, to: input.to, seq: Number(ins.rows[0]?.["seq"]), at };
}

/** A ledger row. */
export interface LedgerEntry {
  seq: number;
  from: CandidateState | null;
  to: CandidateState;
  at: string;
  actor_kind: ActorKind;
  actor_id: string;
  actor_name: string;
  reason: string;
  proof: Record<string, unknown>;
}

/** A candidate's ledger, oldest first. */
export async function ledger(db: Pick<Tx, "execute">, candidateId: string): Promise<LedgerEntry[]> {
  const rs = await db.execute({ sql: "SELECT * FROM learning_transitions WHERE candidate_id = ? ORDER BY seq", args: [candidateId] });
  return rs.rows.map((r) => ({
    seq: Number(r["seq"]),
    from: strOrNull(r, "from_state") as CandidateState | null,
    to: str(r, "to_state") as CandidateState,
    at: str(r, "at"),
    actor_kind: str(r, "actor_kind") as ActorKind,
    actor_id: str(r, "actor_id"),
    actor_name: str(r, "actor_name"),
    reason: str(r, "reason"),
    proof: JSON.parse(str(r, "proof")) as Record<string, unknown>,
  }));
}

export interface NewCandidate {
  id: string;
  msp_id: string;
  /** The candidate key (mining.ts `candidateKey`). */
  group_key: string;
  /** The one site a site-scoped candidate applies to; null or absent: fleet-wide. */
  scope_site_id?: string | null;
  check_id: string;
  platform: string;
  runbook: string;
  /** Canonical JSON. */
  params: string;
  stats: Record<string, unknown>;
}

/**
 * Records a candidate's birth: the row in `proposed` and its first ledger entry (from nothing, by the loop,
 * with the mining stats as proof). Returns false when the candidate already exists (any state): a group is
 * proposed once per MSP and scope.
 */
export async function proposeCandidate(tx: Tx, clock: Clock, c: NewCandidate, reason: string): Promise<boolean> {
  const at = isoTime(clock.now());
  const ins = await tx.execute({
    sql: `INSERT INTO learning_candidates (id, msp_id, group_key, scope_site_id, check_id, platform, runbook, params, state, stats, replay, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, NULL, ?, ?) ON CONFLICT DO NOTHING`,
    args: [c.id, c.msp_id, c.group_key, c.scope_site_id ?? null, c.check_id, c.platform, c.runbook, c.params, JSON.stringify(c.stats), at, at],
  });
  if (ins.rowsAffected === 0) return false;
  await tx.execute({
    sql: `INSERT INTO learning_transitions (candidate_id, msp_id, from_state, to_state, at, actor_kind, actor_id, actor_name, reason, proof)
          VALUES (?, ?, NULL, 'proposed', ?, 'system', 'system:mining', 'mining', ?, ?)`,
    args: [c.id, c.msp_id, at, reason.slice(0, MAX_REASON_CHARS), JSON.stringify(c.stats)],
  });
  return true;
}
