/**
 * The healing engine's bounds and fixed policies, in one place so they can be reviewed together. Every
 * number here is a named decision with its reason; tests import them rather than repeating the values.
 */
import type { Check } from "../../protocol/catalogue/mod.ts";
import { scrub } from "../../protocol/scrub.ts";

/** A rule (or L2 runbook) is not run again on the same host within this time: a fix needs time to settle. */
export const COOLDOWN_MS = 10 * 60_000;

/** Failed or reverted attempts for one host + check within FAILURE_WINDOW_MS before healing stops (L3). */
export const FAILURE_BUDGET = 3;
/** The failure budget's window. */
export const FAILURE_WINDOW_MS = 24 * 3_600_000;

/**
 * Flap suppression: a check that went fail → pass → fail (a reopened incident) more than FLAP_MAX_REOPENS
 * times within FLAP_WINDOW_MS is being undone by something else (a GPO, a config manager, a user): healing
 * stops and a human is told, instead of fighting it forever.
 */
export const FLAP_MAX_REOPENS = 3;
export const FLAP_WINDOW_MS = 24 * 3_600_000;

/** Most runbooks one scan of one host may run; the rest wait for the next scan (a cycle stays bounded). */
export const MAX_ACTIONS_PER_SCAN = 3;

/** An escalated incident is looked at again after this long (a new rule set or L2 may now have an answer). */
export const ESCALATED_RECHECK_MS = 6 * 3_600_000;

/** With no maintenance window configured, a deferred disruptive fix is looked at again after this long. */
export const NO_WINDOW_RECHECK_MS = 3_600_000;

/** The re-run of a check after a runbook may take this long before the fix counts as unverified. */
export const RECHECK_TIMEOUT_MS = 120_000;

/** Longest step or failure detail kept in evidence and outbox entries (characters). */
export const MAX_DETAIL_CHARS = 240;

/** Most earlier attempts listed in an escalation's tier history. */
export const MAX_TIER_HISTORY = 10;

/** Most unrecorded attempts and unsent incident updates re-sent per call (startup and each scan). */
export const MAX_FLUSH_PER_CALL = 200;

/**
 * Encryption checks are never fixed automatically, whatever a rule or the L2 planner says: turning on disk
 * encryption needs recovery keys handled by a person and can make a machine unbootable. They alert and
 * escalate. The catalogue marks them by category.
 */
export function isEncryptionCheck(check: Pick<Check, "category">): boolean {
  return check.category === "encryption";
}

/** `text` cut to `max` characters with an ellipsis (evidence free text stays short). */
export function clip(text: string, max: number = MAX_DETAIL_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Free text for evidence and outbox entries, scrubbed of PHI and secrets and cut to `max`. Reasons can carry
 * text from outside (a planner's error, a host's answer), and evidence leaves the site at the next sync.
 */
export function safeText(text: string, max: number = MAX_DETAIL_CHARS): string {
  const scrubbed = scrub(text.slice(0, max * 4)).value;
  return clip(typeof scrubbed === "string" ? scrubbed : "", max);
}
