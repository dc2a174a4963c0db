/**
 * Runs one helper action as root and leaves its result for the daemon (result.ts). Every action ends in a
 * result file, also when it refuses or fails unexpectedly, so the daemon never has to guess from an exit code.
 */
import { isoTime } from "../../protocol/ids.ts";
import type { HelperAction } from "./actions.ts";
import { commandRecord, type CommandRecord } from "./command.ts";
import type { ActionContext, ActionReport, HelperDeps } from "./context.ts";
import { firewallBaseline, firewallSnapshot } from "./firewall.ts";
import { luksStatus } from "./luks.ts";
import { collectGarbage, journalVacuum } from "./maintenance.ts";
import { exitCodeFor, HELPER_RESULT_SCHEMA, MAX_COMMANDS, MAX_DETAIL_CHARS, writeResult, type HelperResult } from "./result.ts";
import type { SignedState } from "./store-reader.ts";
import { switchPinned, switchPrevious } from "./switch.ts";

const ACTIONS: Readonly<Record<HelperAction, (ctx: ActionContext) => Promise<ActionReport>>> = {
  "switch-pinned": switchPinned,
  "switch-previous": switchPrevious,
  "firewall-snapshot": firewallSnapshot,
  "firewall-baseline": firewallBaseline,
  "journal-vacuum": journalVacuum,
  "collect-garbage": collectGarbage,
  "luks-status": luksStatus,
};

export interface HelperRun {
  readonly result: HelperResult;
  /** Where the result was written. */
  readonly path: string;
}

/** Runs `action`, writes its result, returns it. Throws only when the result cannot be written. */
export async function runHelperAction(action: HelperAction, deps: HelperDeps): Promise<HelperRun> {
  const started = deps.now();
  const commands: CommandRecord[] = [];
  let state: Promise<SignedState> | undefined;
  const ctx: ActionContext = {
    deps,
    commands,
    async exec(argv, timeoutMs) {
      const r = await deps.run(argv, { timeoutMs });
      if (commands.length < MAX_COMMANDS) commands.push(commandRecord(argv, r));
      return r;
    },
    state() {
      state ??= deps.readState();
      return state;
    },
  };
  let report: ActionReport;
  try {
    report = await ACTIONS[action](ctx);
  } catch (e) {
    report = { outcome: "failed", detail: `${action} stopped: ${(e as Error)?.message ?? String(e)}` };
  }
  const detail = report.detail.length > MAX_DETAIL_CHARS ? `${report.detail.slice(0, MAX_DETAIL_CHARS - 1)}…` : report.detail;
  const result: HelperResult = {
    schema: HELPER_RESULT_SCHEMA,
    action,
    started_at: isoTime(started),
    finished_at: isoTime(Math.max(started, deps.now())),
    outcome: report.outcome,
    detail,
    exit_code: exitCodeFor(report.outcome),
    commands,
    ...(report.params ? { params: report.params } : {}),
    ...(report.system ? { system: report.system } : {}),
    ...(report.firewall ? { firewall: report.firewall } : {}),
    ...(report.luks ? { luks: report.luks } : {}),
  };
  const path = await writeResult(deps.paths.resultDir, result, deps.resultGid !== undefined ? { gid: deps.resultGid } : {});
  return { result, path };
}
