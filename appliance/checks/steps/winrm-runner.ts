/**
 * StepRunner for Windows hosts over WinRM. Each step action maps to fixed PowerShell (winrm-actions.ts). The
 * step's parameters, validated against the action's schema first, travel as ONE JSON document, base64-encoded
 * (an alphabet with no PowerShell metacharacters) and decoded inside the script into `$P`; no parameter is
 * ever spliced into PowerShell syntax. The script runs through the JSON wrapper and returns `{ok, detail}`.
 */
import { stepParamsSchema } from "../../../protocol/catalogue/actions.ts";
import { validateParams } from "../../../protocol/catalogue/params.ts";
import { CollectError } from "../../collect/errors.ts";
import { runPowerShellJson } from "../../collect/powershell-json.ts";
import { MAX_TIMEOUT_MS, type Transport } from "../../collect/transport.ts";
import type { StepOutcome, StepRequest, StepRunner, TargetRef } from "../../engine/types.ts";
import { PS_HELPERS, WINDOWS_SCRIPT_BODIES, WINDOWS_SERVICE_ACTIONS } from "./winrm-actions.ts";

/** A step's answer is one small object. */
export const STEP_MAX_JSON_BYTES = 16 * 1024;
/** Longest detail kept (it goes into evidence). */
export const MAX_STEP_DETAIL = 200;

/** The PowerShell for a step, or why it is refused. */
export function windowsStepScript(step: Pick<StepRequest, "action" | "params">): string {
  const schema = stepParamsSchema("windows", step.action, step.params);
  if (typeof schema === "string") throw new RangeError(schema);
  const valid = validateParams(schema, step.params);
  if (!valid.ok) throw new RangeError(`invalid parameters for ${step.action}: ${valid.issues.map((i) => i.message).join("; ")}`);
  const body = step.action === "powershell.script" ? WINDOWS_SCRIPT_BODIES[String(valid.value["script"])] : WINDOWS_SERVICE_ACTIONS[step.action];
  if (body === undefined) throw new RangeError(`action '${step.action}' has no Windows script`);
  const doc = Buffer.from(JSON.stringify(valid.value), "utf8").toString("base64");
  return [`$P = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${doc}')) | ConvertFrom-Json`, PS_HELPERS, body].join("\n");
}

const clip = (s: string) => (s.length > MAX_STEP_DETAIL ? `${s.slice(0, MAX_STEP_DETAIL - 1)}…` : s);

export function createWinrmStepRunner(o: { readonly transportFor: (target: TargetRef) => Transport }): StepRunner {
  return {
    async runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome> {
      if (target.platform !== "windows" || target.simulated) return { ok: false, detail: `${target.id} is not a real Windows host` };
      let script: string;
      try {
        script = windowsStepScript(step);
      } catch (err) {
        return { ok: false, detail: clip(`refused: ${(err as Error).message}`) };
      }
      const timeoutMs = Math.max(1, Math.min(MAX_TIMEOUT_MS, Math.floor(step.timeoutMs)));
      try {
        const out = await runPowerShellJson(o.transportFor(target), script, { timeoutMs, maxJsonBytes: STEP_MAX_JSON_BYTES, ...(step.signal ? { signal: step.signal } : {}) });
        const r = out as { ok?: unknown; detail?: unknown } | null;
        if (r === null || typeof r !== "object" || typeof r.ok !== "boolean" || typeof r.detail !== "string") return { ok: false, detail: `${step.action} answered without {ok, detail}` };
        return { ok: r.ok, detail: clip(r.ok ? r.detail : `${step.action} failed: ${r.detail}`) };
      } catch (err) {
        const what = err instanceof CollectError ? `${err.code}: ${err.message}` : String(err);
        return { ok: false, detail: clip(`${step.action} did not complete: ${what}`) };
      }
    },
  };
}
