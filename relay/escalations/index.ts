/**
 * Public surface of relay/escalations/: L3 tickets (from push ingest and the L2 gateway), their SLA table,
 * the background job that re-notifies, sends digests and delivers notifications, and the routes.
 *
 *   // relay/ingest/push.ts, for each stored entry of type "escalation", inside the push transaction:
 *   await ingestEscalation(tx, appliance, e, deps);
 *   // … and for each stored "incident" entry (a resolved incident resolves its tickets):
 *   await resolveClearedEscalations(tx, appliance, e, deps);
 *   // relay/serve/run.ts:
 *   const job = startEscalationScheduler(deps, { notify: { fetch } }); … await job.stop();
 */
export { CLEARED_BY, ingestEscalation, openEscalation, resolveClearedEscalations, safeReason, type EscalationReport, type EscalationView, type OpenResult } from "./escalations.ts";
export { HIGH_FLOOR_CATEGORIES, MAX_RENOTIFY_PER_SLA, PRIORITIES, priorityOf, SLA, slaDue, type Priority, type Sla } from "./priority.ts";
export { startEscalationScheduler, sweepSlas, takeLease, SCHEDULER_INTERVAL_MS, type EscalationScheduler, type EscalationSchedulerOptions, type TickReport } from "./scheduler.ts";
export { acknowledgeEscalation, listEscalations, resolveEscalation } from "./tickets.ts";
export { ESCALATION_ROUTES } from "./routes.ts";
export { ESCALATIONS_MIGRATION } from "./schema.ts";
