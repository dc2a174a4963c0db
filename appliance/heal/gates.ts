/**
 * The gates a fix must pass before any step runs — all of them, in one function, in one order, for every
 * path that can run a runbook (L1 rules, L2 plans, `run_runbook` orders). There is no other way to reach the
 * executor, so no path can skip a gate.
 *
 *   1. mode            observe → `alert` (never act); advise → `pending_approval` unless a signed approval
 *                      or an order answers it; enforce → continue.
 *   2. window          a disruptive runbook outside every maintenance window → `deferred` until the next
 *                      window start, unless the site allows disruptive fixes outside windows or the order
 *                      says `ignore_window`. "Maintenance window" means one thing here: a time in which
 *                      disruptive steps MAY run. Nothing in this engine pauses healing with that word.
 *   3. approval        a runbook marked needs_approval without a valid signed approval for exactly this
 *                      runbook, host and check (or an order, which is one) → `pending_approval`.
 *   4. flap            the incident reopened (fail → pass → fail) more than FLAP_MAX_REOPENS times within
 *                      FLAP_WINDOW_MS → `escalated`: stop acting, tell a human.
 *   5. cooldown        the same rule (or L2 runbook) acted on this host within COOLDOWN_MS → `deferred`.
 *   6. failure_budget  FAILURE_BUDGET failed or reverted attempts for this host + check within
 *                      FAILURE_WINDOW_MS → `escalated`.
 *   7. dry_run         → `dry_run`: report what would run; never `success`.
 *
 * Pure: the engine gathers the inputs (window occurrences, approvals, attempt history) and records the
 * decision, including the trail of every gate's verdict, in the attempt's evidence.
 */
import type { Runbook } from "../../protocol/catalogue/mod.ts";
import type { HealingMode } from "../../protocol/sync.ts";
import { COOLDOWN_MS, FAILURE_BUDGET, FAILURE_WINDOW_MS, FLAP_MAX_REOPENS, FLAP_WINDOW_MS, NO_WINDOW_RECHECK_MS } from "./policy.ts";
import { isInWindow, type MaintenanceWindow } from "../../protocol/windows/windows.ts";

export const GATES = ["mode", "window", "approval", "flap", "cooldown", "failure_budget", "dry_run"] as const;
export type GateName = (typeof GATES)[number];

/** The outcomes a gate can stop a fix with (a subset of the evidence outcomes). */
export const GATE_OUTCOMES = ["alert", "pending_approval", "deferred", "escalated", "dry_run"] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

/** One gate's verdict: `pass`ed, `block`ed the fix, or did not apply (`skip`). */
export interface GateStep {
  gate: GateName;
  verdict: "pass" | "block" | "skip";
  note: string;
}

/** A valid approval (the engine has already matched runbook, host, check and expiry). */
export interface GateApproval {
  order_id: string;
  approved_until: number;
}

/** A `run_runbook` order: the order is the approval; it may waive the window and ask for a dry run. */
export interface GateOrder {
  order_id: string;
  ignore_window: boolean;
  dry_run: boolean;
}

export interface GateInput {
  now: number;
  mode: HealingMode;
  runbook: Pick<Runbook, "id" | "disruptive" | "needs_approval">;
  windows: readonly MaintenanceWindow[];
  allowDisruptiveOutsideWindow: boolean;
  approval: GateApproval | null;
  order: GateOrder | null;
  /** Times (ms) this host + check's incident reopened. */
  reopens: readonly number[];
  /** Start (ms) of the last attempt of this rule (or L2 runbook) on this host that ran steps, or null. */
  lastActedAt: number | null;
  /** Start times (ms) of this host + check's failed or reverted attempts. */
  failures: readonly number[];
  /** The engine runs in dry-run mode. */
  dryRun: boolean;
}

export type GateDecision =
  | { go: true; trail: GateStep[]; approved_by: string | null }
  | {
      go: false;
      gate: GateName;
      outcome: GateOutcome;
      reason: string;
      /** When the incident should be looked at again (null: at the next scan). */
      next_attempt_at: number | null;
      /** For a window deferral: the next window start, or null when no window is configured. */
      next_window_start: number | null;
      trail: GateStep[];
    };

/** The time at which fewer than `limit` of `times` fall within `windowMs` before it. */
export function clearsAt(times: readonly number[], limit: number, windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[sorted.length - limit]! + windowMs;
}

/** Runs the gates in order; see the module comment. */
export function evaluateGates(input: GateInput): GateDecision {
  const trail: GateStep[] = [];
  const { now, runbook, order } = input;
  const pass = (gate: GateName, note: string) => void trail.push({ gate, verdict: "pass", note });
  const skip = (gate: GateName, note: string) => void trail.push({ gate, verdict: "skip", note });
  const block = (gate: GateName, outcome: GateOutcome, reason: string, next_attempt_at: number | null, next_window_start: number | null = null): GateDecision => {
    trail.push({ gate, verdict: "block", note: reason });
    return { go: false, gate, outcome, reason, next_attempt_at, next_window_start, trail };
  };
  const approvedBy = order?.order_id ?? (input.approval && input.approval.approved_until > now ? input.approval.order_id : null);

  // 1. mode
  if (input.mode === "observe") return block("mode", "alert", `healing mode is observe: ${runbook.id} would fix this, nothing was run`, null);
  if (input.mode === "advise") {
    if (approvedBy === null) return block("mode", "pending_approval", `healing mode is advise: ${runbook.id} is recommended and waits for approval`, null);
    pass("mode", `advise, approved by ${approvedBy}`);
  } else pass("mode", "enforce");

  // 2. window
  if (!runbook.disruptive) skip("window", "runbook is not disruptive");
  else {
    const status = isInWindow(input.windows, new Date(now));
    if (status.inside) pass("window", `inside the maintenance window until ${status.current!.end.toISOString()}`);
    else if (input.allowDisruptiveOutsideWindow) pass("window", "outside every maintenance window; the site allows disruptive fixes outside windows");
    else if (order?.ignore_window) pass("window", `outside every maintenance window; order ${order.order_id} waives the window`);
    else {
      const next = status.next?.start.getTime() ?? null;
      const reason = next === null ? `${runbook.id} is disruptive and no maintenance window is configured` : `${runbook.id} is disruptive: deferred to the next maintenance window at ${new Date(next).toISOString()}`;
      return block("window", "deferred", reason, next ?? now + NO_WINDOW_RECHECK_MS, next);
    }
  }

  // 3. approval
  if (!runbook.needs_approval) skip("approval", "runbook needs no approval");
  else if (approvedBy !== null) pass("approval", `approved by ${approvedBy}`);
  else return block("approval", "pending_approval", `${runbook.id} needs a signed approval for this host`, null);

  // 4. flap
  const reopens = input.reopens.filter((t) => t > now - FLAP_WINDOW_MS && t <= now);
  if (reopens.length > FLAP_MAX_REOPENS) {
    return block("flap", "escalated", `check failed again ${reopens.length} times after passing within ${FLAP_WINDOW_MS / 3_600_000} h: something keeps undoing the fix`, clearsAt(reopens, FLAP_MAX_REOPENS + 1, FLAP_WINDOW_MS));
  }
  pass("flap", `${reopens.length} reopen(s) in the flap window`);

  // 5. cooldown
  if (input.lastActedAt !== null && now < input.lastActedAt + COOLDOWN_MS) {
    const until = input.lastActedAt + COOLDOWN_MS;
    return block("cooldown", "deferred", `${runbook.id} ran on this host at ${new Date(input.lastActedAt).toISOString()}; cooling down until ${new Date(until).toISOString()}`, until);
  }
  pass("cooldown", "not in cooldown");

  // 6. failure budget
  const failures = input.failures.filter((t) => t > now - FAILURE_WINDOW_MS && t <= now);
  if (failures.length >= FAILURE_BUDGET) {
    return block("failure_budget", "escalated", `${failures.length} failed attempts within ${FAILURE_WINDOW_MS / 3_600_000} h: healing stopped for this check`, clearsAt(failures, FAILURE_BUDGET, FAILURE_WINDOW_MS));
  }
  pass("failure_budget", `${failures.length} failure(s) in the budget window`);

  // 7. dry run
  if (input.dryRun || order?.dry_run) return block("dry_run", "dry_run", `dry run: ${runbook.id} was not run`, null);
  skip("dry_run", "not a dry run");

  return { go: true, trail, approved_by: approvedBy };
}
