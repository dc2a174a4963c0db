/**
 * What the dashboard reads: an MSP's candidates with their current numbers (mined live over the window, from
 * the organisations the viewer may see; a site-scoped candidate's numbers are its site's alone) and scope, and
 * one candidate in full (ledger, replay, rule, execution counters, daily success series).
 */
import { isoTime } from "../../protocol/ids.ts";
import type { Rule } from "../../protocol/ruleset.ts";
import { visibleOrgsWhere } from "../auth/scope.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import type { Principal } from "../http/types.ts";
import { getCandidate, listCandidates, type Candidate } from "./candidates.ts";
import { mineScopedGroups, pct, type MinedAttempt, type MinedGroup } from "./mining.ts";
import { NO_RUNS, ruleCounters, type RuleCounters } from "./monitor.ts";
import { promotedRule } from "./rules.ts";
import { DAY_MS, learningPolicy, type LearningThresholds } from "./thresholds.ts";
import { ledger, type CandidateState, type LedgerEntry } from "./transitions.ts";

/** Days in a candidate's daily success series. */
export const SERIES_DAYS = 30;

export interface CandidateSummary {
  id: string;
  rule_id: string;
  check: string;
  platform: string;
  runbook: string;
  params: Candidate["params"];
  state: CandidateState;
  /** Where its rule applies: null for every site of the MSP, else the one site it was proven at. */
  scope_site: { id: string; name: string } | null;
  created_at: string;
  updated_at: string;
  /** Numbers over the current window (they move as attempts arrive). */
  occurrences: number;
  successes: number;
  l2_resolutions: number;
  /** Of the occurrences, runs from the demo's labelled simulated history (not real resolutions). */
  simulated_runs: number;
  success_pct: number;
  sites: { id: string; name: string }[];
  last_seen: string | null;
  /** Thresholds the current numbers no longer meet (empty when they do). */
  unmet: string[];
  replay: { pass: boolean; agreement_pct: number; agree: number; disagree: number } | null;
  executions: RuleCounters;
}

/** The runs the viewer may see since `since` (of one candidate's fix, at its site when scoped, with `of`). */
async function visibleAttempts(db: RelayDb, viewer: Principal, since: string, of?: Pick<Candidate, "fix_key" | "scope_site_id">): Promise<MinedAttempt[]> {
  const orgs = visibleOrgsWhere(viewer);
  const only = of ? ` AND h.group_key = ?${of.scope_site_id === null ? "" : " AND h.site_id = ?"}` : "";
  const rs = await db.execute({
    sql: `SELECT h.site_id, h.check_id, h.platform, h.runbook, h.params, h.tier, h.outcome, h.finished_at, h.provenance
          FROM healing_attempts h JOIN sites s ON s.id = h.site_id JOIN organisations o ON o.id = s.org_id
          WHERE ${orgs.sql} AND h.msp_id = ? AND h.finished_at >= ? AND h.runbook IS NOT NULL${only}
          ORDER BY h.finished_at, h.appliance_id, h.attempt_id`,
    args: [...orgs.args, viewer.msp_id, since, ...(of ? [of.fix_key, ...(of.scope_site_id === null ? [] : [of.scope_site_id])] : [])],
  });
  return rs.rows.map((r) => ({ site_id: str(r, "site_id"), check: str(r, "check_id"), platform: str(r, "platform"), runbook: str(r, "runbook"), params: str(r, "params"), tier: str(r, "tier") as MinedAttempt["tier"], outcome: str(r, "outcome"), finished_at: str(r, "finished_at"), simulated: str(r, "provenance").startsWith("simulated:") }));
}

async function siteNames(db: RelayDb, viewer: Principal, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const orgs = visibleOrgsWhere(viewer);
  const rs = await db.execute({
    sql: `SELECT s.id, s.name FROM sites s JOIN organisations o ON o.id = s.org_id WHERE ${orgs.sql} AND s.id IN (${ids.map(() => "?").join(", ")})`,
    args: [...orgs.args, ...ids],
  });
  return new Map(rs.rows.map((r) => [str(r, "id"), str(r, "name")]));
}

function summarise(c: Candidate, g: MinedGroup | undefined, t: LearningThresholds, names: Map<string, string>, counters: RuleCounters | undefined): CandidateSummary {
  const stats = g ?? { occurrences: 0, successes: 0, l2_resolutions: 0, simulated_runs: 0, success_pct: 0, sites: [] as string[], last_seen: null, unmet: [] as string[] };
  const unmet = g ? g.unmet : [`no runs in the last ${t.window_days} days`];
  return {
    id: c.id,
    rule_id: c.id,
    check: c.check_id,
    platform: c.platform,
    runbook: c.runbook,
    params: c.params,
    state: c.state,
    scope_site: c.scope_site_id === null ? null : { id: c.scope_site_id, name: names.get(c.scope_site_id) ?? c.scope_site_id },
    created_at: c.created_at,
    updated_at: c.updated_at,
    occurrences: stats.occurrences,
    successes: stats.successes,
    l2_resolutions: stats.l2_resolutions,
    simulated_runs: stats.simulated_runs,
    success_pct: stats.success_pct,
    sites: stats.sites.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id)! })),
    last_seen: stats.last_seen,
    unmet,
    replay: c.replay ? { pass: c.replay.pass, agreement_pct: c.replay.agreement_pct, agree: c.replay.agree, disagree: c.replay.disagree } : null,
    executions: counters ?? NO_RUNS,
  };
}

/** The viewer's MSP's candidates (optionally one state), newest first by last change. */
export async function candidateSummaries(db: RelayDb, viewer: Principal, now: number, state?: CandidateState): Promise<CandidateSummary[]> {
  const { thresholds: t } = await learningPolicy(db, viewer.msp_id);
  const candidates = await listCandidates(db, viewer.msp_id, state ? [state] : undefined);
  const groups = new Map(mineScopedGroups(await visibleAttempts(db, viewer, isoTime(now - t.window_days * DAY_MS)), t, now).map((g) => [g.key, g]));
  const names = await siteNames(db, viewer, [...new Set([...[...groups.values()].flatMap((g) => g.sites), ...candidates.flatMap((c) => c.scope_site_id ?? [])])]);
  const counters = await ruleCounters(db, viewer.msp_id, candidates.map((c) => c.id));
  return candidates
    .map((c) => summarise(c, groups.get(c.group_key), t, names, counters.get(c.id)))
    .sort((a, b) => (a.updated_at > b.updated_at ? -1 : a.updated_at < b.updated_at ? 1 : a.id < b.id ? -1 : 1));
}

export interface DayPoint {
  day: string;
  runs: number;
  successes: number;
  success_pct: number;
  /** Runs chosen by the promoted rule itself (L1, rule_id = candidate id). */
  by_rule: number;
}

export interface CandidateDetail extends CandidateSummary {
  rule: Rule;
  ledger: LedgerEntry[];
  replay_result: Candidate["replay"];
  proposed_stats: Candidate["stats"];
  daily: DayPoint[];
}

/** One candidate in full; the route's scope guard has already checked the viewer may see it. */
export async function candidateDetail(db: RelayDb, viewer: Principal, id: string, now: number): Promise<CandidateDetail> {
  const c = await getCandidate(db, id);
  const { thresholds: t } = await learningPolicy(db, c.msp_id);
  const from = now - SERIES_DAYS * DAY_MS;
  const attempts = await visibleAttempts(db, viewer, isoTime(Math.min(from, now - t.window_days * DAY_MS)), c);
  const g = mineScopedGroups(attempts, t, now).find((x) => x.key === c.group_key);
  const names = await siteNames(db, viewer, [...(g?.sites ?? []), ...(c.scope_site_id === null ? [] : [c.scope_site_id])]);
  const counters = (await ruleCounters(db, c.msp_id, [c.id])).get(c.id);
  const orgs = visibleOrgsWhere(viewer);
  const rs = await db.execute({
    sql: `SELECT substr(h.finished_at, 1, 10) AS day, COUNT(*) AS runs, SUM(h.outcome = 'success') AS successes, SUM(h.rule_id IS NOT NULL AND h.rule_id = ?) AS by_rule
          FROM healing_attempts h JOIN sites s ON s.id = h.site_id JOIN organisations o ON o.id = s.org_id
          WHERE ${orgs.sql} AND h.msp_id = ? AND h.group_key = ? AND h.finished_at >= ? AND h.outcome IN ('success', 'failed', 'reverted')${c.scope_site_id === null ? "" : " AND h.site_id = ?"}
          GROUP BY day`,
    args: [c.id, ...orgs.args, c.msp_id, c.fix_key, isoTime(from), ...(c.scope_site_id === null ? [] : [c.scope_site_id])],
  });
  const byDay = new Map(rs.rows.map((r) => [str(r, "day"), { runs: num(r, "runs"), successes: num(r, "successes"), by_rule: num(r, "by_rule") }]));
  const daily: DayPoint[] = [];
  for (let i = SERIES_DAYS - 1; i >= 0; i--) {
    const day = isoTime(now - i * DAY_MS).slice(0, 10);
    const p = byDay.get(day) ?? { runs: 0, successes: 0, by_rule: 0 };
    daily.push({ day, ...p, success_pct: pct(p.successes, p.runs) });
  }
  return { ...summarise(c, g, t, names, counters), rule: promotedRule(c), ledger: await ledger(db, id), replay_result: c.replay, proposed_stats: c.stats, daily };
}
