/**
 * One pass over a site's stored evidence for a packet: every bundle of the site's appliances that finished
 * in [month start − 31 days, month end) is read once, in bounded pages, and reduced to what the packet needs:
 * scoring inputs (the 30-day window before the month's first score point, which is the last day of the
 * previous month, so the packet can say where the month started), per-check
 * month counts and latest values, healing attempts (the month's, and those before it for incidents carried
 * into the month), per-appliance activity (bundles, hours with evidence, pushes and the gaps between them,
 * NTP offsets), and whether any result read comes from the lab simulation.
 *
 * Stored lines were verified at ingest (canonical form, schema, signature, chain) and the table is
 * append-only, so a line is read with JSON.parse and only the members used here are type-checked; a row that
 * is not what ingest stored is a damaged database and throws a TypeError naming the member (as db/rows.ts).
 * Full re-verification is the auditor kit's job. Memory stays flat over a month: scoring inputs are kept per
 * (check, host, day) only (day-end-inputs.ts), results for incidents as packed (time, status) numbers, and
 * strings repeated on every line are interned.
 */
import { BUNDLE_KINDS, CHECK_STATUSES, type BundleKind, type CheckStatus } from "../../protocol/evidence.ts";
import { parseIsoTime } from "../../protocol/ids.ts";
import { HEALING_TIERS, type HealingTier } from "../../protocol/sync.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import { SCORE_WINDOW_MS, type ScoreInput } from "../scores/mod.ts";
import { DayEndInputs } from "./day-end-inputs.ts";
import { firstSeqFinishedFrom, lastSeqFinishedBefore } from "../ingest/finished-bounds.ts";

/** Evidence rows read per query (a page of lines is a few MB at most). */
export const SCAN_PAGE_ROWS = 1000;
/** Longest rendering of a result's `actual` value kept for the report; longer ones are cut with "…". */
export const MAX_ACTUAL_CHARS = 160;
/** Healing attempts kept in detail; beyond it they are only counted (a runaway loop must not fill memory). */
export const MAX_REMEDIATIONS = 20_000;
/** Pushes further apart than this are a sync gap (appliances sync every minute when online). */
export const SYNC_GAP_MS = 3_600_000;
const HOUR_MS = 3_600_000;
/** How far before the month evidence is read: the scoring window before the previous month's last day. */
export const SCAN_LOOKBACK_MS = SCORE_WINDOW_MS + 86_400_000;

/** One check on one host over the month. */
export interface CheckHostMonth {
  check: string;
  host_id: string;
  pass: number;
  fail: number;
  error: number;
  not_applicable: number;
  /** The newest result in the month. */
  last: { status: CheckStatus; finished_at: string; actual: string } | null;
}

/** A healing attempt, from a `remediation` bundle. */
export interface Remediation {
  appliance_id: string;
  seq: number;
  host_id: string | null;
  check: string | null;
  finished_at: string;
  outcome: string;
  tier: HealingTier | null;
  runbook: string | null;
}

/** A period without any push from an appliance. */
export interface SyncGap {
  from: string;
  to: string;
  ms: number;
}

export interface ApplianceActivity {
  appliance_id: string;
  /** Bundles that finished in the month, by kind. */
  bundles: number;
  kinds: Record<string, number>;
  first_finished: string | null;
  last_finished: string | null;
  /** Hour slots (ms of the hour's start) in the month with at least one bundle finished. */
  hours: Set<number>;
  /** Push times (`received_at`) in the month: first, last and the gaps between consecutive pushes. */
  first_push: number | null;
  last_push: number | null;
  gaps: SyncGap[];
  /** Longest delay between a bundle finishing and the relay receiving it, in the month. */
  max_delay_ms: number;
  ntp: { samples: number; max_abs_ms: number | null; last_ms: number | null };
  /** Bundles in the month from the lab simulation (`post_state.simulated`): results about a test lab, not real computers. */
  simulated: number;
}

/** Status order used to break ties at one instant (the scoring order: the worse status last). */
export const STATUS_RANK: Readonly<Record<CheckStatus, number>> = { not_applicable: 0, pass: 1, fail: 2, error: 3 };

/** One check on one host: its results as packed pairs [finished ms, STATUS_RANK, …], in reading order. */
export interface ResultSeries {
  check: string;
  host_id: string;
  points: number[];
}

export interface EvidenceScan {
  /**
   * Scoring inputs from SCAN_LOOKBACK_MS before the month to its end, reduced for scoring at day ends only
   * (day-end-inputs.ts): the month's end and each day of the trend.
   */
  inputs: ScoreInput[];
  /** Results read (before the day-end reduction). */
  results_read: number;
  /** Keyed `check\0host`, every result in the same period, for rebuilding incidents. */
  series: Map<string, ResultSeries>;
  /** Keyed `check\0host`, results that finished in the month. */
  checks: Map<string, CheckHostMonth>;
  /** The month's healing attempts. */
  remediations: Remediation[];
  /** Attempts beyond MAX_REMEDIATIONS (counted, not kept). */
  remediations_dropped: number;
  /**
   * Healing attempts in the look-back before the month (at most MAX_REMEDIATIONS, the newest kept): not the
   * month's work, but how an incident carried into the month was handled (an escalation made last month).
   */
  earlier_remediations: Remediation[];
  /** Check cycles read from before the month that come from the lab simulation (they feed the previous score, the trend's start and carried-over incidents). */
  simulated_earlier: number;
  /** Some appliance has evidence older than the look-back: a result failing at the start of it may have failed for longer. */
  evidence_before_lookback: boolean;
  appliances: ApplianceActivity[];
  hosts: string[];
}

/** Renders a result's `actual` value for a table cell. */
export function shortValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? "null";
  return text.length > MAX_ACTUAL_CHARS ? `${text.slice(0, MAX_ACTUAL_CHARS - 1)}…` : text;
}

/** The members of a stored bundle this scan reads. */
interface StoredBundle {
  appliance_id: string;
  seq: number;
  kind: BundleKind;
  host_id: string | null;
  check: string | null;
  results: { check: string; status: CheckStatus; actual: unknown }[];
  outcome: string;
  finished_at: string;
  action_taken: string | null;
  post_state: Record<string, unknown>;
  ntp_offset_ms: number | null;
}

function damaged(member: string, value: unknown): never {
  throw new TypeError(`Stored evidence member ${member} is not what ingest stores: current value is ${JSON.stringify(value)?.slice(0, 80)}`);
}
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const textOrNull = (v: unknown, m: string): string | null => (v === null || typeof v === "string" ? v : damaged(m, v));

/** Reads the members used here from a stored (verified) line; TypeError when the row is damaged. */
export function readStoredBundle(line: string): StoredBundle {
  const b: unknown = JSON.parse(line);
  if (!isObject(b)) return damaged("line", b);
  const { appliance_id, seq, kind, results, outcome, timestamps, post_state, ntp_offset_ms } = b;
  if (typeof appliance_id !== "string") damaged("appliance_id", appliance_id);
  if (typeof seq !== "number") damaged("seq", seq);
  if (typeof kind !== "string" || !(BUNDLE_KINDS as readonly string[]).includes(kind)) damaged("kind", kind);
  if (!Array.isArray(results)) damaged("results", results);
  for (const r of results as unknown[]) {
    if (!isObject(r) || typeof r["check"] !== "string" || !(CHECK_STATUSES as readonly unknown[]).includes(r["status"])) damaged("results[]", r);
  }
  if (typeof outcome !== "string") damaged("outcome", outcome);
  if (!isObject(timestamps) || typeof timestamps["finished_at"] !== "string") damaged("timestamps", timestamps);
  if (!isObject(post_state)) damaged("post_state", post_state);
  if (ntp_offset_ms !== null && typeof ntp_offset_ms !== "number") damaged("ntp_offset_ms", ntp_offset_ms);
  return {
    appliance_id: appliance_id as string,
    seq: seq as number,
    kind: kind as BundleKind,
    host_id: textOrNull(b["host_id"], "host_id"),
    check: textOrNull(b["check"], "check"),
    results: results as StoredBundle["results"],
    outcome: outcome as string,
    finished_at: (timestamps as Record<string, string>)["finished_at"]!,
    action_taken: textOrNull(b["action_taken"], "action_taken"),
    post_state: post_state as Record<string, unknown>,
    ntp_offset_ms: ntp_offset_ms as number | null,
  };
}

function tierOf(b: StoredBundle): HealingTier | null {
  const t = b.post_state["tier"];
  return typeof t === "string" && (HEALING_TIERS as readonly string[]).includes(t) ? (t as HealingTier) : null;
}

function runbookOf(b: StoredBundle): string | null {
  if (b.action_taken !== null) return b.action_taken;
  const p = b.post_state["proposed_runbook"];
  return typeof p === "string" ? p : null;
}

/** Reads and reduces the evidence of `applianceIds` for the month [from, to). */
export async function scanEvidence(db: RelayDb, applianceIds: readonly string[], from: number, to: number): Promise<EvidenceScan> {
  const windowStart = from - SCAN_LOOKBACK_MS;
  const intern = new Map<string, string>();
  const i = (s: string): string => {
    const seen = intern.get(s);
    if (seen !== undefined) return seen;
    intern.set(s, s);
    return s;
  };
  const inputs = new DayEndInputs();
  const series = new Map<string, ResultSeries>();
  const checks = new Map<string, CheckHostMonth>();
  const remediations: Remediation[] = [];
  const earlier: Remediation[] = [];
  let dropped = 0;
  let simulatedEarlier = 0;
  let beforeLookback = false;
  const hosts = new Set<string>();
  const activity: ApplianceActivity[] = [];

  for (const id of applianceIds) {
    const a: ApplianceActivity = { appliance_id: id, bundles: 0, kinds: {}, first_finished: null, last_finished: null, hours: new Set(), first_push: null, last_push: null, gaps: [], max_delay_ms: 0, ntp: { samples: 0, max_abs_ms: null, last_ms: null }, simulated: 0 };
    activity.push(a);
    const first = await firstSeqFinishedFrom(db, id, new Date(windowStart).toISOString());
    const last = first === null ? null : await lastSeqFinishedBefore(db, id, new Date(to).toISOString());
    if (first === null || last === null) continue;
    if (first > 1) beforeLookback = true; // seq 1 is the chain's first bundle
    let lastNtpAt = "";
    for (let seq = first; seq <= last; seq += SCAN_PAGE_ROWS) {
      const page = await db.execute({
        sql: "SELECT line, finished_at, received_at FROM evidence WHERE appliance_id = ? AND seq >= ? AND seq <= ? ORDER BY seq",
        args: [id, seq, Math.min(last, seq + SCAN_PAGE_ROWS - 1)],
      });
      for (const row of page.rows) {
        const finishedMs = parseIsoTime(str(row, "finished_at"));
        if (finishedMs < windowStart || finishedMs >= to) continue; // finished_at may step back a little
        const b = readStoredBundle(str(row, "line"));
        const inMonth = finishedMs >= from;
        const finished = b.finished_at;
        if (b.kind === "check_cycle" && b.host_id !== null) {
          // The same rule as relay/scores resultsFromBundleLines (a test holds them equal).
          const base = { appliance_id: i(b.appliance_id), host_id: i(b.host_id), finished_at: finished };
          if (b.results.length === 0 && b.outcome === "error") inputs.add({ ...base, check: null, status: "error" }, finishedMs);
          for (const r of b.results) {
            const check = i(r.check);
            inputs.add({ ...base, check, status: r.status }, finishedMs);
            const key = `${check}\0${base.host_id}`;
            let sr = series.get(key);
            if (!sr) series.set(key, (sr = { check, host_id: base.host_id, points: [] }));
            sr.points.push(finishedMs, STATUS_RANK[r.status]);
          }
          if (inMonth) {
            hosts.add(base.host_id);
            for (const r of b.results) {
              const key = `${r.check}\0${b.host_id}`;
              let c = checks.get(key);
              if (!c) checks.set(key, (c = { check: i(r.check), host_id: base.host_id, pass: 0, fail: 0, error: 0, not_applicable: 0, last: null }));
              c[r.status] += 1;
              if (!c.last || c.last.finished_at <= finished) c.last = { status: r.status, finished_at: finished, actual: shortValue(r.actual) };
            }
          }
        }
        const attempt = (): Remediation => ({ appliance_id: id, seq: b.seq, host_id: b.host_id, check: b.check, finished_at: finished, outcome: b.outcome, tier: tierOf(b), runbook: runbookOf(b) });
        if (!inMonth) {
          if (b.kind === "check_cycle" && b.host_id !== null && b.post_state["simulated"] === true) simulatedEarlier++;
          if (b.kind === "remediation") {
            earlier.push(attempt());
            if (earlier.length >= 2 * MAX_REMEDIATIONS) earlier.splice(0, MAX_REMEDIATIONS); // a runaway loop: the newest matter most
          }
          continue;
        }
        if (b.kind === "remediation") {
          if (remediations.length < MAX_REMEDIATIONS) remediations.push(attempt());
          else dropped++;
        }
        a.bundles++;
        a.kinds[b.kind] = (a.kinds[b.kind] ?? 0) + 1;
        if (b.post_state["simulated"] === true) a.simulated++;
        if (a.first_finished === null || finished < a.first_finished) a.first_finished = finished;
        if (a.last_finished === null || finished > a.last_finished) a.last_finished = finished;
        a.hours.add(finishedMs - (finishedMs % HOUR_MS));
        if (b.ntp_offset_ms !== null) {
          a.ntp.samples++;
          a.ntp.max_abs_ms = Math.max(a.ntp.max_abs_ms ?? 0, Math.abs(b.ntp_offset_ms));
          if (finished >= lastNtpAt) (a.ntp.last_ms = b.ntp_offset_ms), (lastNtpAt = finished);
        }
        const received = parseIsoTime(str(row, "received_at"));
        if (received >= from && received < to) {
          a.max_delay_ms = Math.max(a.max_delay_ms, received - finishedMs);
          if (a.last_push !== null && received - a.last_push > SYNC_GAP_MS) a.gaps.push(gap(a.last_push, received));
          if (a.first_push === null) a.first_push = received;
          if (a.last_push === null || received > a.last_push) a.last_push = received;
        }
      }
    }
  }
  const byTime = (x: Remediation, y: Remediation) => (x.finished_at < y.finished_at ? -1 : x.finished_at > y.finished_at ? 1 : x.appliance_id < y.appliance_id ? -1 : x.appliance_id > y.appliance_id ? 1 : x.seq - y.seq);
  remediations.sort(byTime);
  earlier.sort(byTime).splice(0, Math.max(0, earlier.length - MAX_REMEDIATIONS));
  return {
    inputs: inputs.inputs(),
    results_read: inputs.seen,
    series,
    checks,
    remediations,
    remediations_dropped: dropped,
    earlier_remediations: earlier,
    simulated_earlier: simulatedEarlier,
    evidence_before_lookback: beforeLookback,
    appliances: activity,
    hosts: [...hosts].sort(),
  };
}

export function gap(from: number, to: number): SyncGap {
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ms: to - from };
}
