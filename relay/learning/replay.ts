/**
 * Shadow replay: before a candidate can be approved, its rule is run (with the one matcher, protocol/rules.ts)
 * against the past attempts for its check and platform, next to the rules appliances already run (built-in
 * and this MSP's live promoted rules), using the facts each appliance saw before the attempt. A site-scoped
 * candidate is replayed against that site's attempts only.
 *
 * For each past attempt that ran a runbook, the question is: would this rule have chosen the runbook that
 * actually worked?
 * - `agree`: the rule would be chosen and names this attempt's runbook + params, which succeeded;
 * - `disagree`: the rule would be chosen, but this attempt shows it wrong: its runbook + params failed here,
 *   or a different runbook is what worked;
 * - `preempted`: another rule would be chosen first (nothing changes for such incidents);
 * - `no_match`: no rule applies to those facts;
 * - `uninformative`: the rule would be chosen and a different runbook failed (says nothing about this rule);
 * - `without_facts`: the appliance's facts for the attempt are not at the relay; not judged.
 * It passes when it agreed at least `replay_min_agreement_pct` of the judged (agree + disagree) times, and
 * was judged at least once. Pure apart from loading the cases.
 */
import { compileRules } from "../../protocol/rules.ts";
import type { Rule } from "../../protocol/ruleset.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import { attemptFacts } from "./attempts.ts";
import { canonicalParams, pct } from "./mining.ts";
import { DAY_MS, type LearningThresholds } from "./thresholds.ts";

/** Most past attempts one replay looks at (the newest): enough to judge, bounded in time and memory. */
export const MAX_REPLAY_CASES = 2_000;
/** Disagreements quoted in the result, for the reviewer. */
export const MAX_REPLAY_EXAMPLES = 5;

export interface ReplayCase {
  /** `appliance_id/attempt_id`. */
  ref: string;
  site_id: string;
  runbook: string;
  /** Canonical JSON. */
  params: string;
  outcome: string;
  finished_at: string;
  /** Facts before the attempt, by catalogue fact name (dotted), or null when unknown. */
  facts: JsonObject | null;
}

export interface ReplayResult {
  rule_id: string;
  cases: number;
  agree: number;
  disagree: number;
  preempted: number;
  /** Which rules would have been chosen instead, and how often. */
  preempted_by: Record<string, number>;
  no_match: number;
  uninformative: number;
  without_facts: number;
  agreement_pct: number;
  min_agreement_pct: number;
  pass: boolean;
  examples: { ref: string; runbook: string; outcome: string; finished_at: string }[];
  from: string;
  to: string;
}

const UNSAFE_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

/** Flat dotted fact names (`defender.running_mode`) as the nested object the matcher's paths walk. */
export function nestFacts(flat: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const segs = name.split(".");
    if (segs.some((s) => s === "" || UNSAFE_SEGMENTS.has(s))) continue;
    let node: JsonObject = out;
    let ok = true;
    for (const seg of segs.slice(0, -1)) {
      const next = node[seg];
      if (next === undefined) node = node[seg] = {};
      else if (next !== null && typeof next === "object" && !Array.isArray(next)) node = next;
      else {
        ok = false;
        break;
      }
    }
    if (ok) node[segs.at(-1)!] = value;
  }
  return out;
}

/** Replays `rule` over `cases` next to `otherRules` (see the module comment). */
export function replayRule(rule: Rule, otherRules: readonly Rule[], cases: readonly ReplayCase[], t: Pick<LearningThresholds, "replay_min_agreement_pct">, window: { from: string; to: string }): ReplayResult {
  const compiled = compileRules([...otherRules.filter((r) => r.id !== rule.id), rule]);
  const ruleParams = canonicalParams(rule.params);
  const r: ReplayResult = {
    rule_id: rule.id,
    cases: cases.length,
    agree: 0,
    disagree: 0,
    preempted: 0,
    preempted_by: {},
    no_match: 0,
    uninformative: 0,
    without_facts: 0,
    agreement_pct: 0,
    min_agreement_pct: t.replay_min_agreement_pct,
    pass: false,
    examples: [],
    ...window,
  };
  for (const c of cases) {
    if (c.facts === null) {
      r.without_facts++;
      continue;
    }
    const chosen = compiled.select({ check: rule.check, platform: rule.platform, facts: nestFacts(c.facts) });
    if (chosen === null) r.no_match++;
    else if (chosen.id !== rule.id) {
      r.preempted++;
      r.preempted_by[chosen.id] = (r.preempted_by[chosen.id] ?? 0) + 1;
    } else {
      const same = c.runbook === rule.runbook && c.params === ruleParams;
      const success = c.outcome === "success";
      if (same && success) r.agree++;
      else if (same || success) {
        r.disagree++;
        if (r.examples.length < MAX_REPLAY_EXAMPLES) r.examples.push({ ref: c.ref, runbook: c.runbook, outcome: c.outcome, finished_at: c.finished_at });
      } else r.uninformative++;
    }
  }
  const judged = r.agree + r.disagree;
  r.agreement_pct = pct(r.agree, judged);
  r.pass = judged > 0 && r.agree * 100 >= t.replay_min_agreement_pct * judged;
  return r;
}

/**
 * The MSP's past attempts at a check on a platform that ran a runbook (only at `siteId` when given: a
 * site-scoped rule is judged where it would run), newest first, with their facts.
 */
export async function loadReplayCases(db: RelayDb | Tx, mspId: string, check: string, platform: string, t: Pick<LearningThresholds, "replay_days">, now: number, siteId: string | null = null): Promise<{ cases: ReplayCase[]; from: string; to: string }> {
  const from = isoTime(now - t.replay_days * DAY_MS);
  const to = isoTime(now);
  const rs = await db.execute({
    sql: `SELECT appliance_id, attempt_id, site_id, runbook, params, outcome, finished_at, pre_state FROM healing_attempts
          WHERE msp_id = ? AND check_id = ? AND platform = ? AND finished_at >= ? AND runbook IS NOT NULL AND outcome IN ('success', 'failed', 'reverted')${siteId === null ? "" : " AND site_id = ?"}
          ORDER BY finished_at DESC, appliance_id, attempt_id LIMIT ?`,
    args: [mspId, check, platform, from, ...(siteId === null ? [] : [siteId]), MAX_REPLAY_CASES],
  });
  const cases: ReplayCase[] = [];
  for (const row of rs.rows) {
    const applianceId = str(row, "appliance_id");
    const attemptId = str(row, "attempt_id");
    const stored = strOrNull(row, "pre_state");
    const facts = stored !== null ? (JSON.parse(stored) as JsonObject) : await attemptFacts(db, applianceId, attemptId, str(row, "finished_at"));
    cases.push({ ref: `${applianceId}/${attemptId}`, site_id: str(row, "site_id"), runbook: str(row, "runbook"), params: str(row, "params"), outcome: str(row, "outcome"), finished_at: str(row, "finished_at"), facts });
  }
  return { cases, from, to };
}
