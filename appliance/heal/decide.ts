/**
 * Which tier handles a failing check, and with which runbook:
 *   - encryption checks: never a runbook — `alert` and escalate, whatever any rule says;
 *   - L1: the first matching rule (built-in or signed) names a runbook, which must exist, address this check
 *     on this host's platform, and accept the rule's parameters — otherwise the rule is wrong and a human
 *     is told (never "the closest runbook");
 *   - L2: no rule matched, the site has L2 enabled and is not in observe mode (observe could never act on
 *     the plan): the planner's answer, judged by `l2-client.ts`;
 *   - L3: everything else escalates.
 * The decision is only a proposal: every runbook still goes through the gates (`gates.ts`).
 */
import type { Catalogue, Check, Json, Runbook } from "../../protocol/catalogue/mod.ts";
import { validateParams } from "../../protocol/catalogue/mod.ts";
import type { IncidentSeverity } from "../../protocol/sync.ts";
import type { Facts, TargetRef } from "../engine/types.ts";
import type { EscalationCode } from "./escalation.ts";
import { planWithL2, type Planner } from "./l2-client.ts";
import { isEncryptionCheck } from "./policy.ts";
import { runbookAddresses, type RuleBook } from "./rules.ts";

export type Decision =
  | { kind: "fix"; tier: "L1" | "L2"; rule_id: string | null; runbook: Runbook; params: { [name: string]: Json }; note: string }
  | { kind: "escalate"; outcome: "escalated" | "alert"; code: EscalationCode; reason: string; tried: string[]; runbook: string | null };

export interface DecideInput {
  catalogue: Catalogue;
  rules: RuleBook;
  checkId: string;
  check: Check | undefined;
  target: TargetRef;
  facts: Facts;
  /** Why the check fails (from its evaluation). */
  reason: string | null;
  severity: IncidentSeverity;
  incident_id: string | null;
  mode: "observe" | "advise" | "enforce";
  l2Enabled: boolean;
  planner: Planner | null;
  random: (n: number) => Uint8Array;
  l2TimeoutMs?: number;
  signal?: AbortSignal;
}

const escalate = (code: EscalationCode, reason: string, tried: string[] = [], runbook: string | null = null, outcome: "escalated" | "alert" = "escalated"): Decision => ({
  kind: "escalate",
  outcome,
  code,
  reason,
  tried,
  runbook,
});

export async function decide(input: DecideInput): Promise<Decision> {
  const { check, target } = input;
  if (!check) return escalate("unknown_check", `${input.checkId} is not a check in catalogue ${input.catalogue.version}`);
  if (isEncryptionCheck(check)) {
    return escalate("encryption_never_auto", `${check.title}: encryption is never turned on automatically; a technician must do it (${check.fix_hint})`, [], null, "alert");
  }

  const rule = input.rules.select({ check: check.id, platform: target.platform, facts: input.facts });
  if (rule) {
    const runbook = input.catalogue.findRunbook(rule.runbook);
    if (!runbook) return escalate("no_runbook", `rule ${rule.id} names runbook ${rule.runbook}, which is not in catalogue ${input.catalogue.version}`, [`L1 ${rule.id} refused`]);
    // Asserted here again even though rule sets are validated when installed: the wrong runbook never runs.
    if (!runbookAddresses(runbook, check.id, target.platform)) {
      return escalate("rule_mismatch", `rule ${rule.id} names ${runbook.id}, which fixes ${runbook.check} on ${runbook.platform}, not ${check.id} on ${target.platform}`, [`L1 ${rule.id} refused`]);
    }
    const params = validateParams(runbook.params_schema, rule.params);
    if (!params.ok) return escalate("invalid_params", `rule ${rule.id}: parameters for ${runbook.id}: ${params.issues.map((i) => i.message).join("; ")}`, [`L1 ${rule.id} refused`], runbook.id);
    return { kind: "fix", tier: "L1", rule_id: rule.id, runbook, params: params.value as { [name: string]: Json }, note: `rule ${rule.id}` };
  }

  if (!input.l2Enabled || input.mode === "observe") {
    return escalate("no_rule", `no L1 rule fixes ${check.id} on ${target.platform}${input.l2Enabled ? " (L2 is not asked in observe mode)" : " and L2 is not enabled for this site"}`);
  }
  if (input.planner === null) return escalate("l2_offline", "no L1 rule matched and the L2 planner is not available", ["L2 unavailable"]);
  const verdict = await planWithL2(
    { catalogue: input.catalogue, check, platform: target.platform, severity: input.severity, incident_id: input.incident_id, facts: input.facts, reason: input.reason },
    { planner: input.planner, random: input.random, ...(input.l2TimeoutMs === undefined ? {} : { timeoutMs: input.l2TimeoutMs }), ...(input.signal ? { signal: input.signal } : {}) },
  );
  if (verdict.accepted) {
    return { kind: "fix", tier: "L2", rule_id: null, runbook: verdict.runbook, params: verdict.params, note: `L2 plan, confidence ${verdict.confidence}` };
  }
  const offline = verdict.code === "offline" || verdict.code === "timeout";
  return escalate(offline ? "l2_offline" : "l2_rejected", `no L1 rule matched; L2: ${verdict.reason}`, [`L2 ${verdict.code}`]);
}
