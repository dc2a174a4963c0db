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
import { getCandidate, listCandidates, type Candidate } from "./candidates.ts";
import { carrierOf, syncMspRuleset, type SyncResult } from "./distribute.ts";
import { promotedRule } from "./rules.ts";
import { LIVE_STATES, transition, type Actor, type CandidateState } from "./transitions.ts";

export interface ActionDeps {
  clock: Clock;
  relayKey: RelayKey;
}

/** States a superseded site-scoped candidate can be retired from (everything before a final state). */
const SUPERSEDABLE: readonly CandidateState[] = ["proposed", "shadow", "approved", "active", "graduated"];

/** States whose fleet-wide rule supersedes a site's rule for the same fix: live, or being activated now. */
const COVERING: readonly CandidateState[] = [...LIVE_STATES, "approved"];

/**
 * Retires the site-scoped candidates (of `candidates`, all of one MSP) whose fix a fleet-wide rule now
 * covers: a site never runs two promoted rules for one fix, and the fleet rule, proven at more sites, is the
 * one kept. Each retirement is a ledger entry naming the fleet rule. Returns the ids retired.
 */
async function retireSuperseded(tx: Tx, deps: ActionDeps, candidates: readonly Candidate[]): Promise<Set<string>> {
  const fleet = new Map<string, string>(); // fix key → the fleet-wide candidate covering it
  for (const c of candidates) if (c.scope_site_id === null && COVERING.includes(c.state)) fleet.set(c.fix_key, c.id);
  const retired = new Set<string>();
  if (fleet.size === 0) return retired;
  for (const c of candidates) {
    const by = c.scope_site_id !== null && SUPERSEDABLE.includes(c.state) ? fleet.get(c.fix_key) : undefined;
    if (by === undefined) continue;
    await transition(tx, deps.clock, {
      candidate_id: c.id,
      to: "retired",
      actor: { kind: "system", name: "distribution" },
      reason: `superseded by the fleet-wide rule ${by} for the same fix (one rule per fix at a site)`,
      proof: { superseded_by: by, scope_site_id: c.scope_site_id, rule: promotedRule(c) },
    });
    retired.add(c.id);
  }
  return retired;
}

/**
 * Moves every approved candidate of the MSP to active, proven by the signed rule set version that now
 * carries its rule (the MSP's set, or its site's for a site-scoped rule; published here when the live rules
 * changed), after retiring the site-scoped candidates a fleet-wide rule supersedes. Returns the ids
 * activated and retired, and the sets.
 */
export async function activateApproved(tx: Tx, deps: ActionDeps, mspId: string): Promise<{ activated: string[]; superseded: string[]; sync: SyncResult }> {
  const candidates = await listCandidates(tx, mspId);
  const superseded = await retireSuperseded(tx, deps, candidates);
  const approved = candidates.filter((c) => c.state === "approved" && !superseded.has(c.id));
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
  return { activated: approved.map((c) => c.id), superseded: [...superseded], sync };
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
  // Active, unless a fleet-wide rule for the same fix superseded it at once (see retireSuperseded).
  return { candidate_id: id, state: (await getCandidate(tx, id)).state, ruleset_version: version, published: sync.published };
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
