/**
 * StepRunner for hosts reached with `sh`: Linux and macOS over ssh, and the appliance itself over the local
 * transport. Each catalogue step action maps to a fixed script (sh-actions.ts). Parameters are validated
 * against the action's schema, then passed ONLY as environment variables: the command sent is
 * `env OSIRIS_P_…=… sh -c <fixed script> osiris-step`, an argument vector (the ssh transport quotes each word;
 * the local one passes them to execve), so no parameter is ever parsed as shell syntax.
 *
 * Success here means the action completed (exit 0). Whether the check is fixed is decided by the healing
 * engine's re-check, never by this exit code.
 */
import { MAX_BASELINE_BYTES, NIX_STORE_PATH } from "../../../protocol/appliance-config.ts";
import { stepParamsSchema } from "../../../protocol/catalogue/actions.ts";
import { validateParams } from "../../../protocol/catalogue/params.ts";
import type { Json } from "../../../protocol/catalogue/schema.ts";
import { CollectError } from "../../collect/errors.ts";
import { MAX_TIMEOUT_MS, type Command, type Transport } from "../../collect/transport.ts";
import type { StepOutcome, StepRequest, StepRunner, TargetRef } from "../../engine/types.ts";
import { APPLIANCE_ACTIONS, LINUX_ACTIONS, MACOS_ACTIONS, STEP_PRELUDE } from "./sh-actions.ts";

/** A step prints one line; a few KiB covers tool noise before it. */
export const STEP_MAX_OUTPUT_BYTES = 64 * 1024;
/** Longest detail kept (it goes into evidence). */
export const MAX_STEP_DETAIL = 200;

const ACTIONS: Readonly<Record<"linux" | "appliance" | "macos", Readonly<Record<string, string>>>> = { linux: LINUX_ACTIONS, appliance: APPLIANCE_ACTIONS, macos: MACOS_ACTIONS };

/** Inputs of the appliance's own actions that come from its verified signed config, not from step parameters. */
export interface ApplianceStepContext {
  readonly pinnedSystem?: () => string | null;
  /** The baseline ruleset (nft JSON text) and whether its signature verified against the pinned relay keys. */
  readonly firewallBaseline?: () => { readonly rulesetJson: string; readonly verified: boolean } | null;
  readonly backup?: { readonly repository: string; readonly passwordFile: string } | null;
}

export interface ShStepRunnerOptions {
  /** The transport for a target (ssh for Linux/macOS hosts, local for the appliance). */
  readonly transportFor: (target: TargetRef) => Transport;
  /** Prefix for every file the scripts write; "" (default) in production, a scratch directory in tests. */
  readonly rootDir?: string;
  readonly appliance?: ApplianceStepContext;
}

/** `OSIRIS_P_<NAME>=<value>` for a validated parameter (booleans as 1/0, lists newline-separated). */
function envValue(v: Json): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  if (Array.isArray(v)) return v.map(String).join("\n");
  return String(v);
}

/**
 * The exact command for a step, or an error message. Exposed so tests (and an operator's dry run) can see
 * precisely what would be sent.
 */
export function shStepCommand(platform: TargetRef["platform"], step: Pick<StepRequest, "action" | "params">, o: Pick<ShStepRunnerOptions, "rootDir" | "appliance"> = {}): Command | string {
  if (platform === "windows") return "Windows hosts take PowerShell steps (winrm-runner.ts), not sh";
  const script = ACTIONS[platform][step.action];
  const schema = stepParamsSchema(platform, step.action, step.params);
  if (typeof schema === "string") return schema;
  if (script === undefined) return `action '${step.action}' has no ${platform} script`;
  const valid = validateParams(schema, step.params);
  if (!valid.ok) return `invalid parameters for ${step.action}: ${valid.issues.map((i) => i.message).join("; ")}`;
  const root = o.rootDir ?? "";
  if (root !== "" && (!root.startsWith("/") || root.includes("\0"))) return `rootDir must be an absolute path: current value is ${JSON.stringify(root)}`;
  const env: string[] = [`OSIRIS_ROOT=${root}`];
  for (const [name, value] of Object.entries(valid.value)) env.push(`OSIRIS_P_${name.toUpperCase()}=${envValue(value as Json)}`);
  if (platform === "appliance") {
    const extra = applianceEnv(step.action, o.appliance ?? {});
    if (typeof extra === "string") return extra;
    env.push("OSIRIS_PRIVILEGE=polkit", ...extra);
  }
  return { program: "env", args: [...env, "sh", "-c", `${STEP_PRELUDE}${script}\n`, "osiris-step"] };
}

function applianceEnv(action: string, a: ApplianceStepContext): string[] | string {
  switch (action) {
    case "nixos.switch_generation": {
      const pinned = a.pinnedSystem?.() ?? "";
      if (pinned !== "" && !NIX_STORE_PATH.test(pinned)) return `the pinned system is not a Nix store path: ${JSON.stringify(pinned.slice(0, 80))}`;
      return [`OSIRIS_PINNED_SYSTEM=${pinned}`];
    }
    case "nft.restore_baseline": {
      const b = a.firewallBaseline?.() ?? null;
      if (b && new TextEncoder().encode(b.rulesetJson).byteLength > MAX_BASELINE_BYTES) return `the firewall baseline is over ${MAX_BASELINE_BYTES} bytes`;
      if (b) {
        try {
          JSON.parse(b.rulesetJson);
        } catch {
          return "the firewall baseline is not nft JSON";
        }
      }
      return [`OSIRIS_BASELINE_VERIFIED=${b?.verified ? "1" : "0"}`, `OSIRIS_BASELINE_RULESET=${b?.rulesetJson ?? ""}`];
    }
    case "restic.restore_test":
      return [`OSIRIS_BACKUP_REPO=${a.backup?.repository ?? ""}`, `OSIRIS_BACKUP_PASSFILE=${a.backup?.passwordFile ?? ""}`];
    default:
      return [];
  }
}

/** Last non-empty line of the output, bounded. */
function lastLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? "";
  return line.length > MAX_STEP_DETAIL ? `${line.slice(0, MAX_STEP_DETAIL - 1)}…` : line;
}

export function createShStepRunner(o: ShStepRunnerOptions): StepRunner {
  return {
    async runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome> {
      if (target.simulated || target.collector === "lab") return { ok: false, detail: `${target.id} is simulated; use the lab step runner` };
      const cmd = shStepCommand(target.platform, step, o);
      if (typeof cmd === "string") return { ok: false, detail: `refused: ${cmd}`.slice(0, MAX_STEP_DETAIL) };
      const timeoutMs = Math.max(1, Math.min(MAX_TIMEOUT_MS, Math.floor(step.timeoutMs)));
      try {
        const r = await o.transportFor(target).run(cmd, { timeoutMs, maxOutputBytes: STEP_MAX_OUTPUT_BYTES, ...(step.signal ? { signal: step.signal } : {}) });
        const detail = lastLine(r.stdout) || lastLine(r.stderr) || `exit code ${r.exitCode}`;
        return { ok: r.exitCode === 0, detail: r.exitCode === 0 ? detail : `${step.action} failed (exit ${r.exitCode}): ${detail}`.slice(0, MAX_STEP_DETAIL) };
      } catch (err) {
        const what = err instanceof CollectError ? `${err.code}: ${err.message}` : String(err);
        return { ok: false, detail: `${step.action} did not complete: ${what}`.slice(0, MAX_STEP_DETAIL) };
      }
    },
  };
}
