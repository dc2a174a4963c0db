/**
 * Compliance scores and control readiness: the ONE scoring function every view, report and API uses
 * (ARCHITECTURE §8, issue 7 "Scores and readiness"). Pure: inputs are check results, the time and the
 * catalogue; no database, no clock.
 *
 * Rules, in the order they apply:
 * 1. Window. Only results with `now - 30 days <= finished_at <= now` count (results "from the future" are
 *    ignored, which is also what makes `dailyHistory` replay the past exactly).
 * 2. Latest wins. One result per (check, host): the newest `finished_at`, whichever appliance of the site
 *    produced it (a site with two appliances is merged). On a tie the worse status wins (error > fail >
 *    pass > not_applicable), so a tie never hides a failure; then the smaller appliance id, for determinism.
 * 3. Unreachable hosts. An input with `check: null` (what `resultsFromBundleLines` emits for a `check_cycle`
 *    bundle with outcome `error` and no results) says "this host could not be scanned at finished_at". Every
 *    check that host last reported as pass/fail/error BEFORE that moment becomes `error` (not passing) at the
 *    unreachable time; `not_applicable` stays excluded (applicability is a property of the host, not of
 *    reachability). A host that never reported a check in the window adds nothing: we cannot know which
 *    checks apply to it. A newer real result (e.g. from the site's other appliance) still wins.
 * 4. Scores. `not_applicable` is excluded; `error` counts as not passing. Category score = passing /
 *    applicable × 100 (unrounded; views round). A category without applicable results is `null` ("no
 *    data"), never 100. Overall = mean of the categories that have data, weighted by the catalogue's
 *    `CATEGORY_WEIGHTS` renormalised over those categories; `null` when no category has data.
 * 5. Controls. A control (`framework:citation`) is ready only when every mapped check that is in scope has,
 *    on every host, a latest result that passes and is fresh (age strictly below the check's
 *    `freshness_limit_hours`). In scope: checks of a platform the site reports at all in the window (a
 *    Linux-only clinic is not blocked by Windows checks). An in-scope mapped check with no result → missing;
 *    a check that is `not_applicable` on every host is not required. A control with nothing required is
 *    `no_data`, never ready.
 *
 * Results naming a check the catalogue does not know (an older or newer catalogue version) are left out
 * and listed in `unknown_checks`, so they never move a score silently.
 */
import { CATEGORIES, CATEGORY_WEIGHTS, catalogue as shippedCatalogue, type Category, type Framework, type Platform } from "../../protocol/catalogue/mod.ts";
import { CHECK_STATUSES, parseBundleLine, type CheckStatus } from "../../protocol/evidence.ts";

/** Results older than this do not count at all (issue 7: "the latest result … within 30 days"). */
export const SCORE_WINDOW_MS = 30 * 86_400_000;
/** Longest `dailyHistory` range: a bit more than a year of daily points, enough for any trend chart. */
export const MAX_HISTORY_DAYS = 400;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** One check result on one host, as stored by the relay. */
export interface ScoreResult {
  appliance_id: string;
  host_id: string;
  check: string;
  status: CheckStatus;
  /** ISO 8601 time the cycle finished. */
  finished_at: string;
  /** Optional; when present on several inputs, they must all name the same site. */
  site_id?: string;
}

/** A host that could not be scanned at `finished_at` (a `check_cycle` bundle with outcome `error`). */
export interface HostUnreachable {
  appliance_id: string;
  host_id: string;
  check: null;
  status: "error";
  finished_at: string;
  site_id?: string;
}

export type ScoreInput = ScoreResult | HostUnreachable;

/** What scoring reads of a check: `Catalogue`'s `Check` satisfies it. */
export interface ScoringCheck {
  readonly id: string;
  readonly category: Category;
  readonly platform: Platform;
  readonly freshness_limit_hours: number;
  readonly controls: Readonly<Record<Framework, readonly string[]>>;
}

/** What scoring reads of the catalogue: the shipped `Catalogue` satisfies it; tests pass a small one. */
export interface ScoringCatalogue {
  findCheck(id: string): ScoringCheck | undefined;
  listChecks(): readonly ScoringCheck[];
  listControls(): readonly { readonly framework: Framework; readonly id: string }[];
}

export interface ScoreOptions {
  now: Date;
  catalogue?: ScoringCatalogue;
}

export interface CategoryScore {
  /** passing / applicable × 100, or null when nothing applicable was reported ("no data"). */
  score: number | null;
  pass: number;
  fail: number;
  error: number;
  not_applicable: number;
  /** Distinct hosts with at least one applicable result in the category. */
  hosts: number;
}

export const CONTROL_REASONS = ["ready", "failing", "unchecked", "stale", "missing", "no_data"] as const;
/** Why a control is (not) ready; when several apply, the first in this list after "ready" is given. */
export type ControlReason = (typeof CONTROL_REASONS)[number];

export interface ControlReadiness {
  ready: boolean;
  reason: ControlReason;
  /** Check ids that keep the control from being ready (sorted). */
  blocking: string[];
}

/** The effective latest result of one check on one host. */
export interface LatestResult {
  check: string;
  host_id: string;
  appliance_id: string;
  category: Category;
  status: CheckStatus;
  finished_at: string;
  /** True when the status is `error` because the host was unreachable after its last real result. */
  unreachable: boolean;
}

export interface SiteScore {
  overall: number | null;
  categories: Record<Category, CategoryScore>;
  /** Keyed `framework:citation`, every control of the catalogue. */
  controls: Record<string, ControlReadiness>;
  /** Sorted by check, then host. */
  latest: LatestResult[];
  unknown_checks: string[];
}

const SEVERITY: Readonly<Record<CheckStatus, number>> = { not_applicable: 0, pass: 1, fail: 2, error: 3 };

interface Timed {
  input: ScoreInput;
  at: number;
}

function timeOf(input: ScoreInput): number {
  const at = Date.parse(input.finished_at);
  if (Number.isNaN(at)) throw new RangeError(`Cannot score a result whose 'finished_at' is not an ISO time: current value is ${JSON.stringify(input.finished_at)}`);
  return at;
}

/** Inputs may come from untrusted callers' JSON, so the statuses are checked at run time too. */
function validate(input: ScoreInput): void {
  const status: string = input.status;
  if (input.check === null) {
    if (status !== "error") throw new RangeError(`Cannot score an unreachable-host input whose 'status' is not "error": current value is ${JSON.stringify(status)}`);
  } else if (!(CHECK_STATUSES as readonly string[]).includes(input.status)) {
    throw new RangeError(`Cannot score a result whose 'status' is not one of ${CHECK_STATUSES.join(", ")}: current value is ${JSON.stringify(input.status)}`);
  }
}

/** Whether `a` replaces `b` as the latest: newer, then worse status, then smaller appliance id. */
function newer(a: Timed, b: Timed): boolean {
  if (a.at !== b.at) return a.at > b.at;
  const s = SEVERITY[a.input.status] - SEVERITY[b.input.status];
  if (s !== 0) return s > 0;
  return a.input.appliance_id < b.input.appliance_id;
}

function emptyCategory(): CategoryScore {
  return { score: null, pass: 0, fail: 0, error: 0, not_applicable: 0, hosts: 0 };
}

/**
 * Scores one site at `now`. Feed it the results of ONE site (all its appliances); throws a RangeError if
 * inputs name different `site_id`s, a bad `finished_at` or a bad status. See the module comment for rules.
 */
export function scoreSite(results: Iterable<ScoreInput>, options: ScoreOptions): SiteScore {
  const cat = options.catalogue ?? shippedCatalogue;
  const now = options.now.getTime();
  if (Number.isNaN(now)) throw new RangeError("Cannot score a site as of an invalid date: 'now' is NaN");
  const since = now - SCORE_WINDOW_MS;

  const latest = new Map<string, Timed>(); // key: check \0 host
  const unreachable = new Map<string, Timed>(); // key: host
  const unknown = new Set<string>();
  let site: string | undefined;

  for (const input of results) {
    validate(input);
    if (input.site_id !== undefined) {
      if (site !== undefined && site !== input.site_id) throw new RangeError(`Cannot score several sites at once: got results of ${JSON.stringify(site)} and ${JSON.stringify(input.site_id)}`);
      site = input.site_id;
    }
    const at = timeOf(input);
    if (at < since || at > now) continue;
    const t: Timed = { input, at };
    if (input.check === null) {
      const prev = unreachable.get(input.host_id);
      if (!prev || newer(t, prev)) unreachable.set(input.host_id, t);
      continue;
    }
    if (!cat.findCheck(input.check)) {
      unknown.add(input.check);
      continue;
    }
    const key = `${input.check}\0${input.host_id}`;
    const prev = latest.get(key);
    if (!prev || newer(t, prev)) latest.set(key, t);
  }

  // Effective latest per (check, host), with unreachable hosts applied (rule 3).
  const effective: LatestResult[] = [];
  for (const { input, at } of latest.values()) {
    if (input.check === null) continue; // never stored in `latest`; narrows the type
    const check = cat.findCheck(input.check)!;
    const down = unreachable.get(input.host_id);
    const base = { check: input.check, host_id: input.host_id, category: check.category };
    if (down && down.at > at && input.status !== "not_applicable") {
      effective.push({ ...base, appliance_id: down.input.appliance_id, status: "error", finished_at: down.input.finished_at, unreachable: true });
    } else {
      effective.push({ ...base, appliance_id: input.appliance_id, status: input.status, finished_at: input.finished_at, unreachable: false });
    }
  }
  effective.sort((a, b) => (a.check < b.check ? -1 : a.check > b.check ? 1 : a.host_id < b.host_id ? -1 : a.host_id > b.host_id ? 1 : 0));

  // Category scores and the weighted overall (rule 4).
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, emptyCategory()])) as Record<Category, CategoryScore>;
  const hosts = new Map<Category, Set<string>>();
  for (const r of effective) {
    const c = categories[r.category];
    c[r.status] += 1;
    if (r.status === "not_applicable") continue;
    const set = hosts.get(r.category) ?? new Set<string>();
    set.add(r.host_id);
    hosts.set(r.category, set);
  }
  let weighted = 0;
  let weights = 0;
  for (const name of CATEGORIES) {
    const c = categories[name];
    c.hosts = hosts.get(name)?.size ?? 0;
    const applicable = c.pass + c.fail + c.error;
    if (applicable === 0) continue;
    c.score = (c.pass / applicable) * 100;
    weighted += CATEGORY_WEIGHTS[name] * c.score;
    weights += CATEGORY_WEIGHTS[name];
  }
  const overall = weights > 0 ? weighted / weights : null;

  return { overall, categories, controls: readiness(cat, effective, now), latest: effective, unknown_checks: [...unknown].sort() };
}

/** Whether a result is too old to show its check's current state (rule 5): its age is at least the check's freshness limit. */
export function isStale(result: { readonly finished_at: string }, check: Pick<ScoringCheck, "freshness_limit_hours">, now: number): boolean {
  return now - Date.parse(result.finished_at) >= check.freshness_limit_hours * HOUR_MS;
}

/** Rule 5: readiness of every control of the catalogue. */
function readiness(cat: ScoringCatalogue, effective: readonly LatestResult[], now: number): Record<string, ControlReadiness> {
  const byCheck = new Map<string, LatestResult[]>();
  const platforms = new Set<Platform>();
  for (const r of effective) {
    const list = byCheck.get(r.check) ?? [];
    list.push(r);
    byCheck.set(r.check, list);
    platforms.add(cat.findCheck(r.check)!.platform);
  }

  // The state of each check once, shared by every control it maps to.
  type CheckState = "ok" | "not_required" | "out_of_scope" | Exclude<ControlReason, "ready" | "no_data">;
  const states = new Map<string, CheckState>();
  for (const check of cat.listChecks()) {
    const rows = (byCheck.get(check.id) ?? []).filter((r) => r.status !== "not_applicable");
    let state: CheckState;
    if (!platforms.has(check.platform)) state = "out_of_scope";
    else if (!byCheck.has(check.id)) state = "missing";
    else if (rows.length === 0) state = "not_required";
    else if (rows.some((r) => r.status === "fail")) state = "failing";
    else if (rows.some((r) => r.status === "error")) state = "unchecked"; // it errored, or its host did not answer
    else if (rows.some((r) => isStale(r, check, now))) state = "stale";
    else state = "ok";
    states.set(check.id, state);
  }

  const out: Record<string, ControlReadiness> = {};
  const order: readonly ControlReason[] = ["failing", "unchecked", "stale", "missing"];
  for (const control of cat.listControls()) {
    const mapped = cat.listChecks().filter((c) => c.controls[control.framework].includes(control.id));
    const blocking = new Map<ControlReason, string[]>();
    let ok = 0;
    for (const check of mapped) {
      const state = states.get(check.id)!;
      if (state === "ok") ok += 1;
      else if (state === "failing" || state === "unchecked" || state === "stale" || state === "missing") blocking.set(state, [...(blocking.get(state) ?? []), check.id]);
    }
    const reason = order.find((r) => blocking.has(r)) ?? (ok > 0 ? "ready" : "no_data");
    out[`${control.framework}:${control.id}`] = { ready: reason === "ready", reason, blocking: [...blocking.values()].flat().sort() };
  }
  return out;
}

export interface HistoryOptions {
  /** First day, `YYYY-MM-DD` (UTC). */
  from: string;
  /** Last day, inclusive, `YYYY-MM-DD` (UTC). */
  to: string;
  catalogue?: ScoringCatalogue;
}

export interface HistoryPoint {
  day: string;
  overall: number | null;
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

function dayStart(name: string, value: string): number {
  const at = DAY_PATTERN.test(value) ? Date.parse(`${value}T00:00:00.000Z`) : Number.NaN;
  if (Number.isNaN(at)) throw new RangeError(`Cannot build a score history: '${name}' must be a day YYYY-MM-DD: current value is ${JSON.stringify(value)}`);
  return at;
}

/**
 * The overall score at the end of each day from `from` to `to` (UTC, inclusive) for trend charts: exactly
 * `scoreSite` as of `YYYY-MM-DDT23:59:59.999Z`, so a chart and a report of that day agree.
 */
export function dailyHistory(results: Iterable<ScoreInput>, options: HistoryOptions): HistoryPoint[] {
  const first = dayStart("from", options.from);
  const last = dayStart("to", options.to);
  const days = (last - first) / DAY_MS + 1;
  if (days < 1 || days > MAX_HISTORY_DAYS) {
    throw new RangeError(`Cannot build a score history of ${days} days: 'from' must not be after 'to' and the range is at most ${MAX_HISTORY_DAYS} days`);
  }
  const all = [...results]; // iterated once per day
  const points: HistoryPoint[] = [];
  for (let i = 0; i < days; i++) {
    const start = first + i * DAY_MS;
    const score = scoreSite(all, options.catalogue ? { now: new Date(start + DAY_MS - 1), catalogue: options.catalogue } : { now: new Date(start + DAY_MS - 1) });
    points.push({ day: new Date(start).toISOString().slice(0, 10), overall: score.overall });
  }
  return points;
}

/**
 * Turns stored (already verified) bundle lines into scoring inputs: one input per result of each
 * `check_cycle` bundle, and a `HostUnreachable` for a `check_cycle` with outcome `error` and no results.
 * Other kinds, and cycles without a `host_id`, carry no per-host result and are skipped. Throws what
 * `parseBundleLine` throws for a malformed line.
 */
export function* resultsFromBundleLines(lines: Iterable<string>): Generator<ScoreInput> {
  for (const line of lines) {
    const b = parseBundleLine(line);
    if (b.kind !== "check_cycle" || b.host_id === null) continue;
    const base = { appliance_id: b.appliance_id, site_id: b.site_id, host_id: b.host_id, finished_at: b.timestamps.finished_at };
    if (b.results.length === 0) {
      if (b.outcome === "error") yield { ...base, check: null, status: "error" };
      continue;
    }
    for (const r of b.results) yield { ...base, check: r.check, status: r.status };
  }
}
