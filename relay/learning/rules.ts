/**
 * The rule a candidate becomes, and the checks a rule must pass before the relay signs it.
 *
 * A promoted rule has no conditions and priority PROMOTED_PRIORITY, below the catalogue's built-in rules
 * (10): it fills the gaps where no built-in rule applies (which is exactly where the L2 planner had to find
 * the fix), and never overrides a built-in rule a human reviewed. Its id is the candidate's id, so every
 * execution an appliance reports (`rule_id`) names the candidate it came from.
 *
 * `ruleProblems` mirrors what the appliance checks when it installs a set (appliance/heal/rules.ts): an
 * appliance refuses a whole set with one bad rule, so the relay must never sign one.
 */
import { catalogue as shippedCatalogue, validateParams, type Catalogue } from "../../protocol/catalogue/mod.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { validateRules } from "../../protocol/rules.ts";
import { ANY_PLATFORM, ruleSchema, type Rule } from "../../protocol/ruleset.ts";

/** Below the built-in rules' priority (10): promoted rules fill gaps, never override reviewed rules. */
export const PROMOTED_PRIORITY = 5;

export interface RuleSource {
  id: string;
  check_id: string;
  platform: string;
  runbook: string;
  params: JsonObject;
}

/** The signed-set rule of a candidate. */
export function promotedRule(c: RuleSource): Rule {
  return ruleSchema.parse({ id: c.id, check: c.check_id, platform: c.platform, conditions: [], runbook: c.runbook, params: c.params, priority: PROMOTED_PRIORITY, source: "promoted" });
}

/** The catalogue's built-in rules in the rule set format (what every appliance already runs). */
export function builtinRules(cat: Catalogue = shippedCatalogue): Rule[] {
  return cat.builtinRules().map((r) => ruleSchema.parse(r));
}

/**
 * Everything that would make an appliance refuse a set containing these rules, one line per problem: check and
 * runbook in the catalogue, the runbook fixes that check on that platform, the params fit its schema, never an
 * encryption check (turning encryption on is a human decision), conditions that can match.
 */
export function ruleProblems(rules: readonly Rule[], cat: Catalogue = shippedCatalogue): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const at = `rule ${rule.id}`;
    const check = cat.findCheck(rule.check);
    const runbook = cat.findRunbook(rule.runbook);
    if (!check) problems.push(`${at}: check ${rule.check} is not in catalogue ${cat.version}`);
    if (!runbook) {
      problems.push(`${at}: runbook ${rule.runbook} is not in catalogue ${cat.version}`);
      continue;
    }
    const platform = rule.platform === ANY_PLATFORM ? (check?.platform ?? runbook.platform) : rule.platform;
    if (runbook.check !== rule.check || runbook.platform !== platform) {
      problems.push(`${at}: runbook ${runbook.id} fixes ${runbook.check} on ${runbook.platform}, not ${rule.check} on ${platform}`);
    }
    if (check?.category === "encryption") problems.push(`${at}: ${check.id} is an encryption check, which is never fixed automatically`);
    const params = validateParams(runbook.params_schema, rule.params);
    if (!params.ok) problems.push(`${at}: params for ${runbook.id}: ${params.issues.map((i) => i.message).join("; ")}`);
  }
  for (const p of validateRules(rules)) problems.push(`rule ${p.rule_id}: ${p.problem}`);
  return problems;
}
