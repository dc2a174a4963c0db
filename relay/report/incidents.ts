/**
 * The month's incidents, rebuilt from signed evidence rather than from the appliance's incident records, so
 * every line of the packet's incident table can be checked against the auditor kit.
 *
 * An incident is one failure episode of one check on one host (the appliance opens one incident per
 * host + check, ARCHITECTURE §3): it opens at the first `fail` result and is resolved by the first later
 * `pass` or `not_applicable`; `error` (could not evaluate) changes nothing. Its healing attempts are the
 * `remediation` bundles for that host and check from its opening until its resolution (including those
 * before the month, for an incident carried into it). Results at the same instant are taken in the scoring
 * order (the worse one last), so ties never hide a failure.
 *
 * Only a bounded look-back before the month is read (evidence-scan.ts). An incident already failing at the
 * first result read, when older evidence exists, opened earlier than anything read: it is marked
 * `opened_earlier`, its time to fix is unknown, and its earlier attempts are in earlier months' packets.
 */
import { HEALING_TIERS, type HealingTier } from "../../protocol/sync.ts";
import { type Remediation, type ResultSeries, STATUS_RANK } from "./evidence-scan.ts";

/** Attempts listed per incident; more are counted in `attempts_total`. */
export const MAX_ATTEMPTS_PER_INCIDENT = 20;

export interface IncidentAttempt {
  finished_at: string;
  tier: HealingTier | null;
  outcome: string;
  runbook: string | null;
}

export interface PacketIncident {
  host_id: string;
  check: string;
  opened_at: string;
  resolved_at: string | null;
  /** resolved_at − opened_at; null while open, or when it opened before the evidence read (`opened_earlier`). */
  time_to_fix_ms: number | null;
  /** Already failing at the first result read, with older evidence not read: it opened at or before `opened_at`. */
  opened_earlier: boolean;
  /** Failing results seen while it was open. */
  failing_results: number;
  attempts: IncidentAttempt[];
  attempts_total: number;
  /** The highest tier that handled it (L3 > L2 > L1), null when nothing was attempted. */
  tier: HealingTier | null;
  /** Outcome of the last attempt, null when nothing was attempted. */
  outcome: string | null;
}

interface Episode {
  host_id: string;
  check: string;
  /** ms since the epoch */
  opened: number;
  resolved: number | null;
  failing: number;
  /** Opened at the first result of the series read. */
  first: boolean;
}

/** The failure episodes of one check on one host that were open at any time in [from, to). */
function episodesOf(sr: ResultSeries, from: number, to: number): Episode[] {
  const n = sr.points.length / 2;
  const order = Array.from({ length: n }, (_, k) => k);
  const p = sr.points;
  order.sort((a, b) => p[2 * a]! - p[2 * b]! || p[2 * a + 1]! - p[2 * b + 1]!);
  const out: Episode[] = [];
  let open: Episode | null = null;
  for (const [index, k] of order.entries()) {
    const at = p[2 * k]!, rank = p[2 * k + 1]!;
    if (at >= to) break;
    if (rank === STATUS_RANK.fail) {
      if (open) open.failing++;
      else open = { host_id: sr.host_id, check: sr.check, opened: at, resolved: null, failing: 1, first: index === 0 };
    } else if (open && (rank === STATUS_RANK.pass || rank === STATUS_RANK.not_applicable)) {
      open.resolved = at;
      if (at >= from) out.push(open);
      open = null;
    }
  }
  if (open) out.push(open);
  return out;
}

/**
 * Incidents open at any time in [from, to), sorted by opening time, host, check. `remediations` may start
 * before the month (attempts on carried-over incidents); `olderEvidence` says evidence exists before the
 * series read, so an incident failing at their first result is `opened_earlier`.
 */
export function rebuildIncidents(series: Iterable<ResultSeries>, remediations: readonly Remediation[], from: number, to: number, olderEvidence = false): PacketIncident[] {
  const episodes: Episode[] = [];
  for (const sr of series) episodes.push(...episodesOf(sr, from, to));
  const toIso = new Date(to).toISOString();

  const byKey = new Map<string, Remediation[]>();
  for (const m of remediations) {
    if (m.host_id === null || m.check === null) continue;
    const k = `${m.check}\0${m.host_id}`;
    const list = byKey.get(k) ?? [];
    list.push(m);
    byKey.set(k, list);
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  const incidents = episodes.map((e): PacketIncident => {
    const opened = iso(e.opened);
    const end = e.resolved === null ? toIso : iso(e.resolved);
    const attempts = (byKey.get(`${e.check}\0${e.host_id}`) ?? []).filter((m) => m.finished_at >= opened && m.finished_at <= end);
    let tier: HealingTier | null = null;
    for (const m of attempts) if (m.tier && (tier === null || HEALING_TIERS.indexOf(m.tier) > HEALING_TIERS.indexOf(tier))) tier = m.tier;
    return {
      host_id: e.host_id,
      check: e.check,
      opened_at: opened,
      resolved_at: e.resolved === null ? null : end,
      time_to_fix_ms: e.resolved === null || (olderEvidence && e.first) ? null : e.resolved - e.opened,
      opened_earlier: olderEvidence && e.first,
      failing_results: e.failing,
      attempts: attempts.slice(0, MAX_ATTEMPTS_PER_INCIDENT).map((m) => ({ finished_at: m.finished_at, tier: m.tier, outcome: m.outcome, runbook: m.runbook })),
      attempts_total: attempts.length,
      tier,
      outcome: attempts.at(-1)?.outcome ?? null,
    };
  });
  incidents.sort((a, b) => (a.opened_at !== b.opened_at ? (a.opened_at < b.opened_at ? -1 : 1) : a.host_id !== b.host_id ? (a.host_id < b.host_id ? -1 : 1) : a.check < b.check ? -1 : a.check > b.check ? 1 : 0));
  return incidents;
}
