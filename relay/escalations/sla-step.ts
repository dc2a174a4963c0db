/**
 * When to re-notify about a ticket whose SLA was missed. Pure: the scheduler feeds it a ticket's state and
 * the time, and stores the counters and `next_renotify_at` it returns.
 *
 * The n-th re-notification for a target is due at `due + n × renotifyEvery` (n from 0), at most
 * MAX_RENOTIFY_PER_SLA times. An open ticket is re-notified about its response target; an acknowledged (or
 * open) ticket about its resolution target once that passes. After an outage the relay sends one notice, not
 * the backlog: the counter jumps to the number of due points already passed.
 */
import { MAX_RENOTIFY_PER_SLA, SLA, type Priority } from "./priority.ts";
import type { EscalationStatus } from "./escalations.ts";

export interface SlaState {
  status: EscalationStatus;
  priority: Priority;
  response_due_ms: number;
  resolution_due_ms: number;
  response_renotified: number;
  resolution_renotified: number;
}

export interface SlaStep {
  /** Which missed target to notify about now, if any. */
  notify: "response" | "resolution" | null;
  response_renotified: number;
  resolution_renotified: number;
  next_renotify_at: number | null;
}

/** The next time a re-notification could be due, or null when none can be. */
export function nextRenotifyAt(s: SlaState): number | null {
  const every = SLA[s.priority].renotifyEveryMs;
  const times: number[] = [];
  if (s.status === "open" && s.response_renotified < MAX_RENOTIFY_PER_SLA) times.push(s.response_due_ms + s.response_renotified * every);
  if (s.status !== "resolved" && s.resolution_renotified < MAX_RENOTIFY_PER_SLA) times.push(s.resolution_due_ms + s.resolution_renotified * every);
  return times.length === 0 ? null : Math.min(...times);
}

/** Decides one re-notification (at most one per call) and where the counters go. */
export function slaStep(s: SlaState, nowMs: number): SlaStep {
  const every = SLA[s.priority].renotifyEveryMs;
  const passed = (due: number) => Math.min(MAX_RENOTIFY_PER_SLA, Math.floor((nowMs - due) / every) + 1);
  let notify: SlaStep["notify"] = null;
  let response = s.response_renotified;
  let resolution = s.resolution_renotified;
  if (s.status === "open" && response < MAX_RENOTIFY_PER_SLA && nowMs >= s.response_due_ms + response * every) {
    notify = "response";
    response = passed(s.response_due_ms);
  } else if (s.status !== "resolved" && resolution < MAX_RENOTIFY_PER_SLA && nowMs >= s.resolution_due_ms + resolution * every) {
    notify = "resolution";
    resolution = passed(s.resolution_due_ms);
  }
  const next = nextRenotifyAt({ ...s, response_renotified: response, resolution_renotified: resolution });
  return { notify, response_renotified: response, resolution_renotified: resolution, next_renotify_at: next };
}
