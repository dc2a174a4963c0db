/**
 * Values a helper action needs (journal size, generations to keep, health-check timeout) without taking them
 * from its caller: the runbook's parameters as the verified signed rule set sets them (the highest-priority
 * appliance rule naming that runbook), else the catalogue's defaults. Both are validated against the
 * runbook's parameter schema, so a value is always within the catalogue's bounds.
 */
import { catalogue as defaultCatalogue, validateParams, type Catalogue } from "../../protocol/catalogue/mod.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import type { VerifiedRuleset } from "../../protocol/ruleset.ts";

export interface RunbookParams {
  readonly params: { readonly [name: string]: Json };
  /** Where they came from, for the result's detail. */
  readonly source: string;
}

export function signedRunbookParams(runbookId: string, ruleset: VerifiedRuleset | null, catalogue: Catalogue = defaultCatalogue): RunbookParams {
  const runbook = catalogue.findRunbook(runbookId);
  if (!runbook) throw new TypeError(`Runbook ${runbookId} is not in catalogue ${catalogue.version}`);
  const defaults = validateParams(runbook.params_schema, {});
  if (!defaults.ok) throw new TypeError(`Runbook ${runbookId} has no valid defaults: ${defaults.issues.map((i) => i.message).join("; ")}`);
  const rules = (ruleset?.payload.rules ?? [])
    .filter((r) => r.runbook === runbookId && (r.platform === "appliance" || r.platform === "any"))
    .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rule = rules[0];
  if (rule && ruleset) {
    const valid = validateParams(runbook.params_schema, rule.params);
    if (valid.ok) return { params: valid.value as { [name: string]: Json }, source: `rule ${rule.id} of signed rule set v${ruleset.payload.version}` };
  }
  return { params: defaults.value as { [name: string]: Json }, source: `catalogue ${catalogue.version} defaults` };
}

/** An integer parameter, or a TypeError naming it (the schemas make this unreachable for catalogue runbooks). */
export function intParam(p: RunbookParams, name: string): number {
  const v = p.params[name];
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`Runbook parameter ${name} must be an integer: current value is ${JSON.stringify(v)}`);
  return v;
}
