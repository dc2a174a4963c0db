/**
 * The MCP read-only tools, as plain functions of (deps, principal, args) returning JSON-able values: the
 * same numbers the dashboard shows, because they read the same digest and THE scoring function
 * (sites/fleet.ts and sites/site-detail.ts over scores/score.ts `scoreSite` fed by `resultsFromBundleLines`).
 * Every site argument is checked against the caller's tenant first (site-scope.ts); lists go through
 * `visibleOrgsWhere`.
 */
import { listEscalations } from "../escalations/index.ts";
import type { RelayDeps } from "../deps.ts";
import type { Principal } from "../http/types.ts";
import { listFleet } from "../sites/fleet.ts";
import { siteDetail, type SiteDetail } from "../sites/site-detail.ts";
import { siteInScope } from "./site-scope.ts";

/** Check results one answer lists (hosts × checks); more are cut off with `truncated: true`. */
export const MAX_RESULTS_LISTED = 500;
/** Escalation tickets one answer lists. */
export const MAX_ESCALATIONS_LISTED = 100;

type Deps = Pick<RelayDeps, "db" | "clock" | "random">;

/** What an assistant reads for a score: a number with one decimal, or the words "no data" (never 100). */
export type ScoreText = number | "no data";
const scoreText = (s: number | null): ScoreText => (s === null ? "no data" : Math.round(s * 10) / 10);

async function detailOf(deps: Deps, principal: Principal, siteId: string): Promise<SiteDetail> {
  await siteInScope(deps.db, principal, siteId);
  return siteDetail(deps.db, siteId, deps, { days: 1 });
}

/** `list_sites`: every site the caller may see, optionally matching `query` (site, clinic or partner name). */
export async function listSites(deps: Deps, principal: Principal, args: { query?: string | undefined }) {
  const { sites, generated_at } = await listFleet(deps.db, principal, args.query ? { q: args.query } : {}, deps);
  return {
    generated_at,
    sites: sites.map((s) => ({
      id: s.id,
      name: s.name,
      org: s.org_name,
      org_id: s.org_id,
      partner: s.partner_name,
      score: scoreText(s.score),
      failing_results: s.failing,
      unchecked_results: s.unchecked,
      open_incidents: s.open_incidents,
      integrity_incidents: s.integrity_incidents,
      pending_approvals: s.pending_approvals,
      connection: s.connection,
      last_sync: s.last_sync,
      simulated: s.simulated,
    })),
  };
}

/** `site_check_results`: the latest result per check and host (within the 30-day scoring window). */
export async function siteCheckResults(deps: Deps, principal: Principal, args: { site_id: string; host_id?: string | undefined; only_failing?: boolean | undefined }) {
  const d = await detailOf(deps, principal, args.site_id);
  let listed = 0;
  let truncated = false;
  const hosts = [];
  for (const device of d.devices) {
    if (truncated) break;
    if (args.host_id !== undefined && device.host_id !== args.host_id) continue;
    const results = [];
    for (const r of device.results) {
      if (args.only_failing && r.status !== "fail" && r.status !== "error") continue;
      if (listed >= MAX_RESULTS_LISTED) {
        truncated = true;
        break;
      }
      listed++;
      results.push({ check: r.check, title: r.title, category: r.category, status: r.status, finished_at: r.finished_at, unreachable: r.unreachable, expected: r.expected, actual: r.actual });
    }
    if (results.length > 0 || !args.only_failing) {
      hosts.push({ host_id: device.host_id, hostname: device.hostname, platform: device.platform, last_check: device.last_check, passing: device.pass, failing: device.failing, results });
    }
  }
  return {
    site_id: d.site.id,
    site: d.site.name,
    simulated: d.simulated,
    score: scoreText(d.score.overall),
    categories: d.score.categories.map((c) => ({ id: c.id, title: c.title, score: scoreText(c.score), pass: c.pass, fail: c.fail, error: c.error, not_applicable: c.not_applicable })),
    hosts,
    truncated,
    digest_behind: d.digest_behind,
    generated_at: d.generated_at,
  };
}

/**
 * `site_incidents`: the appliance's incidents with their healing attempts (tier L1/L2/L3 and outcome), the
 * integrity incidents of the site's evidence chains, and the escalation tickets.
 */
export async function siteIncidents(deps: Deps, principal: Principal, args: { site_id: string; include_resolved?: boolean | undefined }) {
  const d = await detailOf(deps, principal, args.site_id);
  const escalations = await listEscalations(deps.db, deps, principal, { limit: MAX_ESCALATIONS_LISTED, ...(args.include_resolved ? {} : { active: "true" as const }) }, args.site_id);
  return {
    site_id: d.site.id,
    site: d.site.name,
    incidents: d.incidents
      .filter((i) => args.include_resolved || i.status !== "resolved")
      .map((i) => ({
        incident_id: i.incident_id,
        appliance_id: i.appliance_id,
        host_id: i.host_id,
        check: i.check,
        title: i.title,
        severity: i.severity,
        status: i.status,
        opened_at: i.opened_at,
        updated_at: i.updated_at,
        resolved_at: i.resolved_at,
        occurrences: i.occurrences,
        tier: i.tier,
        last_outcome: i.outcome,
        attempts: i.attempts.map((a) => ({ runbook: a.runbook, tier: a.tier, outcome: a.outcome, finished_at: a.finished_at, deferred_until: a.deferred_until, detail: a.detail })),
      })),
    integrity_incidents: d.appliances.flatMap((a) => a.integrity_incidents.map((i) => ({ id: i.id, appliance_id: a.id, kind: i.kind, code: i.code, seq: i.seq, message: i.message, first_seen: i.first_seen, last_seen: i.last_seen, occurrences: i.occurrences }))),
    escalations: escalations.map((e) => ({
      escalation_id: e.escalation_id,
      incident_id: e.incident_id,
      host_id: e.host_id,
      check: e.check,
      priority: e.priority,
      status: e.status,
      reason: e.reason,
      created_at: e.created_at,
      response_overdue: e.response_overdue,
      resolution_overdue: e.resolution_overdue,
    })),
    generated_at: d.generated_at,
  };
}

/**
 * `evidence_status`: per appliance, how much of its evidence chain the relay verified, the newest checkpoint
 * it countersigned (what an auditor's kit proves), and the chain's integrity incidents.
 */
export async function evidenceStatus(deps: Deps, principal: Principal, args: { site_id: string }) {
  const d = await detailOf(deps, principal, args.site_id);
  return {
    site_id: d.site.id,
    site: d.site.name,
    appliances: d.appliances.map((a) => ({
      appliance_id: a.id,
      state: a.state,
      connection: a.connection,
      last_sync: a.last_sync,
      simulated: a.simulated,
      verified_size: a.evidence.verified_seq,
      head_hash: a.evidence.head_hash,
      acked_outbox_seq: a.evidence.acked_outbox_seq,
      last_countersigned_checkpoint: a.evidence.checkpoint,
      /** Verified bundles the last countersigned checkpoint does not cover yet. */
      not_yet_checkpointed: a.evidence.verified_seq - (a.evidence.checkpoint?.size ?? 0),
      integrity_incidents: a.integrity_incidents.map((i) => ({ id: i.id, kind: i.kind, code: i.code, seq: i.seq, message: i.message, last_seen: i.last_seen, occurrences: i.occurrences })),
    })),
    generated_at: d.generated_at,
  };
}
