/**
 * Distribution: the MSP's signed rule set follows its live rules. Whenever the set of live promoted rules
 * (candidates `active` or `graduated`, plus those being activated) differs from what the MSP's newest rule set
 * holds, a new version is signed and stored; appliances get it at their next pull and install it at once.
 *
 * The set is the newest all-appliance rule set's rules (if an operator published one) plus the MSP's promoted
 * rules, sorted by id, so the same live rules always give the same payload. Every rule is checked the way an
 * appliance checks it before the relay signs (an appliance refuses a whole set with one bad rule).
 */
import { canonicalize } from "../../protocol/canonical.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { RULESET_SCHEMA, type Rule } from "../../protocol/ruleset.ts";
import { str, type Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import { highestRulesetVersion, insertRuleset, latestRulesetRow, latestSharedRuleset, storedRulesetPayload, type PublishedRuleset } from "../orders/rulesets.ts";
import { promotedRule, ruleProblems } from "./rules.ts";
import { LIVE_STATES } from "./transitions.ts";

/** The promoted rules of an MSP's candidates in `states` (and `include`), sorted by id. */
export async function promotedRules(tx: Pick<Tx, "execute">, mspId: string, include: readonly string[] = []): Promise<Rule[]> {
  const live = LIVE_STATES.map(() => "?").join(", ");
  const extra = include.length ? ` OR id IN (${include.map(() => "?").join(", ")})` : "";
  const rs = await tx.execute({
    sql: `SELECT id, check_id, platform, runbook, params FROM learning_candidates WHERE msp_id = ? AND (state IN (${live})${extra}) ORDER BY id`,
    args: [mspId, ...LIVE_STATES, ...include],
  });
  return rs.rows.map((r) => promotedRule({ id: str(r, "id"), check_id: str(r, "check_id"), platform: str(r, "platform"), runbook: str(r, "runbook"), params: JSON.parse(str(r, "params")) as JsonObject }));
}

export interface SyncResult {
  /** The MSP's newest rule set after the call (null when there has never been one). */
  current: PublishedRuleset | null;
  /** Whether this call published it. */
  published: boolean;
  rule_ids: string[];
}

/**
 * Publishes a new version of the MSP's rule set when its live rules changed (`include`: candidates about to
 * become active). In the caller's transaction, so the version and the transitions it proves commit together.
 */
export async function syncMspRuleset(tx: Tx, deps: { clock: Clock; relayKey: RelayKey }, mspId: string, include: readonly string[] = []): Promise<SyncResult> {
  const promoted = await promotedRules(tx, mspId, include);
  const problems = ruleProblems(promoted);
  if (problems.length) throw new Error(`Internal: promoted rules of ${mspId} would be refused by appliances: ${problems.slice(0, 3).join("; ")}`);
  const shared = await latestSharedRuleset(tx);
  const ids = new Set(promoted.map((r) => r.id));
  const base = shared ? storedRulesetPayload(shared.envelope).rules.filter((r) => !ids.has(r.id)) : [];
  const rules = [...base, ...promoted].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const current = await latestRulesetRow(tx, { msp_id: mspId });
  const currentRules = current ? storedRulesetPayload(current.envelope).rules : [];
  if (canonicalize(currentRules) === canonicalize(rules) && (current !== null || rules.length === 0)) {
    return { current, published: false, rule_ids: rules.map((r) => r.id) };
  }
  const version = (await highestRulesetVersion(tx)) + 1;
  const published = await insertRuleset(tx, { schema: RULESET_SCHEMA, version, issued_at: isoTime(deps.clock.now()), rules }, deps.relayKey, mspId);
  return { current: published, published: true, rule_ids: rules.map((r) => r.id) };
}
