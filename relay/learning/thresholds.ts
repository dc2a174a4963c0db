/**
 * The learning loop's thresholds, in one place: when a group of resolutions becomes a candidate, when a
 * shadow replay passes, when a promoted rule's canary fails or its success rate drifts, when it graduates.
 *
 * Defaults are the reviewed policy (ARCHITECTURE §7, issue 6). An MSP may override any of them within the
 * bounds below (`learning_settings`); the effective values are what every step of the loop reads and what
 * `GET /api/learning/thresholds` shows the UI, each with a plain-language description. Rates are whole
 * percentages so comparisons are exact integer arithmetic (no 0.9 * 10 rounding surprises).
 */
import { z } from "zod";
import { isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, type RelayDb, type Tx } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { RelayError } from "../errors.ts";

export const DEFAULT_THRESHOLDS = Object.freeze({
  /** Attempts that ran the runbook (success, failed or reverted) within the window. */
  min_occurrences: 5,
  /** Of those, successes chosen by the L2 planner: the fix was found, not given. */
  min_l2_resolutions: 3,
  /** Successes / occurrences, in percent. */
  min_success_pct: 90,
  /** Only attempts finished within this many days count. */
  window_days: 7,
  /**
   * Distinct sites with a success: a fleet-wide rule needs proof from more than one clinic. A fix whose proof
   * comes from one site alone (that site's own runs meet every other threshold) becomes a rule for that site only.
   */
  min_sites: 2,
  /** Shadow replay looks at this many days of past attempts for the check. */
  replay_days: 30,
  /** Replay passes when the rule would have chosen what worked at least this often (percent). */
  replay_min_agreement_pct: 90,
  /** Canary: the rule's first runs within this many hours after it went active… */
  canary_hours: 48,
  /** …once there are at least this many… */
  canary_min_runs: 3,
  /** …must succeed at least this often (percent), or the rule is disabled. */
  canary_min_success_pct: 70,
  /** Drift: the success rate over the last hours… */
  drift_recent_hours: 24,
  /** …(with at least this many runs in it and in the baseline)… */
  drift_min_runs: 3,
  /** …compared with the rate over this many days before them… */
  drift_baseline_days: 30,
  /** …may not be lower by this many percentage points, or the rule is disabled. */
  drift_drop_points: 30,
  /** An active rule graduates after this many runs… */
  graduate_min_runs: 20,
  /** …and this many days active, at the minimum success rate. */
  graduate_after_days: 30,
});

export type LearningThresholds = { -readonly [K in keyof typeof DEFAULT_THRESHOLDS]: number };
export type ThresholdName = keyof LearningThresholds;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const pct = int(1, 100);

/** Bounds of each threshold: wide enough for any real policy, narrow enough that none disables the loop's safety. */
export const thresholdsSchema = z.strictObject({
  min_occurrences: int(1, 10_000),
  min_l2_resolutions: int(0, 10_000),
  min_success_pct: pct,
  window_days: int(1, 365),
  min_sites: int(1, 1_000),
  replay_days: int(1, 365),
  replay_min_agreement_pct: pct,
  canary_hours: int(1, 24 * 30),
  canary_min_runs: int(1, 1_000),
  canary_min_success_pct: pct,
  drift_recent_hours: int(1, 24 * 30),
  drift_min_runs: int(1, 1_000),
  drift_baseline_days: int(1, 365),
  drift_drop_points: pct,
  graduate_min_runs: int(1, 100_000),
  graduate_after_days: int(1, 365),
}) satisfies z.ZodType<LearningThresholds>;

/** Overrides: any subset. */
export const thresholdOverridesSchema = thresholdsSchema.partial();
export type ThresholdOverrides = z.output<typeof thresholdOverridesSchema>;

/** What each threshold means, for the UI (one sentence each, with the value filled in). */
export function describeThresholds(t: LearningThresholds): { name: ThresholdName; value: number; text: string }[] {
  const texts: Record<ThresholdName, string> = {
    min_occurrences: `A candidate needs at least ${t.min_occurrences} runs of the same fix (same check, platform, runbook and parameters)`,
    min_l2_resolutions: `at least ${t.min_l2_resolutions} of them found and proven by the L2 planner`,
    min_success_pct: `with a success rate of at least ${t.min_success_pct} %`,
    window_days: `counting only the last ${t.window_days} days`,
    min_sites: `seen succeed at ${t.min_sites} or more sites before it can become a fleet-wide rule; a fix proven by one site's own runs can become a rule for that site only.`,
    replay_days: `Before approval, the rule is replayed against the last ${t.replay_days} days of incidents for that check`,
    replay_min_agreement_pct: `and must have chosen the fix that actually worked at least ${t.replay_min_agreement_pct} % of the time.`,
    canary_hours: `After going live, a rule is watched for ${t.canary_hours} hours:`,
    canary_min_runs: `once it has run ${t.canary_min_runs} times`,
    canary_min_success_pct: `it is switched off automatically if fewer than ${t.canary_min_success_pct} % of its runs succeed.`,
    drift_recent_hours: `Later, its success over the last ${t.drift_recent_hours} hours`,
    drift_min_runs: `(at least ${t.drift_min_runs} runs)`,
    drift_baseline_days: `is compared with its rate over the ${t.drift_baseline_days} days before;`,
    drift_drop_points: `a drop of ${t.drift_drop_points} percentage points or more switches it off.`,
    graduate_min_runs: `A rule graduates (proven) after ${t.graduate_min_runs} runs`,
    graduate_after_days: `and ${t.graduate_after_days} days live at the minimum success rate.`,
  };
  return (Object.keys(DEFAULT_THRESHOLDS) as ThresholdName[]).map((name) => ({ name, value: t[name], text: texts[name] }));
}

/** The effective policy of one MSP. */
export interface LearningPolicy {
  thresholds: LearningThresholds;
  /** Overrides set for this MSP (the rest are defaults). */
  overrides: ThresholdOverrides;
  /** Whether candidates whose replay passed are approved by policy, without a person. */
  auto_promote: boolean;
}

/**
 * The thresholds a site-scoped candidate meets: the same ones, counted over that one site's runs, with the
 * site itself as the only site needed.
 */
export function siteScopedThresholds(t: LearningThresholds): LearningThresholds {
  return { ...t, min_sites: 1 };
}

/** Defaults merged with overrides, validated (ValidationError `schema` naming the threshold and value). */
export function mergeThresholds(overrides: ThresholdOverrides): LearningThresholds {
  return parseSchema(thresholdsSchema, { ...DEFAULT_THRESHOLDS, ...overrides }, "learning thresholds");
}

/** The MSP's effective policy (defaults when it never changed anything). */
export async function learningPolicy(db: RelayDb | Tx, mspId: string): Promise<LearningPolicy> {
  const row = (await db.execute({ sql: "SELECT thresholds, auto_promote FROM learning_settings WHERE msp_id = ?", args: [mspId] })).rows[0];
  if (!row) return { thresholds: { ...DEFAULT_THRESHOLDS }, overrides: {}, auto_promote: false };
  const overrides = parseSchema(thresholdOverridesSchema, JSON.parse(str(row, "thresholds")), `learning_settings.thresholds of ${mspId}`);
  return { thresholds: mergeThresholds(overrides), overrides, auto_promote: num(row, "auto_promote") === 1 };
}

export const policyUpdateSchema = z.strictObject({
  /** Overrides to set; `null` for a name puts it back to the default. */
  thresholds: z.record(z.string(), z.number().nullable()).optional(),
  auto_promote: z.boolean().optional(),
});
export type PolicyUpdate = z.output<typeof policyUpdateSchema>;

/**
 * Changes an MSP's overrides and auto-promotion. Validates everything first (unknown names, out-of-bounds
 * values name the threshold and the value) and changes nothing on error.
 */
export async function updateLearningPolicy(db: RelayDb | Tx, clock: Clock, mspId: string, update: PolicyUpdate, by: string): Promise<LearningPolicy> {
  const current = await learningPolicy(db, mspId);
  const next: Record<string, number> = { ...current.overrides };
  for (const [name, value] of Object.entries(update.thresholds ?? {})) {
    if (!Object.hasOwn(DEFAULT_THRESHOLDS, name)) {
      throw new RelayError("schema", `thresholds.${name.slice(0, 60)}: not a learning threshold; known ones are ${Object.keys(DEFAULT_THRESHOLDS).join(", ")}`);
    }
    if (value === null) delete next[name];
    else next[name] = value;
  }
  const overrides = parseSchema(thresholdOverridesSchema, next, "learning thresholds");
  const thresholds = mergeThresholds(overrides);
  const autoPromote = update.auto_promote ?? current.auto_promote;
  await db.execute({
    sql: `INSERT INTO learning_settings (msp_id, thresholds, auto_promote, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (msp_id) DO UPDATE SET thresholds = excluded.thresholds, auto_promote = excluded.auto_promote, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    args: [mspId, JSON.stringify(overrides), autoPromote ? 1 : 0, isoTime(clock.now()), by],
  });
  return { thresholds, overrides, auto_promote: autoPromote };
}

/** Milliseconds in an hour and a day (named so window arithmetic reads as what it is). */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
