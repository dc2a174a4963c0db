/**
 * Watching promoted rules: executions are counted back from the healing attempts appliances push (by
 * `rule_id`, which is the candidate id), and each live rule is judged:
 *
 * - canary (active rules): the runs in the first `canary_hours` after activation; once there are at least
 *   `canary_min_runs`, fewer than `canary_min_success_pct` % successes disables the rule;
 * - drift (active and graduated): the success rate over the last `drift_recent_hours` against the rate over
 *   the `drift_baseline_days` before them (each with at least `drift_min_runs` runs); a drop of
 *   `drift_drop_points` percentage points or more disables the rule;
 * - graduation (active): `graduate_after_days` live and `graduate_min_runs` runs at `min_success_pct`.
 * Disabling wins over graduating. Pure apart from the counters query; integer arithmetic throughout.
 */
import { isoTime } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import { pct } from "./mining.ts";
import { DAY_MS, HOUR_MS, type LearningThresholds } from "./thresholds.ts";

/** One run of a rule that acted (success, failed or reverted), oldest first. */
export interface RuleRun {
  outcome: string;
  finished_at: string;
}

export type Verdict = { action: "none"; proof: Record<string, unknown> } | { action: "auto_disabled" | "graduated"; reason: string; proof: Record<string, unknown> };

function rate(runs: readonly RuleRun[]): { runs: number; successes: number; pct: number } {
  const successes = runs.filter((r) => r.outcome === "success").length;
  return { runs: runs.length, successes, pct: pct(successes, runs.length) };
}

/** The verdict on a live rule now (see the module comment). */
export function judgeRule(state: "active" | "graduated", activatedAt: number, runs: readonly RuleRun[], t: LearningThresholds, now: number): Verdict {
  const canaryEnd = isoTime(activatedAt + t.canary_hours * HOUR_MS);
  const since = isoTime(activatedAt);
  const canary = rate(runs.filter((r) => r.finished_at >= since && r.finished_at < canaryEnd));
  const recentFrom = isoTime(now - t.drift_recent_hours * HOUR_MS);
  const baseFrom = isoTime(now - t.drift_recent_hours * HOUR_MS - t.drift_baseline_days * DAY_MS);
  const recent = rate(runs.filter((r) => r.finished_at >= recentFrom));
  const baseline = rate(runs.filter((r) => r.finished_at >= baseFrom && r.finished_at < recentFrom));
  const total = rate(runs.filter((r) => r.finished_at >= since));
  const proof = { canary: { ...canary, until: canaryEnd }, recent: { ...recent, since: recentFrom }, baseline: { ...baseline, since: baseFrom }, since_active: total };

  if (state === "active" && canary.runs >= t.canary_min_runs && canary.successes * 100 < t.canary_min_success_pct * canary.runs) {
    return {
      action: "auto_disabled",
      reason: `canary failed: ${canary.successes} of its first ${canary.runs} runs succeeded (${canary.pct} %), below ${t.canary_min_success_pct} %`,
      proof: { ...proof, rule: "canary" },
    };
  }
  if (recent.runs >= t.drift_min_runs && baseline.runs >= t.drift_min_runs) {
    // baseline% - recent% >= drop, multiplied out by both run counts.
    const drop = baseline.successes * 100 * recent.runs - recent.successes * 100 * baseline.runs;
    if (drop >= t.drift_drop_points * baseline.runs * recent.runs) {
      return {
        action: "auto_disabled",
        reason: `success dropped from ${baseline.pct} % (${t.drift_baseline_days} days) to ${recent.pct} % (last ${t.drift_recent_hours} h), ${t.drift_drop_points} points or more`,
        proof: { ...proof, rule: "drift" },
      };
    }
  }
  if (state === "active" && now >= activatedAt + t.graduate_after_days * DAY_MS && total.runs >= t.graduate_min_runs && total.successes * 100 >= t.min_success_pct * total.runs) {
    return { action: "graduated", reason: `${total.runs} runs over ${t.graduate_after_days}+ days live at ${total.pct} % success`, proof: { ...proof, rule: "graduation" } };
  }
  return { action: "none", proof };
}

/** A rule's acted runs, oldest first (bounded to the newest MAX_RUNS_JUDGED). */
export const MAX_RUNS_JUDGED = 10_000;

export async function ruleRuns(db: RelayDb | Tx, mspId: string, ruleId: string, since: string): Promise<RuleRun[]> {
  const rs = await db.execute({
    sql: `SELECT outcome, finished_at FROM (SELECT outcome, finished_at, appliance_id, attempt_id FROM healing_attempts
          WHERE msp_id = ? AND rule_id = ? AND finished_at >= ? AND outcome IN ('success', 'failed', 'reverted')
          ORDER BY finished_at DESC, appliance_id DESC, attempt_id DESC LIMIT ?) ORDER BY finished_at, appliance_id, attempt_id`,
    args: [mspId, ruleId, since, MAX_RUNS_JUDGED],
  });
  return rs.rows.map((r) => ({ outcome: str(r, "outcome"), finished_at: str(r, "finished_at") }));
}

/** Execution counters of promoted rules, by rule id: what appliances reported running (all time). */
export interface RuleCounters {
  executions: number;
  successes: number;
  failures: number;
  /** Attempts that named the rule but did not run it (deferred, blocked, dry run…). */
  not_run: number;
  sites: number;
  last_run_at: string | null;
}

export async function ruleCounters(db: RelayDb | Tx, mspId: string, ruleIds: readonly string[]): Promise<Map<string, RuleCounters>> {
  const out = new Map<string, RuleCounters>();
  if (ruleIds.length === 0) return out;
  const rs = await db.execute({
    sql: `SELECT rule_id,
            SUM(outcome IN ('success', 'failed', 'reverted')) AS executions,
            SUM(outcome = 'success') AS successes,
            SUM(outcome IN ('failed', 'reverted')) AS failures,
            SUM(outcome NOT IN ('success', 'failed', 'reverted')) AS not_run,
            COUNT(DISTINCT CASE WHEN outcome IN ('success', 'failed', 'reverted') THEN site_id END) AS sites,
            MAX(CASE WHEN outcome IN ('success', 'failed', 'reverted') THEN finished_at END) AS last_run_at
          FROM healing_attempts WHERE msp_id = ? AND rule_id IN (${ruleIds.map(() => "?").join(", ")}) GROUP BY rule_id`,
    args: [mspId, ...ruleIds],
  });
  for (const r of rs.rows) {
    out.set(str(r, "rule_id"), { executions: num(r, "executions"), successes: num(r, "successes"), failures: num(r, "failures"), not_run: num(r, "not_run"), sites: num(r, "sites"), last_run_at: strOrNull(r, "last_run_at") });
  }
  return out;
}

export const NO_RUNS: RuleCounters = Object.freeze({ executions: 0, successes: 0, failures: 0, not_run: 0, sites: 0, last_run_at: null });
