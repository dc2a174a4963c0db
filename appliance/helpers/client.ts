/**
 * The daemon's side of the privileged helper: start `osiris-helper@<action>.service` and read the result it
 * left. The daemon has no capabilities; polkit (nixos/module.nix) lets user `osiris` start exactly these
 * units, by name, with no arguments — which action, never what it acts on.
 *
 *   systemctl --no-ask-password start --wait osiris-helper@<action>.service
 *
 * then `<resultDir>/<action>.json`, accepted only when it finished after this call began (a result from an
 * earlier run is not this run's). Where there is no such unit — a development machine that is not a NixOS
 * appliance, a container without systemd — the answer is `unavailable` with the reason, never a silent
 * failure or a guess.
 */
import { helperUnit, type HelperAction } from "./actions.ts";
import { lastLine, type CommandRunner } from "./command.ts";
import { HelperError } from "./errors.ts";
import { readResult, type HelperResult } from "./result.ts";
import { parseIsoTime } from "../../protocol/ids.ts";

/** How the helper run ended, as the daemon sees it. */
export type HelperInvocation =
  | { readonly status: "done"; readonly result: HelperResult }
  | { readonly status: "unavailable"; readonly reason: string }
  | { readonly status: "failed"; readonly reason: string };

export interface HelperClientOptions {
  readonly run: CommandRunner;
  readonly now: () => number;
  readonly resultDir: string;
  /** Owner results must have: root (default). Tests pass their own uid. */
  readonly resultOwnerUid?: number;
}

export interface InvokeOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HelperClient {
  invoke(action: HelperAction, opts: InvokeOptions): Promise<HelperInvocation>;
}

/** Results stamped up to this much before the call are still this call's (clock granularity, ms rounding). */
const FRESHNESS_SLACK_MS = 1000;

/**
 * Why `systemctl start` could not run the unit at all, from its exit code and message, or null when it ran
 * (and possibly failed). Messages as systemd 252 prints them; exit 5 is "unit not loaded".
 */
export function unavailableReason(unit: string, exitCode: number, output: string): string | null {
  if (exitCode === 127) return "systemctl is not installed on this machine";
  if (/has not been booted with systemd|Failed to connect to bus|System has not been booted/i.test(output)) return "systemd is not running on this machine (not a NixOS appliance)";
  if (exitCode === 5 || /Unit \S+ not found|not loaded/i.test(output)) return `${unit} is not installed (not a NixOS appliance with services.osiris-appliance)`;
  if (/Access denied|Interactive authentication required|not authorized/i.test(output)) return `polkit does not let this user start ${unit}`;
  return null;
}

export function createHelperClient(o: HelperClientOptions): HelperClient {
  return {
    async invoke(action, opts) {
      const unit = helperUnit(action);
      const began = o.now();
      let r;
      try {
        r = await o.run(["systemctl", "--no-ask-password", "start", "--wait", unit], { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (e) {
        return { status: "failed", reason: `${unit} did not finish: ${(e as Error).message}`.slice(0, 240) };
      }
      const output = `${r.stdout}\n${r.stderr}`;
      if (r.exitCode !== 0) {
        const why = unavailableReason(unit, r.exitCode, output);
        if (why !== null) return { status: "unavailable", reason: `helper unavailable: ${why}` };
      }
      let result: HelperResult;
      try {
        result = await readResult(o.resultDir, action, o.resultOwnerUid !== undefined ? { ownerUid: o.resultOwnerUid } : {});
      } catch (e) {
        const what = e instanceof HelperError ? e.message : String(e);
        const exit = r.exitCode === 0 ? "succeeded" : `failed (exit ${r.exitCode}: ${lastLine(output) || "no output"})`;
        return { status: "failed", reason: `${unit} ${exit} but left no usable result: ${what}`.slice(0, 240) };
      }
      if (parseIsoTime(result.finished_at) < began - FRESHNESS_SLACK_MS) {
        return { status: "failed", reason: `${unit} ${r.exitCode === 0 ? "ran" : `failed (exit ${r.exitCode})`} but its result is from an earlier run (finished ${result.finished_at})`.slice(0, 240) };
      }
      return { status: "done", result };
    },
  };
}
