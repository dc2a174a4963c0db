/**
 * One pass of the learning loop, and the background job that runs it.
 *
 * `runLearningCycle`: import newly pushed attempts, then for each MSP, in one transaction:
 *   1. mine: groups that meet the thresholds and are not candidates yet are proposed (skipped, with the
 *      reason logged, when their rule would be refused by appliances, e.g. an encryption check): fleet-wide
 *      when proven at enough sites, else scoped to the one site whose own runs prove it, unless the fix
 *      already has a fleet-wide candidate (mining.ts `mineScopedGroups`);
 *   2. shadow: proposed and shadow candidates are replayed against past incidents; the result is stored and
 *      a proposed candidate moves to shadow with it as proof;
 *   3. policy: with auto-promotion on, a shadow candidate whose replay passed and whose current numbers still
 *      meet the thresholds is approved by policy;
 *   4. watch: live rules are judged from their counted executions (canary, drift, graduation);
 *   5. distribute: approved candidates become active in a new signed rule set; a set without disabled rules
 *      is published when the live rules changed.
 * Idempotent: running it twice in a row changes nothing the second time.
 *
 * `startLearningScheduler` runs a cycle every `intervalMs` while it holds the `learning` lease (one relay
 * process at a time when several share a database).
 */
import { canonicalize } from "../../protocol/canonical.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { RelayDb } from "../db/index.ts";
import type { Clock, Random, RelayKey } from "../deps.ts";
import type { RelayLog } from "../log.ts";
import { activateApproved, approveCandidate } from "./actions.ts";
import { activeMsps, importPushedAttempts, loadMinedAttempts } from "./attempts.ts";
import { activatedAt, candidateExists, listCandidates } from "./candidates.ts";
import { promotedRules, rulesFor } from "./distribute.ts";
import { candidateId, canonicalParams, mineScopedGroups } from "./mining.ts";
import { judgeRule, ruleRuns } from "./monitor.ts";
import { loadReplayCases, replayRule } from "./replay.ts";
import { builtinRules, promotedRule, ruleProblems } from "./rules.ts";
import { DAY_MS, HOUR_MS, learningPolicy } from "./thresholds.ts";
import { proposeCandidate, transition } from "./transitions.ts";

export interface LearningDeps {
  db: RelayDb;
  clock: Clock;
  relayKey: RelayKey;
  log: RelayLog;
}

export interface MspReport {
  msp_id: string;
  proposed: string[];
  shadowed: string[];
  approved: string[];
  activated: string[];
  disabled: string[];
  graduated: string[];
  /** Site-scoped candidates retired because a fleet-wide rule for the same fix went live. */
  superseded: string[];
  /** Groups that met the thresholds but whose rule appliances would refuse. */
  skipped: { group_key: string; check: string; runbook: string; problems: string[] }[];
  /** The MSP's newest rule set version (fleet-wide rules). */
  ruleset_version: number | null;
  /** The newest set version of each site with site-scoped rules (or a set of its own). */
  site_ruleset_versions: Record<string, number | null>;
  published: boolean;
}

export interface CycleReport {
  imported: number;
  msps: MspReport[];
}

/** Runs the loop once for one MSP (see the module comment). */
export async function learnForMsp(deps: LearningDeps, mspId: string): Promise<MspReport> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const policy = await learningPolicy(tx, mspId);
    const t = policy.thresholds;
    const report: MspReport = { msp_id: mspId, proposed: [], shadowed: [], approved: [], activated: [], disabled: [], graduated: [], superseded: [], skipped: [], ruleset_version: null, site_ruleset_versions: {}, published: false };

    // 1. mine
    const groups = mineScopedGroups(await loadMinedAttempts(tx, mspId, isoTime(now - t.window_days * DAY_MS)), t, now);
    const byKey = new Map(groups.map((g) => [g.key, g]));
    for (const g of groups) {
      if (!g.proposable) continue;
      const id = candidateId(mspId, g.key);
      if (g.scope_site_id !== null && (await candidateExists(tx, candidateId(mspId, g.group_key)))) continue;
      const problems = ruleProblems([promotedRule({ id, check_id: g.check, platform: g.platform, runbook: g.runbook, params: g.params })]);
      if (problems.length) {
        report.skipped.push({ group_key: g.group_key, check: g.check, runbook: g.runbook, problems });
        continue;
      }
      const { unmet: _unmet, key: _key, proposable: _p, scope_site_id: scope, ...stats } = g;
      const where = scope === null ? `at ${g.sites.length} sites` : `at site ${scope} alone (a rule for that site only)`;
      const reason = `${g.occurrences} runs, ${g.l2_resolutions} L2 resolutions, ${g.success_pct} % success ${where} in ${t.window_days} days`;
      const candidate = { id, msp_id: mspId, group_key: g.key, scope_site_id: scope, check_id: g.check, platform: g.platform, runbook: g.runbook, params: canonicalParams(g.params), stats: { ...stats, scope_site_id: scope, thresholds: t } };
      if (await proposeCandidate(tx, deps.clock, candidate, reason)) {
        report.proposed.push(id);
      }
    }

    // 2. shadow replay
    const live = await promotedRules(tx, mspId);
    for (const c of await listCandidates(tx, mspId, ["proposed", "shadow"])) {
      const { cases, from, to } = await loadReplayCases(tx, mspId, c.check_id, c.platform, t, now, c.scope_site_id);
      const result = replayRule(promotedRule(c), [...builtinRules(), ...rulesFor(live, c.scope_site_id)], cases, t, { from, to });
      const { from: _f, to: _t, ...comparable } = result;
      const prev = c.replay ? (({ from: _pf, to: _pt, ...rest }) => rest)(c.replay) : null;
      if (prev === null || canonicalize(prev) !== canonicalize(comparable)) {
        await tx.execute({ sql: "UPDATE learning_candidates SET replay = ?, updated_at = ? WHERE id = ?", args: [JSON.stringify(result), isoTime(now), c.id] });
      }
      if (c.state === "proposed") {
        await transition(tx, deps.clock, {
          candidate_id: c.id,
          to: "shadow",
          actor: { kind: "system", name: "shadow-replay" },
          reason: `replayed against ${result.cases} past attempts: agreed ${result.agree}, disagreed ${result.disagree}, ${result.pass ? "passed" : "did not pass"}`,
          proof: { replay: result },
        });
        report.shadowed.push(c.id);
      }
      // 3. policy
      const g = byKey.get(c.group_key);
      if (policy.auto_promote && result.pass && g && g.unmet.length === 0) {
        // Approval by policy activates at once (a new signed rule set), like a person's.
        const done = await approveCandidate(tx, deps, c.id, { kind: "policy", name: "auto_promote" }, `auto-promotion: replay agreed ${result.agreement_pct} % and the thresholds are met`);
        report.approved.push(c.id);
        report.activated.push(c.id);
        report.published ||= done.published;
      }
    }

    // 4. watch live rules
    for (const c of await listCandidates(tx, mspId, ["active", "graduated"])) {
      const since = await activatedAt(tx, c.id);
      if (since === null) continue;
      const runs = await ruleRuns(tx, mspId, c.id, isoTime(Math.min(since, now - t.drift_recent_hours * HOUR_MS - t.drift_baseline_days * DAY_MS)));
      const verdict = judgeRule(c.state as "active" | "graduated", since, runs, t, now);
      if (verdict.action === "none") continue;
      await transition(tx, deps.clock, { candidate_id: c.id, to: verdict.action, actor: { kind: "system", name: "canary" }, reason: verdict.reason, proof: verdict.proof });
      (verdict.action === "auto_disabled" ? report.disabled : report.graduated).push(c.id);
    }

    // 5. distribute: approved → active, and a new set whenever the live rules changed (e.g. one was disabled).
    const { activated, superseded, sync } = await activateApproved(tx, deps, mspId);
    report.activated.push(...activated);
    report.superseded.push(...superseded);
    report.ruleset_version = sync.current?.version ?? null;
    report.site_ruleset_versions = Object.fromEntries(Object.entries(sync.sites).map(([site, set]) => [site, set?.version ?? null]));
    report.published ||= sync.published;
    return report;
  });
}

/** Imports pushed attempts, then runs the loop for every MSP that has attempts or candidates. */
export async function runLearningCycle(deps: LearningDeps): Promise<CycleReport> {
  const imported = await importPushedAttempts(deps.db, deps.clock);
  const msps: MspReport[] = [];
  for (const mspId of await activeMsps(deps.db)) {
    const r = await learnForMsp(deps, mspId);
    msps.push(r);
    const changed = r.proposed.length + r.shadowed.length + r.approved.length + r.activated.length + r.disabled.length + r.graduated.length + r.superseded.length;
    if (changed || r.skipped.length) deps.log.info("learning_cycle", { ...r, skipped: r.skipped.map((s) => `${s.check}/${s.runbook}: ${s.problems[0]}`) });
  }
  return { imported, msps };
}

/** Shortest scheduler interval: the loop reads a lot; more often than this only adds load. */
export const MIN_LEARNING_INTERVAL_MS = 5_000;
/** Default: once a minute, about one appliance sync interval. */
export const DEFAULT_LEARNING_INTERVAL_MS = 60_000;
const LEASE = "learning";

/** Takes (or renews) the lease for `holder` until `until`; true when this holder has it. */
export async function takeLease(db: RelayDb, holder: string, now: number, until: number): Promise<boolean> {
  const rs = await db.execute({
    sql: `INSERT INTO learning_leases (name, holder, expires_at) VALUES (?, ?, ?)
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE learning_leases.holder = excluded.holder OR learning_leases.expires_at < ?`,
    args: [LEASE, holder, isoTime(until), isoTime(now)],
  });
  return rs.rowsAffected > 0;
}

export interface LearningScheduler {
  /** Runs one cycle now (if this process holds the lease); resolves with its report or null. */
  runNow(): Promise<CycleReport | null>;
  stop(): Promise<void>;
}

/** Runs the learning loop every `intervalMs` (default 60 s) while holding the lease. */
export function startLearningScheduler(deps: LearningDeps & { random: Random }, opts: { intervalMs?: number } = {}): LearningScheduler {
  const intervalMs = opts.intervalMs ?? DEFAULT_LEARNING_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_LEARNING_INTERVAL_MS) throw new RangeError(`Learning interval must be an integer of at least ${MIN_LEARNING_INTERVAL_MS} ms: current value is ${intervalMs}`);
  const holder = `lease_${Array.from(deps.random(8), (b) => b.toString(16).padStart(2, "0")).join("")}`;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<CycleReport | null> = Promise.resolve(null);
  const once = async (): Promise<CycleReport | null> => {
    const now = deps.clock.now();
    if (!(await takeLease(deps.db, holder, now, now + 3 * intervalMs))) return null;
    return runLearningCycle(deps);
  };
  const runNow = () => {
    running = running.then(once, once).catch((e: unknown) => {
      deps.log.error("learning_cycle_failed", { error: (e as Error).message, code: (e as { code?: string }).code ?? null });
      return null;
    });
    return running;
  };
  const tick = async () => {
    if (stopped) return;
    await runNow();
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, 0);
  return {
    runNow,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
