/**
 * The appliance's step runner with root steps sent to the privileged helper. For the appliance itself
 * (platform `appliance`, collector `local`):
 *   nixos.switch_generation (pinned | previous), nft.restore_baseline, journal.vacuum, nix.collect_garbage
 *     → `osiris-helper@<action>.service`, whose result decides the step;
 *   nixos.health_check → checked here, unprivileged (systemctl queries and the store's writability);
 * every other step, and every other target, goes to the inner runner unchanged.
 *
 * The helper takes no parameters: it reads the pinned system and the baseline from the signed appliance
 * config and sizes from the signed rule set. When a step asked for a size the helper did not use (a
 * `run_runbook` order with its own values), the detail says which value was used and where it came from.
 */
import { access, constants } from "node:fs/promises";
import type { StepOutcome, StepRequest, StepRunner, TargetRef } from "../engine/types.ts";
import { helperActionForStep, helperUnit, type HelperAction } from "./actions.ts";
import type { CommandRunner } from "./command.ts";
import type { HelperClient } from "./client.ts";
import { waitHealthy } from "./health.ts";
import type { HelperResult } from "./result.ts";

/** Longest step detail (it goes into evidence), as the sh runner keeps it. */
export const MAX_STEP_DETAIL = 200;

export interface HelperStepRunnerOptions {
  readonly inner: StepRunner;
  readonly helper: HelperClient;
  /** Runs the health check's systemctl queries. */
  readonly run: CommandRunner;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** The daemon's state directory: the health check requires it to be writable. */
  readonly stateDir: string;
}

const clip = (s: string) => (s.length > MAX_STEP_DETAIL ? `${s.slice(0, MAX_STEP_DETAIL - 1)}…` : s);

/** Which step parameter corresponds to which value the helper reports using. */
const ASKED: Partial<Record<HelperAction, readonly [stepParam: string, resultParam: string]>> = {
  "journal-vacuum": ["max_size_mb", "journal_max_mb"],
  "collect-garbage": ["keep_generations", "keep_generations"],
};

function outcomeOf(action: HelperAction, step: StepRequest, result: HelperResult): StepOutcome {
  const ok = result.outcome === "success" || result.outcome === "unchanged";
  let note = "";
  const asked = ASKED[action];
  if (asked) {
    const want = step.params[asked[0]];
    const used = result.params?.[asked[1]];
    if (want !== undefined && used !== undefined && want !== used) note = `[used ${asked[1]}=${String(used)} from ${String(result.params?.["params_source"] ?? "signed data")}, not the step's ${String(want)}] `;
  }
  // The note goes first: the detail is clipped, and the note is what an operator would otherwise miss.
  return { ok, detail: clip(`${helperUnit(action)} ${result.outcome}: ${note}${result.detail}`) };
}

export function createHelperStepRunner(o: HelperStepRunnerOptions): StepRunner {
  return {
    async runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome> {
      if (target.platform !== "appliance" || target.collector !== "local" || target.simulated) return o.inner.runStep(target, step);
      if (step.action === "nixos.health_check") return healthStep(o, step);
      const action = helperActionForStep(step.action, step.params);
      if (action === null) return o.inner.runStep(target, step);
      const inv = await o.helper.invoke(action, { timeoutMs: step.timeoutMs, ...(step.signal ? { signal: step.signal } : {}) });
      if (inv.status === "done") return outcomeOf(action, step, inv.result);
      return { ok: false, detail: clip(`${step.action}: ${inv.reason}`) };
    },
  };
}

async function healthStep(o: HelperStepRunnerOptions, step: StepRequest): Promise<StepOutcome> {
  const timeoutS = typeof step.params["timeout_s"] === "number" ? step.params["timeout_s"] : 180;
  const budgetMs = Math.max(0, Math.min(timeoutS * 1000, step.timeoutMs));
  const report = await waitHealthy(budgetMs, {
    exec: (argv, timeoutMs) => o.run(argv, { timeoutMs, ...(step.signal ? { signal: step.signal } : {}) }),
    now: o.now,
    sleep: o.sleep,
    ...(step.signal ? { signal: step.signal } : {}),
    extra: async () => {
      try {
        await access(o.stateDir, constants.W_OK);
        return null;
      } catch {
        return `the store directory ${o.stateDir} is not writable`;
      }
    },
  });
  return { ok: report.ok, detail: clip(report.ok ? `${report.detail}, store writable` : report.detail) };
}
