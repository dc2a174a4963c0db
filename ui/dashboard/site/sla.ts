/**
 * SLA timers of an escalation in words, for a clock that ticks in the page: how long is left to respond or
 * resolve ("12 min 05 s left", counting down), by how much a target was missed ("overdue by 3 h 10 min"), or
 * that it was met. Pure: the caller passes `now`.
 */

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const pad = (n: number) => String(n).padStart(2, "0");

/** A duration, to the second under an hour: "45 s", "12 min 05 s", "3 h 07 min", "2 d 4 h". */
export function duration(ms: number): string {
  const t = Math.max(0, Math.floor(ms / S) * S);
  if (t >= DAY) return `${Math.floor(t / DAY)} d ${Math.floor((t % DAY) / HOUR)} h`;
  if (t >= HOUR) return `${Math.floor(t / HOUR)} h ${pad(Math.floor((t % HOUR) / MIN))} min`;
  if (t >= MIN) return `${Math.floor(t / MIN)} min ${pad(Math.floor((t % MIN) / S))} s`;
  return `${Math.floor(t / S)} s`;
}

export type SlaState = "running" | "overdue" | "met" | "met_late";

export interface SlaView {
  state: SlaState;
  /** "12 min 05 s left", "overdue by 3 min 10 s", "met", "met 20 min late". */
  text: string;
  /** Badge class: info while running, warn in its last fifth, bad when overdue, ok when met. */
  cls: "info" | "warn" | "bad" | "ok";
}

/**
 * One SLA target: due at `dueAt` (counted from `startAt`), done at `doneAt` (null while still open).
 * Running targets count down; the badge turns amber in the last fifth of the allowed time.
 */
export function slaView(startAt: string, dueAt: string, doneAt: string | null, now: number): SlaView {
  const due = Date.parse(dueAt);
  if (doneAt !== null) {
    const done = Date.parse(doneAt);
    return done <= due ? { state: "met", text: "met", cls: "ok" } : { state: "met_late", text: `met ${duration(done - due)} late`, cls: "warn" };
  }
  if (now > due) return { state: "overdue", text: `overdue by ${duration(now - due)}`, cls: "bad" };
  const left = due - now;
  const allowed = Math.max(1, due - Date.parse(startAt));
  return { state: "running", text: `${duration(left)} left`, cls: left <= allowed / 5 ? "warn" : "info" };
}

/** How soon an escalation needs someone (ms until its next open target; negative when overdue; Infinity when resolved). */
export function urgency(e: { status: string; response_due_at: string; resolution_due_at: string }, now: number): number {
  if (e.status === "resolved") return Number.POSITIVE_INFINITY;
  const next = e.status === "open" ? Math.min(Date.parse(e.response_due_at), Date.parse(e.resolution_due_at)) : Date.parse(e.resolution_due_at);
  return next - now;
}
