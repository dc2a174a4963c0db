/**
 * The MCP tools that *propose* an action: `propose_runbook` (a `run_runbook` order for one host) and
 * `propose_order` (any other catalogue order type). Each checks the site against the caller's tenant,
 * picks the appliance that serves the host, validates the parameters against the catalogue's schema (the
 * same check the order is signed with later), and files a pending approval request (approval-request.ts).
 * They never sign or issue an order: a person approves it in the dashboard.
 */
import { catalogue } from "../../protocol/catalogue/mod.ts";
import type { ParamIssue } from "../../protocol/catalogue/mod.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { createApprovalRequest } from "./approval-request.ts";
import { RUNBOOK_ORDER_TYPES } from "./catalogue-tool.ts";
import { applianceFor, siteInScope } from "./site-scope.ts";

type Deps = Pick<RelayDeps, "db" | "clock" | "random">;

/** What a proposal answers: the pending request, and what happens next. */
export interface ProposalResult {
  approval_id: string;
  state: "pending";
  /** True when the same proposal (appliance, order type, params) was already pending: this is that request, and nothing new was filed. */
  duplicate: boolean;
  site_id: string;
  appliance_id: string;
  order_type: string;
  params: JsonObject;
  /** Only an MSP administrator may approve a privileged order type. */
  needs_msp_admin: boolean;
  next: string;
}

const NEXT = "Nothing has run. A person must approve this request in the dashboard (site → Approvals) before the relay signs an order.";
const NEXT_DUPLICATE = "Nothing new was filed: the same proposal (appliance, order type and parameters) is already pending as this request, and your reason was not added. Nothing has run; a person must approve it in the dashboard (site → Approvals).";

function paramsRefused(issues: readonly ParamIssue[]): RelayError {
  return new RelayError("schema", `params: ${issues.map((i) => i.message).join("; ")} (runbook_catalogue lists each parameter schema)`, { issues: issues.map((i) => ({ field: i.field, code: i.code })) });
}

/** The platforms a host showed (inventory, or the checks it reported); empty when unknown. */
async function hostPlatforms(db: RelayDb, siteId: string, applianceId: string, hostId: string): Promise<Set<string>> {
  if (hostId === applianceId) return new Set(["appliance"]);
  const rs = await db.execute({
    sql: `SELECT platform FROM site_hosts WHERE site_id = ? AND host_id = ?
          UNION SELECT DISTINCT substr(check_id, 1, instr(check_id, '.') - 1) FROM site_results WHERE site_id = ? AND host_id = ? AND check_id <> ''`,
    args: [siteId, hostId, siteId, hostId],
  });
  return new Set(rs.rows.map((r) => str(r, "platform")));
}

export interface ProposeRunbookArgs {
  site_id: string;
  host_id: string;
  runbook_id: string;
  params?: Record<string, unknown> | undefined;
  appliance_id?: string | undefined;
  dry_run?: boolean | undefined;
  reason: string;
}

/** `propose_runbook`: a pending request to run one catalogue runbook on one host of a site. */
export async function proposeRunbook(deps: Deps, principal: Principal, args: ProposeRunbookArgs): Promise<ProposalResult> {
  const site = await siteInScope(deps.db, principal, args.site_id);
  const runbook = catalogue.findRunbook(args.runbook_id);
  if (!runbook) throw new RelayError("schema", `runbook_id: ${JSON.stringify(args.runbook_id.slice(0, 100))} is not a catalogue runbook (runbook_catalogue lists them)`);
  const checked = catalogue.validateOrderParams("run_runbook", { runbook: runbook.id, host_id: args.host_id, runbook_params: args.params ?? {}, dry_run: args.dry_run ?? false });
  if (!checked.ok) throw paramsRefused(checked.issues);
  const applianceId = await applianceFor(deps.db, deps, args.site_id, args.appliance_id, args.host_id);
  const platforms = await hostPlatforms(deps.db, args.site_id, applianceId, args.host_id);
  if (platforms.size > 0 && !platforms.has(runbook.platform)) {
    throw new RelayError("schema", `runbook_id: ${runbook.id} is a ${runbook.platform} runbook; host ${args.host_id} is ${[...platforms].sort().join("/")}`);
  }
  return file(deps, principal, { site_id: args.site_id, org_id: site.org_id, appliance_id: applianceId, order_type: "run_runbook", params: checked.value as JsonObject, reason: args.reason });
}

export interface ProposeOrderArgs {
  site_id: string;
  order_type: string;
  params?: Record<string, unknown> | undefined;
  appliance_id?: string | undefined;
  reason: string;
}

/** `propose_order`: a pending request for a catalogue order (force_scan, discovery_scan, …) to a site's appliance. */
export async function proposeOrderTool(deps: Deps, principal: Principal, args: ProposeOrderArgs): Promise<ProposalResult> {
  const site = await siteInScope(deps.db, principal, args.site_id);
  if (RUNBOOK_ORDER_TYPES.has(args.order_type)) throw new RelayError("schema", `order_type: propose ${args.order_type} with propose_runbook, which checks the runbook's own parameters`);
  const types = catalogue.listOrderTypes().map((o) => o.type);
  if (!types.includes(args.order_type)) throw new RelayError("schema", `order_type: ${JSON.stringify(args.order_type.slice(0, 60))} is not an order type (known: ${types.filter((t) => !RUNBOOK_ORDER_TYPES.has(t)).join(", ")})`);
  const checked = catalogue.validateOrderParams(args.order_type, args.params ?? {});
  if (!checked.ok) throw paramsRefused(checked.issues);
  const host = typeof checked.value["host_id"] === "string" ? checked.value["host_id"] : null;
  const applianceId = await applianceFor(deps.db, deps, args.site_id, args.appliance_id, host);
  return file(deps, principal, { site_id: args.site_id, org_id: site.org_id, appliance_id: applianceId, order_type: args.order_type, params: checked.value as JsonObject, reason: args.reason });
}

async function file(deps: Deps, principal: Principal, p: Parameters<typeof createApprovalRequest>[2]): Promise<ProposalResult> {
  const { id, duplicate } = await createApprovalRequest(deps, principal, p);
  return {
    approval_id: id,
    state: "pending",
    duplicate,
    site_id: p.site_id,
    appliance_id: p.appliance_id,
    order_type: p.order_type,
    params: p.params,
    needs_msp_admin: catalogue.getOrderType(p.order_type).privileged,
    next: duplicate ? NEXT_DUPLICATE : NEXT,
  };
}
