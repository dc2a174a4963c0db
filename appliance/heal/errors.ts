/**
 * The healing engine's error type. Healing never throws these at the daemon for a single host's problem (a
 * bad rule or an L2 refusal becomes an escalation); they are for things a caller did wrong or that make a
 * whole input unusable (a rule set that maps a check to the wrong runbook, an approval that does not parse).
 */

export type HealErrorCode =
  /** A rule set whose rules do not line up with the catalogue (wrong runbook for a check, bad params). */
  | "ruleset_invalid"
  /** An approval record that is not well formed. */
  | "approval_invalid"
  /** An order naming a runbook or host the engine cannot use. */
  | "order_invalid"
  /** The host + check is being healed right now; try again later. */
  | "busy";

export class HealError extends Error {
  override readonly name = "HealError";
  constructor(
    readonly code: HealErrorCode,
    message: string,
    /** Plain strings only, so every reporter (and uvu's) can print it. */
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }
}
