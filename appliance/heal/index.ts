/**
 * Public surface of healing: incidents, L1 rules, gates, runbook execution with re-check and rollback, L2
 * planner client, L3 escalations, approvals, and maintenance windows.
 *
 *   const rules = await RuleBook.open({ catalogue, store, relayKeys, clock, log });
 *   const engine = new HealingEngine({ store, sink: evidenceLog, runner, recheck, rules, approvals: new KvApprovals(store, clock), site, identity, planner, publish, clock, random, log });
 *   await engine.recoverInterrupted();   // startup
 *   await engine.handleScan(scan);       // after each HostScan
 *   await engine.runOrder(order);        // verified run_runbook order
 *   await rules.install(envelope);       // signed rule set from sync
 *   new OrderProcessor({ ..., handlers: { ...other, ...healOrderHandlers({ engine, approvals, target }) } });
 */
export { HealingEngine, type HealingEngineOptions, type HealReport, type RunbookOrder, type ScanReport, type SiteSettings } from "./engine.ts";
export { RuleBook, builtinRules, ruleProblems, runbookAddresses, type RuleBookOptions } from "./rules.ts";
export { KvApprovals, approvalCovers, approvalRecordSchema, type ApprovalQuery, type ApprovalRecord, type ApprovalSource } from "./approvals.ts";
export { evaluateGates, GATES, GATE_OUTCOMES, type GateDecision, type GateInput, type GateName, type GateOutcome, type GateStep } from "./gates.ts";
export { executeRunbook, resolveSteps, type ExecResult, type ExecuteInput, type Recheck, type StepRecord } from "./executor.ts";
export {
  L2_CONFIDENCE_THRESHOLD,
  L2_REFUSALS,
  L2_REQUEST_SCHEMA,
  L2_RESPONSE_SCHEMA,
  L2_TIMEOUT_MS,
  l2PlanResponseSchema,
  planWithL2,
  type L2PlanRequest,
  type L2PlanResponse,
  type L2Refusal,
  type L2Verdict,
  type Planner,
} from "./l2-client.ts";
export { ESCALATION_CODES, buildEscalation, type EscalationCode, type PublishReseller } from "./escalation.ts";
export { IncidentBook, INCIDENT_STATUSES, type Incident, type IncidentStatus } from "./incidents.ts";
export { AttemptLog, IN_PROGRESS, isTransactional, type TransactionalSink } from "./attempts.ts";
export * from "./policy.ts";
export { healOrderHandlers, type HealOrderContext, type HealOrderDeps, type HealOrderHandler } from "./order-handlers.ts";
export { HealError, type HealErrorCode } from "./errors.ts";
export { formatOffsetIso, isInWindow, nextWindows, parseWindow, MaintenanceWindow, TimeZone, WindowError, type WindowErrorCode, type WindowOccurrence, type WindowSpec, type WindowStatus } from "../../protocol/windows/windows.ts";
