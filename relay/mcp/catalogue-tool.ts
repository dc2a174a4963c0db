/**
 * `runbook_catalogue`: the runbooks that fix a check (or every runbook of a platform) with the parameter
 * schemas `propose_runbook` validates against, and the order types `propose_order` may propose. Read from
 * the one catalogue (protocol/catalogue), never a copy; parameter schemas as JSON Schema (2020-12, from
 * protocol/catalogue/params.ts toJsonSchema), which agents and their tools read, not the catalogue's own format.
 */
import { catalogue, toJsonSchema, type Platform } from "../../protocol/catalogue/mod.ts";
import { RelayError } from "../errors.ts";

/** Order types proposed through `propose_runbook` (which validates the runbook's own parameters). */
export const RUNBOOK_ORDER_TYPES: ReadonlySet<string> = new Set(["run_runbook", "approve_runbook"]);

export interface CatalogueQuery {
  check_id?: string | undefined;
  platform?: Platform | undefined;
  runbook_id?: string | undefined;
}

export function runbookCatalogue(args: CatalogueQuery) {
  const check = args.check_id === undefined ? undefined : catalogue.findCheck(args.check_id);
  if (args.check_id !== undefined && !check) throw new RelayError("not_found", `No check ${JSON.stringify(args.check_id.slice(0, 100))} in the catalogue`);
  if (args.runbook_id !== undefined && !catalogue.findRunbook(args.runbook_id)) throw new RelayError("not_found", `No runbook ${JSON.stringify(args.runbook_id.slice(0, 100))} in the catalogue`);
  const runbooks = catalogue
    .listRunbooks()
    .filter((r) => (args.check_id === undefined || r.check === args.check_id) && (args.platform === undefined || r.platform === args.platform) && (args.runbook_id === undefined || r.id === args.runbook_id))
    .map((r) => ({
      id: r.id,
      title: r.title,
      summary: r.summary,
      platform: r.platform,
      check: r.check,
      check_title: catalogue.findCheck(r.check)?.title ?? r.check,
      params_schema: toJsonSchema(r.params_schema),
      disruptive: r.disruptive,
      needs_approval: r.needs_approval,
      has_rollback: r.rollback.length > 0,
      timeout_s: r.timeout_s,
    }));
  return {
    catalogue_version: catalogue.version,
    ...(check ? { check: { id: check.id, title: check.title, platform: check.platform, severity: check.severity, category: check.category, fix_hint: check.fix_hint } } : {}),
    runbooks,
    order_types: catalogue.listOrderTypes().map((o) => ({
      type: o.type,
      title: o.title,
      description: o.description,
      params_schema: toJsonSchema(o.params_schema),
      privileged: o.privileged,
      propose_with: RUNBOOK_ORDER_TYPES.has(o.type) ? "propose_runbook" : "propose_order",
    })),
  };
}
