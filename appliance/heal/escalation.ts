/**
 * L3: handing a problem to humans. An escalation is an `escalation` outbox entry (synced to the relay, which
 * routes and notifies), appended together with the `escalated` (or, for encryption, `alert`) remediation
 * bundle. Offline changes nothing: the outbox holds it until the next sync.
 *
 * The wire body (protocol/sync.ts, strict) has no member for the tier history, so the history goes into
 * `reason` as text: "L1 linux.x failed; L1 linux.x reverted; L2 offline". The reason leaves the site, so it is
 * scrubbed. In reseller deployment mode every recorded healing event is also sent to the reseller's syslog
 * and webhook (publishResellerEvent, injected; it scrubs again); a failing channel is logged, never blocks.
 */
import { isoTime, newId } from "../../protocol/ids.ts";
import { scrub } from "../../protocol/scrub.ts";
import { escalationBodySchema, MAX_DETAIL_LENGTH, type EscalationBody, type IncidentSeverity } from "../../protocol/sync.ts";
import type { Outcome } from "../../protocol/evidence.ts";
import type { Log } from "../engine/types.ts";
import type { EventSeverity, EventTier, ResellerEventInput } from "../outputs/index.ts";
import type { PastAttempt } from "./attempts.ts";
import { clip, MAX_TIER_HISTORY } from "./policy.ts";

/** Why a problem went to humans: a closed set, so dashboards and tests need not parse text. */
export const ESCALATION_CODES = [
  "no_rule",
  "no_runbook",
  "rule_mismatch",
  "invalid_params",
  "encryption_never_auto",
  "unknown_check",
  "l2_rejected",
  "l2_offline",
  "flapping",
  "failure_budget",
  "rollback_failed",
] as const;
export type EscalationCode = (typeof ESCALATION_CODES)[number];

/** Escalations that mean "nothing here knew a fix": a newly installed rule set may, so they are decided again at once. */
export const ANSWERABLE_BY_NEW_RULES: ReadonlySet<string> = new Set<EscalationCode>(["no_rule", "no_runbook", "rule_mismatch", "invalid_params", "l2_rejected", "l2_offline"]);

export interface EscalationInput {
  incident_id: string | null;
  host_id: string;
  check: string;
  severity: IncidentSeverity;
  code: EscalationCode;
  reason: string;
  /** Attempts before this one, oldest first. */
  history: readonly PastAttempt[];
  /** Tiers tried in this decision that left no attempt row (e.g. "L2 offline"). */
  tried?: readonly string[];
  now: number;
  random: (n: number) => Uint8Array;
}

/** The tier history as one line, newest last, bounded. */
export function tierHistory(history: readonly PastAttempt[], tried: readonly string[] = []): string {
  const items = [...history.map((a) => `${a.tier} ${a.runbook ?? "-"} ${a.outcome}`), ...tried].slice(-MAX_TIER_HISTORY);
  return items.length ? items.join("; ") : "none";
}

/** The `escalation` outbox body (validated against the wire schema, reason scrubbed). */
export function buildEscalation(input: EscalationInput): EscalationBody {
  const text = `[${input.code}] ${input.reason} | tiers: ${tierHistory(input.history, input.tried)}`;
  const scrubbed = scrub(clip(text, MAX_DETAIL_LENGTH)).value;
  return escalationBodySchema.parse({
    escalation_id: newId("esc", input.random),
    incident_id: input.incident_id,
    host_id: input.host_id,
    check: input.check,
    severity: input.severity,
    reason: typeof scrubbed === "string" && scrubbed.length > 0 ? scrubbed : `[${input.code}]`,
    created_at: isoTime(input.now),
    attempts: input.history.filter((a) => a.outcome === "success" || a.outcome === "failed" || a.outcome === "reverted").length,
  });
}

/** publishResellerEvent, as the engine calls it (injected so tests and the daemon choose the channels). */
export type PublishReseller = (event: ResellerEventInput) => Promise<unknown>;

export interface ResellerNotice {
  site_id: string;
  appliance_id: string;
  host_id: string;
  check: string;
  outcome: Outcome;
  tier: EventTier | null;
  severity: IncidentSeverity;
  message: string;
  now: number;
}

/** The reseller severity of an outcome: good news is `info`, everything else carries the check's severity. */
function eventSeverity(outcome: Outcome, severity: IncidentSeverity): EventSeverity {
  return outcome === "success" || outcome === "dry_run" ? "info" : severity;
}

/** Sends one event to the reseller's channels; never throws. */
export async function notifyReseller(publish: PublishReseller, notice: ResellerNotice, log: Log): Promise<void> {
  try {
    await publish({
      site_id: notice.site_id,
      appliance_id: notice.appliance_id,
      host_id: notice.host_id,
      check_id: notice.check,
      outcome: notice.outcome,
      tier: notice.tier,
      severity: eventSeverity(notice.outcome, notice.severity),
      time: notice.now,
      message: notice.message,
    });
  } catch (e) {
    log.warn("reseller_event_failed", { host_id: notice.host_id, check: notice.check, outcome: notice.outcome, error: (e as Error).message });
  }
}
