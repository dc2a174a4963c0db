/**
 * Runs one runbook on one target and decides what happened — by re-running the check, never by the steps'
 * own reports.
 *
 *   1. Resolve every step's parameters (`{"$param": name}` → the runbook parameter) and validate each step
 *      against its action's schema before anything runs; a runbook that cannot be fully resolved runs nothing.
 *   2. Run the steps in order through the StepRunner, within the runbook's timeout. A step that reports
 *      `ok: false`, throws or times out stops the run: rollback steps (if any) run and the outcome is `failed`.
 *   3. Re-run the check. `pass` → `success`. `fail` → rollback steps run → `reverted` (or `failed` when the
 *      runbook has none, or the rollback itself fails). A re-check that errors, times out or is not
 *      applicable → `failed` (unverified) and no rollback, because nothing says the change was wrong.
 * A step reporting `ok: true` is never success on its own; the seed system's false heals came from that.
 */
import type { Json, Runbook, Step } from "../../protocol/catalogue/mod.ts";
import { stepParamsSchema, validateParams } from "../../protocol/catalogue/mod.ts";
import type { Clock, HostCheckResult, StepRunner, TargetRef } from "../engine/types.ts";
import { clip, RECHECK_TIMEOUT_MS, safeText } from "./policy.ts";

/** A step with its parameters filled in and validated. */
export interface ResolvedStep {
  id: string;
  action: string;
  params: { [name: string]: Json };
}

/** What each step did, for evidence. */
export interface StepRecord {
  id: string;
  action: string;
  phase: "step" | "rollback";
  ok: boolean;
  detail: string;
  ms: number;
}

export type ExecOutcome = "success" | "failed" | "reverted";

export interface ExecResult {
  outcome: ExecOutcome;
  steps: StepRecord[];
  /** The re-run check's result, or null when it was not reached or did not answer. */
  recheck: HostCheckResult | null;
  rollback: "not_needed" | "none" | "ok" | "failed";
  /** One line saying why the outcome is what it is. */
  detail: string;
}

/** Re-runs a check on a target (collect + evaluate), as the scheduler would. */
export type Recheck = (target: TargetRef, checkId: string, signal?: AbortSignal) => Promise<HostCheckResult>;

/** Resolves `$param` references and validates every step of `steps`; returns the problems if any. */
export function resolveSteps(runbook: Runbook, steps: readonly Step[], params: { [name: string]: Json }): { ok: true; steps: ResolvedStep[] } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const out: ResolvedStep[] = [];
  for (const step of steps) {
    const resolved: { [name: string]: Json } = {};
    for (const [name, value] of Object.entries(step.params)) {
      if (value !== null && typeof value === "object" && !Array.isArray(value) && "$param" in value && typeof value.$param === "string") {
        const ref = value.$param;
        if (!Object.hasOwn(params, ref)) problems.push(`step ${step.id}: parameter ${ref} has no value`);
        else resolved[name] = params[ref]!;
      } else resolved[name] = value as Json;
    }
    const schema = stepParamsSchema(runbook.platform, step.action, resolved);
    if (typeof schema === "string") {
      problems.push(`step ${step.id}: ${schema}`);
      continue;
    }
    const valid = validateParams(schema, resolved);
    if (!valid.ok) problems.push(`step ${step.id} (${step.action}): ${valid.issues.map((i) => i.message).join("; ")}`);
    else out.push({ id: step.id, action: step.action, params: valid.value as { [name: string]: Json } });
  }
  return problems.length ? { ok: false, problems } : { ok: true, steps: out };
}

/** Secret- and PHI-free, short text from a remote host's answer. */
const safeDetail = (text: string): string => safeText(String(text));

class Timeout extends Error {}

/** `promise`, or a Timeout rejection after `ms` (aborting `controller` so the runner can stop). */
async function within<T>(promise: Promise<T>, ms: number, controller: AbortController): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Timeout(`timed out after ${ms} ms`));
      reject(new Timeout(`timed out after ${ms} ms`));
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ExecuteInput {
  target: TargetRef;
  runbook: Runbook;
  /** The runbook's parameters, already validated against its params_schema (defaults applied). */
  params: { [name: string]: Json };
  checkId: string;
  runner: StepRunner;
  recheck: Recheck;
  clock: Clock;
  signal?: AbortSignal;
  /** Time budget for the steps (and again for rollback); default the runbook's `timeout_s`. */
  timeoutMs?: number;
  /** Time budget for the re-check; default RECHECK_TIMEOUT_MS. */
  recheckTimeoutMs?: number;
}

/** Runs `steps` in order until one fails; returns whether all passed. */
async function runPhase(phase: StepRecord["phase"], steps: readonly ResolvedStep[], input: ExecuteInput, budgetMs: number, records: StepRecord[]): Promise<{ ok: boolean; failure: string }> {
  const deadline = input.clock.now() + budgetMs;
  for (const step of steps) {
    const started = input.clock.now();
    const remaining = deadline - started;
    const record = (ok: boolean, detail: string) => records.push({ id: step.id, action: step.action, phase, ok, detail: safeDetail(detail), ms: Math.max(0, input.clock.now() - started) });
    if (remaining <= 0 || input.signal?.aborted) {
      record(false, input.signal?.aborted ? "cancelled" : "not started: runbook time budget used up");
      return { ok: false, failure: `${phase} ${step.id} not started (${input.signal?.aborted ? "cancelled" : "time budget used up"})` };
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(input.signal?.reason);
    input.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const out = await within(input.runner.runStep(input.target, { action: step.action, params: step.params, timeoutMs: remaining, signal: controller.signal }), remaining, controller);
      record(out.ok === true, typeof out.detail === "string" ? out.detail : "");
      if (out.ok !== true) return { ok: false, failure: `${phase} ${step.id} (${step.action}) failed: ${safeDetail(String(out.detail))}` };
    } catch (e) {
      const why = e instanceof Timeout ? e.message : `error: ${(e as Error)?.message ?? String(e)}`;
      record(false, why);
      return { ok: false, failure: `${phase} ${step.id} (${step.action}) ${safeDetail(why)}` };
    } finally {
      input.signal?.removeEventListener("abort", onAbort);
    }
  }
  return { ok: true, failure: "" };
}

/** Runs the runbook, re-checks, rolls back when needed; see the module comment. Never throws for host errors. */
export async function executeRunbook(input: ExecuteInput): Promise<ExecResult> {
  const { runbook } = input;
  const budget = input.timeoutMs ?? runbook.timeout_s * 1000;
  const steps: StepRecord[] = [];
  const main = resolveSteps(runbook, runbook.steps, input.params);
  const back = resolveSteps(runbook, runbook.rollback, input.params);
  if (!main.ok || !back.ok) {
    const problems = [...(main.ok ? [] : main.problems), ...(back.ok ? [] : back.problems)];
    return { outcome: "failed", steps, recheck: null, rollback: "not_needed", detail: clip(`nothing run: ${problems.join("; ")}`) };
  }
  const rollback = async (why: string, outcomeIfOk: ExecOutcome, recheck: HostCheckResult | null): Promise<ExecResult> => {
    if (back.steps.length === 0) return { outcome: "failed", steps, recheck, rollback: "none", detail: clip(`${why}; the runbook has no rollback`) };
    const rb = await runPhase("rollback", back.steps, input, budget, steps);
    if (rb.ok) return { outcome: outcomeIfOk, steps, recheck, rollback: "ok", detail: clip(`${why}; rolled back`) };
    return { outcome: "failed", steps, recheck, rollback: "failed", detail: clip(`${why}; rollback failed: ${rb.failure}`) };
  };

  const run = await runPhase("step", main.steps, input, budget, steps);
  if (!run.ok) return rollback(run.failure, "failed", null);

  let recheck: HostCheckResult;
  const controller = new AbortController();
  try {
    recheck = await within(input.recheck(input.target, input.checkId, controller.signal), input.recheckTimeoutMs ?? RECHECK_TIMEOUT_MS, controller);
  } catch (e) {
    return { outcome: "failed", steps, recheck: null, rollback: "not_needed", detail: clip(`steps ran but the re-check did not answer (${safeDetail((e as Error)?.message ?? String(e))}): unverified`) };
  }
  if (recheck.check !== input.checkId) {
    return { outcome: "failed", steps, recheck: null, rollback: "not_needed", detail: clip(`re-check answered for ${recheck.check}, not ${input.checkId}: unverified`) };
  }
  if (recheck.status === "pass") return { outcome: "success", steps, recheck, rollback: "not_needed", detail: "re-check passes" };
  if (recheck.status === "fail") return rollback(`re-check still fails${recheck.reason ? ` (${safeDetail(recheck.reason)})` : ""}`, "reverted", recheck);
  return { outcome: "failed", steps, recheck, rollback: "not_needed", detail: clip(`re-check gave ${recheck.status}${recheck.reason ? ` (${safeDetail(recheck.reason)})` : ""}: unverified`) };
}

/** The runbook's steps as a dry run reports them: what would run, with which parameters. */
export function plannedSteps(runbook: Runbook, params: { [name: string]: Json }): ResolvedStep[] | string[] {
  const r = resolveSteps(runbook, runbook.steps, params);
  return r.ok ? r.steps : r.problems;
}
