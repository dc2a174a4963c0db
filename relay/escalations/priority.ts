/**
 * Escalation priority and SLA timers. Priority starts at the incident's severity and is raised to at least
 * `high` for the categories where a missed fix costs a clinic the most (a breach, lost records, malware):
 * encryption, backup and antivirus. The SLA table is the one place response and resolution targets live;
 * the scheduler reads it to decide when a ticket is overdue and how often to re-notify.
 */
import type { Category } from "../../protocol/catalogue/mod.ts";
import type { IncidentSeverity } from "../../protocol/sync.ts";

export const PRIORITIES = ["low", "medium", "high", "critical"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Categories whose escalations are always at least `high`. */
export const HIGH_FLOOR_CATEGORIES: ReadonlySet<Category> = new Set(["encryption", "backup", "antivirus"]);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface Sla {
  /** Someone must acknowledge within this. */
  responseMs: number;
  /** The ticket must be resolved within this (from creation). */
  resolutionMs: number;
  /** Re-notify this often while an SLA stays missed. */
  renotifyEveryMs: number;
}

/** Response and resolution targets per priority (the one table; shown in the dashboard). */
export const SLA: Readonly<Record<Priority, Sla>> = Object.freeze({
  critical: { responseMs: 15 * MINUTE, resolutionMs: 4 * HOUR, renotifyEveryMs: 15 * MINUTE },
  high: { responseMs: 1 * HOUR, resolutionMs: 24 * HOUR, renotifyEveryMs: 1 * HOUR },
  medium: { responseMs: 4 * HOUR, resolutionMs: 72 * HOUR, renotifyEveryMs: 4 * HOUR },
  low: { responseMs: 24 * HOUR, resolutionMs: 7 * 24 * HOUR, renotifyEveryMs: 24 * HOUR },
});

/** Re-notifications per missed SLA (response, then resolution): enough to be noticed, not enough to be muted. */
export const MAX_RENOTIFY_PER_SLA = 3;

export function priorityRank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

/** The priority of an escalation: its severity, raised to `high` for encryption, backup and antivirus. */
export function priorityOf(severity: IncidentSeverity, category: Category | null): Priority {
  const base: Priority = severity;
  if (category !== null && HIGH_FLOOR_CATEGORIES.has(category) && priorityRank(base) < priorityRank("high")) return "high";
  return base;
}

/** When a ticket created at `createdMs` must be acknowledged and resolved. */
export function slaDue(priority: Priority, createdMs: number): { responseDueMs: number; resolutionDueMs: number } {
  const s = SLA[priority];
  return { responseDueMs: createdMs + s.responseMs, resolutionDueMs: createdMs + s.resolutionMs };
}
