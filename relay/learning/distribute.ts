/**
 * Distribution: the MSP's signed rule sets follow its live rules. Whenever the live promoted rules (candidates
 * `active` or `graduated`, plus those being activated) differ from what a set holds, a new version is signed
 * and stored; appliances get it at their next pull and install it at once.
 *
 * - The MSP's set: the newest all-appliance rule set's rules (if an operator published one) plus the MSP's
 *   fleet-wide promoted rules. Every site of the MSP without rules of its own runs it.
 * - A site's set: the same plus the rules scoped to that site, for each site that has live site-scoped rules
 *   or ever had a set of its own (so a set without its last site rule is published when that rule leaves).
 *   It is published after the MSP's, so it always has the higher version while it differs from it.
 * Rules are sorted by id, so the same live rules always give the same payload, and every rule is checked the
 * way an appliance checks it before the relay signs (an appliance refuses a whole set with one bad rule).
 */
import { canonicalize } from "../../protocol/canonical.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { RULESET_SCHEMA, type Rule } from "../../protocol/ruleset.ts";
import { str, strOrNull, type Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import { highestRulesetVersion, insertRuleset, latestRulesetRow, latestSharedRuleset, sitesWithOwnRulesets, storedRulesetPayload, type PublishedRuleset } from "../orders/rulesets.ts";
import { promotedRule, ruleProblems } from "./rules.ts";
import { LIVE_STATES } from "./transitions.ts";

/** A promoted rule and where it applies (null: every site of the MSP). */
export interface LiveRule {
  rule: Rule;
  scope_site_id: string | null;
}

/** The promoted rules of an MSP's live candidates (and `include`), sorted by id. */
export async function promotedRules(tx: Pick<Tx, "execute">, mspId: string, include: readonly string[] = []): Promise<LiveRule[]> {
  const live = LIVE_STATES.map(() => "?").join(", ");
  const extra = include.length ? ` OR id IN (${include.map(() => "?").join(", ")})` : "";
  const rs = await tx.execute({
    sql: `SELECT id, check_id, platform, runbook, params, scope_site_id FROM learning_candidates WHERE msp_id = ? AND (state IN (${live})${extra}) ORDER BY id`,
    args: [mspId, ...LIVE_STATES, ...include],
  });
  return rs.rows.map((r) => ({
    rule: promotedRule({ id: str(r, "id"), check_id: str(r, "check_id"), platform: str(r, "platform"), runbook: str(r, "runbook"), params: JSON.parse(str(r, "params")) as JsonObject }),
    scope_site_id: strOrNull(r, "scope_site_id"),
  }));
}

/** The promoted rules appliances of `siteId` run (null: the fleet-wide ones only). */
export function rulesFor(live: readonly LiveRule[], siteId: string | null): Rule[] {
  return live.filter((r) => r.scope_site_id === null || r.scope_site_id === siteId).map((r) => r.rule);
}

export interface SyncResult {
  /** The MSP's newest rule set after the call (null when there has never been one). */
  current: PublishedRuleset | null;
  /** For each site with site-scoped rules (or a set of its own): the newest set its appliances get. */
  sites: Record<string, PublishedRuleset | null>;
  /** Whether this call published any set. */
  published: boolean;
  /** Rule ids of the MSP's set. */
  rule_ids: string[];
}

/** The newest set carrying a candidate's rule: its site's for a site-scoped one, else the MSP's. */
export function carrierOf(sync: SyncResult, scopeSiteId: string | null): PublishedRuleset | null {
  return scopeSiteId === null ? sync.current : (sync.sites[scopeSiteId] ?? sync.current);
}

const byId = (a: Rule, b: Rule) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Publishes `rules` for the MSP (siteId null) or one of its sites when they differ from the newest set those appliances get. */
async function publishIfChanged(tx: Tx, deps: { clock: Clock; relayKey: RelayKey }, mspId: string, siteId: string | null, rules: Rule[]): Promise<{ current: PublishedRuleset | null; published: boolean }> {
  const current = await latestRulesetRow(tx, siteId === null ? { msp_id: mspId } : { site_id: siteId });
  const currentRules = current ? storedRulesetPayload(current.envelope).rules : [];
  if (canonicalize(currentRules) === canonicalize(rules) && (current !== null || rules.length === 0)) return { current, published: false };
  const version = (await highestRulesetVersion(tx)) + 1;
  return { current: await insertRuleset(tx, { schema: RULESET_SCHEMA, version, issued_at: isoTime(deps.clock.now()), rules }, deps.relayKey, mspId, siteId), published: true };
}

/**
 * Publishes new versions of the MSP's set and its sites' sets where their live rules changed (`include`:
 * candidates about to become active). In the caller's transaction, so the versions and the transitions they
 * prove commit together.
 */
export async function syncMspRuleset(tx: Tx, deps: { clock: Clock; relayKey: RelayKey }, mspId: string, include: readonly string[] = []): Promise<SyncResult> {
  const live = await promotedRules(tx, mspId, include);
  const problems = ruleProblems(live.map((r) => r.rule));
  if (problems.length) throw new Error(`Internal: promoted rules of ${mspId} would be refused by appliances: ${problems.slice(0, 3).join("; ")}`);
  const shared = await latestSharedRuleset(tx);
  const sharedRules = shared ? storedRulesetPayload(shared.envelope).rules : [];
  const withShared = (promoted: Rule[]): Rule[] => {
    const ids = new Set(promoted.map((r) => r.id));
    return [...sharedRules.filter((r) => !ids.has(r.id)), ...promoted].sort(byId);
  };
  const fleet = withShared(rulesFor(live, null));
  const msp = await publishIfChanged(tx, deps, mspId, null, fleet);
  const siteIds = new Set([...live.flatMap((r) => (r.scope_site_id === null ? [] : [r.scope_site_id])), ...(await sitesWithOwnRulesets(tx, mspId))]);
  const sites: Record<string, PublishedRuleset | null> = {};
  let published = msp.published;
  for (const siteId of [...siteIds].sort()) {
    const s = await publishIfChanged(tx, deps, mspId, siteId, withShared(rulesFor(live, siteId)));
    sites[siteId] = s.current;
    published ||= s.published;
  }
  return { current: msp.current, sites, published, rule_ids: fleet.map((r) => r.id) };
}
