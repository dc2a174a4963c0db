/**
 * Candidate mining: group healing attempts by (check, platform, runbook, canonical parameters) and say which
 * groups meet the thresholds. Pure and deterministic: the same attempts, thresholds and `now` give the same
 * groups in the same order (by group key), whatever order the rows came in.
 *
 * What counts, within the last `window_days`:
 * - an occurrence is an attempt that ran the runbook: outcome `success`, `failed` or `reverted` (a deferred,
 *   blocked, dry-run or escalated attempt proves nothing about the fix);
 * - an L2 resolution is a successful occurrence whose runbook the L2 planner chose;
 * - the success rate is successes / occurrences;
 * - the sites are the distinct sites with at least one success.
 * The group key is the SHA-256 of the canonical JSON (RFC 8785) of {check, platform, runbook, params}, so
 * parameter member order never splits a group, and the candidate id is derived from (MSP, key), so two relay
 * processes mining the same data propose the same candidate once.
 *
 * Scope (`mineScopedGroups`): a group that meets every threshold across the MSP's sites (at least `min_sites`
 * of them) may become a fleet-wide candidate, keyed by its group key. Otherwise each site's own runs of the fix
 * are a group of their own, judged by the same thresholds over that site alone; one that meets them may become
 * a candidate scoped to that site, keyed by `candidateKey(group key, site)`, so it never collides with the
 * fix's fleet-wide candidate.
 */
import { canonicalize } from "../../protocol/canonical.ts";
import { sha256, sha256Hex } from "../../protocol/hash.ts";
import { isoTime, toBase32Lower } from "../../protocol/ids.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { DAY_MS, siteScopedThresholds, type LearningThresholds } from "./thresholds.ts";

/** Outcomes of an attempt that ran its runbook. */
export const ACTED_OUTCOMES = ["success", "failed", "reverted"] as const;
export const FAILED_OUTCOMES = ["failed", "reverted"] as const;

export function isActed(outcome: string): boolean {
  return (ACTED_OUTCOMES as readonly string[]).includes(outcome);
}

/** The canonical form of a runbook's parameters (what groups and rules compare). */
export function canonicalParams(params: JsonObject): string {
  return canonicalize(params);
}

/** The group key of a fix: SHA-256 hex of canonical {check, platform, runbook, params}. */
export function groupKey(check: string, platform: string, runbook: string, params: JsonObject): string {
  return sha256Hex(canonicalize({ check, platform, runbook, params }));
}

/** The candidate id (and promoted rule id) of a group for an MSP: `lrn_` + 26 base32 characters. */
export function candidateId(mspId: string, key: string): string {
  return `lrn_${toBase32Lower(sha256(`${mspId}:${key}`).slice(0, 16))}`;
}

/**
 * The key of a candidate: the fix's group key when it is fleet-wide; for one scoped to a site, SHA-256 hex of
 * canonical {group_key, site_id}.
 */
export function candidateKey(fixKey: string, scopeSiteId: string | null): string {
  return scopeSiteId === null ? fixKey : sha256Hex(canonicalize({ group_key: fixKey, site_id: scopeSiteId }));
}

/** One attempt as mining reads it. */
export interface MinedAttempt {
  site_id: string;
  check: string;
  platform: string;
  runbook: string | null;
  /** Canonical JSON of the parameters. */
  params: string;
  tier: "L1" | "L2" | "L3";
  outcome: string;
  finished_at: string;
  /** From the demo's labelled simulated history (learning/demo-seed.ts), not a real resolution. */
  simulated: boolean;
}

export interface GroupStats {
  group_key: string;
  check: string;
  platform: string;
  runbook: string;
  params: JsonObject;
  occurrences: number;
  successes: number;
  failures: number;
  l2_resolutions: number;
  /** Runs of the occurrences that come from the demo's simulated history (shown as such, never as real). */
  simulated_runs: number;
  /** Successes / occurrences in percent, one decimal (display only; decisions use integers). */
  success_pct: number;
  /** Sites with at least one success, sorted. */
  sites: string[];
  first_seen: string;
  last_seen: string;
}

export interface MinedGroup extends GroupStats {
  /** Thresholds not met, in words; empty when the group is a candidate. */
  unmet: string[];
}

/** What a group lacks to become a candidate (empty: it qualifies). Integer arithmetic throughout. */
export function unmetThresholds(g: Pick<GroupStats, "occurrences" | "successes" | "l2_resolutions" | "sites">, t: LearningThresholds): string[] {
  const out: string[] = [];
  if (g.occurrences < t.min_occurrences) out.push(`${g.occurrences} occurrences, needs ${t.min_occurrences}`);
  if (g.l2_resolutions < t.min_l2_resolutions) out.push(`${g.l2_resolutions} L2 resolutions, needs ${t.min_l2_resolutions}`);
  if (g.successes * 100 < t.min_success_pct * g.occurrences || g.occurrences === 0) out.push(`success rate ${pct(g.successes, g.occurrences)} %, needs ${t.min_success_pct} %`);
  if (g.sites.length < t.min_sites) out.push(`${g.sites.length} site(s), needs ${t.min_sites}`);
  return out;
}

/** A percentage with one decimal (0 for no runs). */
export function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10;
}

/** Groups of the attempts within the window, sorted by group key, each with what it lacks. */
export function mineGroups(attempts: readonly MinedAttempt[], t: LearningThresholds, now: number): MinedGroup[] {
  const since = isoTime(now - t.window_days * DAY_MS);
  const groups = new Map<string, { g: GroupStats; sites: Set<string> }>();
  for (const a of attempts) {
    if (a.runbook === null || !isActed(a.outcome) || a.finished_at < since) continue;
    const params = JSON.parse(a.params) as JsonObject;
    const key = groupKey(a.check, a.platform, a.runbook, params);
    let entry = groups.get(key);
    if (!entry) {
      entry = {
        g: { group_key: key, check: a.check, platform: a.platform, runbook: a.runbook, params, occurrences: 0, successes: 0, failures: 0, l2_resolutions: 0, simulated_runs: 0, success_pct: 0, sites: [], first_seen: a.finished_at, last_seen: a.finished_at },
        sites: new Set(),
      };
      groups.set(key, entry);
    }
    const g = entry.g;
    g.occurrences++;
    if (a.simulated) g.simulated_runs++;
    if (a.outcome === "success") {
      g.successes++;
      entry.sites.add(a.site_id);
      if (a.tier === "L2") g.l2_resolutions++;
    } else g.failures++;
    if (a.finished_at < g.first_seen) g.first_seen = a.finished_at;
    if (a.finished_at > g.last_seen) g.last_seen = a.finished_at;
  }
  return [...groups.values()]
    .map(({ g, sites }) => {
      const stats: GroupStats = { ...g, sites: [...sites].sort(), success_pct: pct(g.successes, g.occurrences) };
      return { ...stats, unmet: unmetThresholds(stats, t) };
    })
    .sort((a, b) => (a.group_key < b.group_key ? -1 : a.group_key > b.group_key ? 1 : 0));
}

/** A group with the scope it would have as a candidate. */
export interface ScopedGroup extends MinedGroup {
  /** The candidate key: `candidateKey(group_key, scope_site_id)`. */
  key: string;
  /** null: the MSP's runs at all its sites; else the runs at this one site only. */
  scope_site_id: string | null;
  /** Whether it may be proposed: it meets its thresholds, and a site group only when its fix is not proven fleet-wide. */
  proposable: boolean;
}

/** Fleet-wide groups and per-site groups of the attempts (see the module comment), sorted by candidate key. */
export function mineScopedGroups(attempts: readonly MinedAttempt[], t: LearningThresholds, now: number): ScopedGroup[] {
  const fleet = mineGroups(attempts, t, now);
  const fleetProven = new Set(fleet.filter((g) => g.unmet.length === 0).map((g) => g.group_key));
  const bySite = new Map<string, MinedAttempt[]>();
  for (const a of attempts) {
    const list = bySite.get(a.site_id);
    if (list) list.push(a);
    else bySite.set(a.site_id, [a]);
  }
  const out: ScopedGroup[] = fleet.map((g) => ({ ...g, key: g.group_key, scope_site_id: null, proposable: g.unmet.length === 0 }));
  const siteT = siteScopedThresholds(t);
  for (const [siteId, list] of bySite) {
    for (const g of mineGroups(list, siteT, now)) {
      out.push({ ...g, key: candidateKey(g.group_key, siteId), scope_site_id: siteId, proposable: g.unmet.length === 0 && !fleetProven.has(g.group_key) });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
