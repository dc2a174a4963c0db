/**
 * One healing attempt in words for the incident timeline (pure; the zone is passed in): what happened, and for
 * a deferred fix why it waits — the maintenance window, or the cooldown after the same fix ran on the host —
 * with every time in the one zone the rest of the site's pages use (the viewer's, `fullTime`), never the raw
 * ISO text the appliance writes into an attempt's detail.
 *
 * Why it waits: the relay sends no gate with an attempt (relay/sites/site-detail.ts `AttemptView`), so the
 * reason is read from the detail the appliance's healing gates write (appliance/heal/gates.ts: "… cooling
 * down until …", "… deferred to the next maintenance window at …", "… no maintenance window is
 * configured"). An unrecognised detail reads as the maintenance window, the reason before this distinction.
 */
import type { AttemptView } from "../../relay-client/mod.ts";
import { fullTime, OUTCOME_TEXT } from "../format.ts";

export type DeferralReason = "window" | "no_window" | "cooldown";

/** Why a deferred attempt waits, read from the appliance's gate text. */
export function deferralReason(detail: string | null): DeferralReason {
  if (detail && /\bcooling down until\b/.test(detail)) return "cooldown";
  if (detail && /\bno maintenance window is configured\b/.test(detail)) return "no_window";
  return "window";
}

/** An ISO instant inside prose ("2026-11-29T08:34:13Z", "2026-11-29T08:34:13.120+00:00"). */
const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/** `text` with every ISO instant in it written as a date and time in `timeZone` (the viewer's when omitted). */
export function readableTimes(text: string, timeZone?: string): string {
  return text.replace(ISO_INSTANT, (iso) => (Number.isNaN(Date.parse(iso)) ? iso : fullTime(iso, timeZone)));
}

/** The attempt's outcome in words: "Fixed", "Scheduled for the maintenance window starting 29 Nov 2026, 02:00", "Waiting: cooling down until …". */
export function attemptOutcomeText(a: Pick<AttemptView, "outcome" | "deferred_until" | "detail">, timeZone?: string): string {
  if (a.outcome !== "deferred") return OUTCOME_TEXT[a.outcome] ?? a.outcome;
  const until = a.deferred_until ? fullTime(a.deferred_until, timeZone) : null;
  switch (deferralReason(a.detail)) {
    case "cooldown":
      return until ? `Waiting: cooling down until ${until}` : "Waiting: cooling down";
    case "no_window":
      return until ? `Waiting: no maintenance window is set; checking again at ${until}` : "Waiting: no maintenance window is set";
    case "window":
      return until ? `Scheduled for the maintenance window starting ${until}` : (OUTCOME_TEXT["deferred"] ?? "Deferred");
  }
}

/** The outcome as a badge says it (no time): "Waiting: cooling down" for a cooldown, not the maintenance window. */
export function outcomeBadgeText(a: Pick<AttemptView, "outcome" | "detail">): string {
  if (a.outcome !== "deferred") return OUTCOME_TEXT[a.outcome] ?? a.outcome;
  const reason = deferralReason(a.detail);
  return reason === "cooldown" ? "Waiting: cooling down" : reason === "no_window" ? "Waiting: no maintenance window set" : (OUTCOME_TEXT["deferred"] ?? "Deferred");
}
