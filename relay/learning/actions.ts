/**
 * What people (and policy) do to candidates, and what follows at once: approving activates the rule in a new
 * signed rule set in the same transaction; retiring a live rule publishes a set without it. Every user action
 * is audited with ids and names only.
 */
import { audit } from "../auth/audit.ts";
import type { Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { getCandidate, listCandidates } from "./candidates.ts";
import { carrierOf, syncMspRuleset, type SyncResult } from "./distribute.ts";
import { promotedRule } from "./rules.ts";
import { LIVE_STATES, transition, type Actor, type CandidateState } from "./transitions.ts";

export interface ActionDeps {
  clock: Clock;
  relayKey: RelayKey;
}

/**
 * Moves every approved candidate of the MSP to active, proven by the signed rule set version that now
 * carries its rule (the MSP's set, or its site's for a site-scoped rule; published here when the live rules
 * changed). Returns the ids activated and the sets.
 */
export async function activateApproved(tx: Tx, deps: ActionDeps, mspId: string): Promise<{ activated: string[]; sync: SyncResult }> {
  const approved = await listCandidates(tx, mspId, ["approved"]);
  const sync = await syncMspRuleset(tx, deps, mspId, approved.map((c) => c.id));
  for (const c of approved) {
    const set = carrierOf(sync, c.scope_site_id);
    await transition(tx, deps.clock, {
      candidate_id: c.id,
      to: "active",
      actor: { kind: "system", name: "distribution" },
      reason: `rule is in signed rule set version ${set?.version}${c.scope_site_id === null ? "" : ` for site ${c.scope_site_id}`}`,
      proof: { ruleset_version: set?.version ?? null, ruleset_hash: set?.ruleset_hash ?? null, scope_site_id: c.scope_site_id, rule: promotedRule(c) },
    });
  }
  return { activated: approved.map((c) => c.id), sync };
}

/** Why approval is refused while the shadow replay has not passed, or null when it has. */
export function replayBlocks(replay: { pass: boolean; agreement_pct: number; min_agreement_pct: number; agree: number; disagree: number } | null): string | null {
  if (replay === null) return "its shadow replay has not run yet";
  if (!replay.pass) return `its shadow replay did not pass: agreed ${replay.agree} of ${replay.agree + replay.disagree} judged times (${replay.agreement_pct} %), needs ${replay.min_agreement_pct} %`;
  return null;
}

export interface ActionResult {
  candidate_id: string;
  state: CandidateState;
  ruleset_version: number | null;
  published: boolean;
}

/** Approval by a person or by policy: shadow → approved → active (new signed rule set). */
export async function approveCandidate(tx: Tx, deps: ActionDeps, id: string, actor: Extract<Actor, { kind: "user" | "policy" }>, reason: string): Promise<ActionResult> {
  const c = await getCandidate(tx, id);
  const blocked = c.state === "shadow" ? replayBlocks(c.replay) : null;
  if (blocked) throw new RelayError("transition_refused", `Cannot approve candidate ${id}: ${blocked}`, { candidate_id: id, from: c.state, to: "approved", replay: c.replay });
  await transition(tx, deps.clock, { candidate_id: id, to: "approved", actor, reason, proof: { stats: c.stats, replay: c.replay } });
  const { sync } = await activateApproved(tx, deps, c.msp_id);
  const version = carrierOf(sync, c.scope_site_id)?.version ?? null;
  if (actor.kind === "user") {
    await audit(tx, deps.clock, actor.principal, { action: "learning.candidate.approve", target: id, details: { check: c.check_id, platform: c.platform, runbook: c.runbook, scope_site_id: c.scope_site_id, ruleset_version: version } });
  }
  return { candidate_id: id, state: "active", ruleset_version: version, published: sync.published };
}

/** A person turns a candidate down before it was approved: proposed | shadow → retired. */
export async function rejectCandidate(tx: Tx, deps: ActionDeps, id: string, principal: Principal, reason: string): Promise<ActionResult> {
  const c = await getCandidate(tx, id);
  if (c.state !== "proposed" && c.state !== "shadow") {
    throw new RelayError("transition_refused", `Cannot reject candidate ${id}: it is ${c.state}; only proposed or shadow candidates can be rejected (retire it instead)`, { candidate_id: id, from: c.state, to: "retired" });
  }
  await transition(tx, deps.clock, { candidate_id: id, to: "retired", actor: { kind: "user", principal }, reason: `rejected: ${reason}`, proof: { stats: c.stats, replay: c.replay } });
  await audit(tx, deps.clock, principal, { action: "learning.candidate.reject", target: id, details: { check: c.check_id, platform: c.platform, runbook: c.runbook } });
  return { candidate_id: id, state: "retired", ruleset_version: null, published: false };
}

/** A person retires a candidate (any state that allows it); a live rule leaves the next signed rule set. */
export async function retireCandidate(tx: Tx, deps: ActionDeps, id: string, principal: Principal, reason: string): Promise<ActionResult> {
  const c = await getCandidate(tx, id);
  await transition(tx, deps.clock, { candidate_id: id, to: "retired", actor: { kind: "user", principal }, reason, proof: { from: c.state, stats: c.stats } });
  const wasLive = (LIVE_STATES as readonly string[]).includes(c.state);
  const sync = wasLive ? await syncMspRuleset(tx, deps, c.msp_id) : null;
  const version = sync ? (carrierOf(sync, c.scope_site_id)?.version ?? null) : null;
  await audit(tx, deps.clock, principal, { action: "learning.candidate.retire", target: id, details: { check: c.check_id, platform: c.platform, runbook: c.runbook, from: c.state, ruleset_version: version } });
  return { candidate_id: id, state: "retired", ruleset_version: version, published: sync?.published ?? false };
}
