/**
 * The one place an MCP proposal becomes something a person decides: a pending row in the dashboard's
 * approvals queue (sites/approvals.ts `proposeOrder`, table `approval_requests`), with source
 * `mcp:<API key id>` (or `mcp:<user id>` from a session), and an audit entry naming the proposing user (or API key). Nothing is signed or issued
 * here: approving it in the dashboard (`decideApproval`) is what signs the order.
 *
 * An assistant may repeat itself, so its proposals are bounded: the same proposal as a pending one (same
 * appliance, order type and parameters, from any assistant) answers that request and files nothing, and
 * one key (or one person's session) has at most MAX_OPEN_PROPOSALS pending.
 */
import type { JsonObject } from "../../protocol/evidence.ts";
import { audit } from "../auth/audit.ts";
import type { RelayDeps } from "../deps.ts";
import type { Principal } from "../http/types.ts";
import { proposeOrder, type ProposalFiled } from "../sites/approvals.ts";

/** The `source` prefix of approval requests filed through MCP. */
export const MCP_SOURCE = "mcp";
/**
 * Most pending proposals one API key (or one person's session) may have: a queue a person can still read
 * and decide, and a ceiling on what a looping assistant can file.
 */
export const MAX_OPEN_PROPOSALS = 20;

export interface ApprovalProposal {
  site_id: string;
  /** The site's organisation (for the audit entry, so the clinic's partner sees it too). */
  org_id: string | null;
  appliance_id: string;
  order_type: string;
  /** Already validated against the catalogue's parameter schema for `order_type`. */
  params: JsonObject;
  /** Why, in the proposer's words: shown to the person who decides. */
  reason: string;
}

/**
 * Files a pending approval request and audits it; returns its id. An equal pending request is returned
 * instead (`duplicate`, nothing filed or audited); RelayError `proposal_limit` past MAX_OPEN_PROPOSALS.
 */
export async function createApprovalRequest(deps: Pick<RelayDeps, "db" | "clock" | "random">, principal: Principal, p: ApprovalProposal): Promise<ProposalFiled> {
  const { org_id, ...proposal } = p;
  // The key (when an assistant filed it through one) rather than its owner: the reviewer sees which assistant asked.
  const source = `${MCP_SOURCE}:${principal.api_key_id ?? principal.user_id}`;
  const bounds = { maxPendingFromSource: MAX_OPEN_PROPOSALS, proposer: principal.api_key_id ? "This API key" : "You (through an assistant)" };
  const created = await proposeOrder(deps.db, { ...proposal, source }, deps, bounds);
  if (created.duplicate) return created;
  await audit(deps.db, deps.clock, principal, {
    action: "approval.propose",
    target: created.id,
    site_id: p.site_id,
    org_id,
    details: {
      source: MCP_SOURCE,
      order_type: p.order_type,
      appliance_id: p.appliance_id,
      ...(typeof p.params["runbook"] === "string" ? { runbook: p.params["runbook"] } : {}),
      ...(typeof p.params["host_id"] === "string" ? { host_id: p.params["host_id"] } : {}),
    },
  });
  return created;
}
