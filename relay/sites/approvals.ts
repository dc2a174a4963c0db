/**
 * The approvals queue: fixes that wait for a person. Requests come from appliances (a healing attempt that
 * ended `pending_approval`, filed by the digest: one pending request per appliance + host + check + runbook)
 * or from a proposal (`proposeOrder`: the MCP tools of relay/l2 and users call it). Approving issues a signed
 * order through orders/issue.ts — `approve_runbook` for a runbook request, the proposed order type otherwise
 * — and records its id; rejecting records who and why. A decision is final (a trigger refuses a second one).
 */
import { findCheck, getOrderType } from "../../protocol/catalogue/mod.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { canonicalize } from "../../protocol/canonical.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import type { HealingAttemptBody } from "../../protocol/sync.ts";
import { num, str, strOrNull, type RelayDb, type Row } from "../db/index.ts";
import type { Env, RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { issueOrder } from "../orders/issue.ts";
import { mayIssueOrderType } from "./order-access.ts";

export const APPROVAL_STATES = ["pending", "approved", "rejected"] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];
/** Longest reason or decision note kept. */
export const MAX_REASON_CHARS = 2000;
/** Most requests one list returns. */
export const MAX_APPROVALS_LISTED = 200;

export interface ApprovalRequest {
  id: string;
  site_id: string;
  appliance_id: string;
  kind: "runbook" | "order";
  order_type: string;
  /** The order type's title in the catalogue ("Set the site's healing mode"). */
  order_title: string;
  runbook_id: string | null;
  host_id: string | null;
  check_id: string | null;
  check_title: string | null;
  incident_id: string | null;
  params: JsonObject;
  reason: string;
  source: string;
  /** Who asked, in words: "the appliance", a person's name, or an AI assistant's key name (from `source`). */
  requested_by: string;
  requested_at: string;
  state: ApprovalState;
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  order_id: string | null;
}

type Stmt = { sql: string; args: (string | number | null)[] };

/**
 * The statement filing an approval request for a `pending_approval` attempt (null for any other attempt).
 * It files nothing when the same fix was already decided after the attempt (the appliance asked again
 * before it pulled the decision).
 */
export function approvalFromAttempt(c: { appliance_id: string; site_id: string }, a: HealingAttemptBody, env: Env): Stmt | null {
  if (a.outcome !== "pending_approval" || a.runbook === null || a.host_id === null) return null;
  const dedup = `${c.appliance_id}|${a.host_id}|${a.check}|${a.runbook}`;
  const params: JsonObject = { runbook: a.runbook, host_id: a.host_id, ...(a.incident_id ? { incident_id: a.incident_id } : {}), ...(Object.keys(a.params).length ? { runbook_params: a.params } : {}) };
  const reason = (a.detail ?? `${a.runbook} needs a signed approval for ${a.host_id}`).slice(0, MAX_REASON_CHARS);
  return {
    sql: `INSERT INTO approval_requests (id, site_id, appliance_id, kind, order_type, runbook_id, host_id, check_id, incident_id, params, reason, source, dedup_key, requested_at)
          SELECT ?, ?, ?, 'runbook', 'approve_runbook', ?, ?, ?, ?, ?, ?, 'appliance', ?, ?
          WHERE NOT EXISTS (SELECT 1 FROM approval_requests WHERE dedup_key = ? AND decided_at >= ?)
          ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING`,
    args: [newId("apr", env.random), c.site_id, c.appliance_id, a.runbook, a.host_id, a.check, a.incident_id, JSON.stringify(params), reason, dedup, a.finished_at, dedup, a.finished_at],
  };
}

export interface ProposalInput {
  site_id: string;
  appliance_id: string;
  order_type: string;
  params: JsonObject;
  reason: string;
  /** Who proposed it: `user:<user id>`, `mcp:<API key id>` or `mcp:<user id>`. */
  source: string;
}

/**
 * How a proposer's requests are bounded. relay/mcp sets it for assistants, which may repeat themselves; a
 * person's proposals (the dashboard) are not bounded.
 */
export interface ProposalBounds {
  /** Most pending requests one `source` may have; proposing one more is refused (`proposal_limit`). */
  maxPendingFromSource: number;
  /** What the refusal calls the proposer ("this API key"). */
  proposer: string;
}

/** What filing a proposal did: filed a new request, or found the same one pending (`duplicate`). */
export interface ProposalFiled {
  id: string;
  duplicate: boolean;
}

/**
 * Files a proposed order for a person to approve (nothing is signed yet). The order type must exist and the
 * appliance must belong to the site; the params are checked when it is approved (against the catalogue at
 * that time). With `bounds`, a proposal equal to a pending one (same appliance, order type and params, as
 * canonical JSON) answers that request instead of filing a second, and a proposer at its cap is refused;
 * one statement does both, so concurrent proposals cannot pass the cap together.
 */
export async function proposeOrder(db: RelayDb, input: ProposalInput, env: Env, bounds?: ProposalBounds): Promise<ProposalFiled> {
  try {
    getOrderType(input.order_type);
  } catch {
    throw new RelayError("schema", `order_type: ${JSON.stringify(input.order_type)} is not an order type in the catalogue`);
  }
  const reason = input.reason.trim();
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS) throw new RelayError("schema", `reason: 1 to ${MAX_REASON_CHARS} characters: current length is ${reason.length}`);
  const app = (await db.execute({ sql: "SELECT site_id FROM appliances WHERE id = ?", args: [input.appliance_id] })).rows[0];
  if (!app || str(app, "site_id") !== input.site_id) throw new RelayError("appliance_unknown", `No appliance ${JSON.stringify(input.appliance_id)} at site ${input.site_id}`);
  const id = newId("apr", env.random);
  const source = input.source.slice(0, 200);
  const dedup = bounds ? `proposal|${input.appliance_id}|${input.order_type}|${sha256Hex(canonicalize(input.params))}` : `proposal|${id}`;
  const rs = await db.execute({
    sql: `INSERT INTO approval_requests (id, site_id, appliance_id, kind, order_type, runbook_id, host_id, params, reason, source, dedup_key, requested_at)
          SELECT ?, ?, ?, 'order', ?, ?, ?, ?, ?, ?, ?, ?
          WHERE (SELECT COUNT(*) FROM approval_requests WHERE source = ? AND state = 'pending') < ?
          ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING`,
    args: [
      id,
      input.site_id,
      input.appliance_id,
      input.order_type,
      typeof input.params["runbook"] === "string" ? input.params["runbook"] : null,
      typeof input.params["host_id"] === "string" ? input.params["host_id"] : null,
      JSON.stringify(input.params),
      reason,
      source,
      dedup,
      isoTime(env.clock.now()),
      source,
      bounds?.maxPendingFromSource ?? Number.MAX_SAFE_INTEGER,
    ],
  });
  if (rs.rowsAffected === 1) return { id, duplicate: false };
  const pending = (await db.execute({ sql: "SELECT id FROM approval_requests WHERE dedup_key = ? AND state = 'pending'", args: [dedup] })).rows[0];
  if (pending) return { id: str(pending, "id"), duplicate: true };
  const max = bounds?.maxPendingFromSource ?? 0;
  throw new RelayError(
    "proposal_limit",
    `${bounds?.proposer ?? "This proposer"} already has ${max} pending proposals, the most it may have open: a person must approve or reject some (site → Approvals) before it proposes more`,
    { max_pending: max },
  );
}

/**
 * The columns of a request plus what `requested_by` is made of: the user or API key named by its source
 * (`user:<user id>`, `mcp:<key id>`, `mcp:<user id>`).
 */
const REQUEST_COLUMNS = `a.*,
  (SELECT coalesce(nullif(u.name, ''), u.email) FROM users u WHERE u.id = substr(a.source, instr(a.source, ':') + 1)) AS source_user,
  (SELECT k.name FROM api_keys k WHERE k.id = substr(a.source, instr(a.source, ':') + 1)) AS source_key`;

function requestedBy(r: Row): string {
  const source = str(r, "source");
  const user = strOrNull(r, "source_user");
  const key = strOrNull(r, "source_key");
  if (source === "appliance") return "the appliance";
  if (source.startsWith("mcp:")) return key !== null ? `AI assistant “${key}” (API key)` : `${user ?? "a user"} through an AI assistant`;
  return user ?? source;
}

function orderTitle(type: string): string {
  try {
    return getOrderType(type).title;
  } catch {
    return type;
  }
}

function fromRow(r: Row): ApprovalRequest {
  const check = strOrNull(r, "check_id");
  return {
    id: str(r, "id"),
    site_id: str(r, "site_id"),
    appliance_id: str(r, "appliance_id"),
    kind: str(r, "kind") as ApprovalRequest["kind"],
    order_type: str(r, "order_type"),
    order_title: orderTitle(str(r, "order_type")),
    runbook_id: strOrNull(r, "runbook_id"),
    host_id: strOrNull(r, "host_id"),
    check_id: check,
    check_title: check ? (findCheck(check)?.title ?? null) : null,
    incident_id: strOrNull(r, "incident_id"),
    params: JSON.parse(str(r, "params")) as JsonObject,
    reason: str(r, "reason"),
    source: str(r, "source"),
    requested_by: requestedBy(r),
    requested_at: str(r, "requested_at"),
    state: str(r, "state") as ApprovalState,
    decided_by: strOrNull(r, "decided_by"),
    decided_at: strOrNull(r, "decided_at"),
    decision_note: strOrNull(r, "decision_note"),
    order_id: strOrNull(r, "order_id"),
  };
}

/** A site's requests, pending first then newest first. */
export async function listApprovals(db: RelayDb, siteId: string, opts: { state?: ApprovalState } = {}): Promise<ApprovalRequest[]> {
  const rs = await db.execute({
    sql: `SELECT ${REQUEST_COLUMNS} FROM approval_requests a WHERE a.site_id = ? ${opts.state ? "AND a.state = ?" : ""}
          ORDER BY a.state = 'pending' DESC, a.requested_at DESC, a.id LIMIT ${MAX_APPROVALS_LISTED}`,
    args: opts.state ? [siteId, opts.state] : [siteId],
  });
  return rs.rows.map(fromRow);
}

export async function getApproval(db: RelayDb, id: string): Promise<ApprovalRequest> {
  const row = (await db.execute({ sql: `SELECT ${REQUEST_COLUMNS} FROM approval_requests a WHERE a.id = ?`, args: [id] })).rows[0];
  if (!row) throw new RelayError("not_found", `No approval request ${JSON.stringify(id)} here`);
  return fromRow(row);
}

/** Pending requests per site (for the fleet view). */
export async function pendingApprovalCounts(db: RelayDb, siteIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (siteIds.length === 0) return out;
  const rs = await db.execute({ sql: `SELECT site_id, COUNT(*) AS n FROM approval_requests WHERE state = 'pending' AND site_id IN (${siteIds.map(() => "?").join(",")}) GROUP BY site_id`, args: [...siteIds] });
  for (const r of rs.rows) out.set(str(r, "site_id"), num(r, "n"));
  return out;
}

export type Decision = { approve: true; valid_for_s?: number; note?: string } | { approve: false; note?: string };

/**
 * Approves (issuing the signed order) or rejects a pending request. RelayError `approval_decided` (409) when
 * it was decided already, `forbidden` when the caller may not issue that order type. When two people approve
 * at once, the loser's order is cancelled before any appliance can pull it.
 */
export async function decideApproval(deps: Pick<RelayDeps, "db" | "clock" | "random" | "relayKey">, principal: Principal, id: string, decision: Decision): Promise<{ request: ApprovalRequest; order_id: string | null }> {
  const req = await getApproval(deps.db, id);
  if (req.state !== "pending") throw new RelayError("approval_decided", `Approval request ${id} was already ${req.state} by ${req.decided_by ?? "someone"} at ${req.decided_at ?? "?"}`, { state: req.state });
  if (!mayIssueOrderType(principal, req.order_type)) {
    throw new RelayError("forbidden", `Your role (${principal.role}) may not decide on ${req.order_type} orders: only an MSP administrator may sign them`);
  }
  const now = isoTime(deps.clock.now());
  const note = decision.note?.trim().slice(0, MAX_REASON_CHARS) || null;
  if (!decision.approve) {
    const rs = await deps.db.execute({
      sql: "UPDATE approval_requests SET state = 'rejected', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ? AND state = 'pending'",
      args: [principal.user_id, now, note, id],
    });
    if (rs.rowsAffected === 0) throw new RelayError("approval_decided", `Approval request ${id} was decided by someone else just now`);
    return { request: await getApproval(deps.db, id), order_id: null };
  }
  const params: JsonObject = { ...req.params, ...(req.order_type === "approve_runbook" && decision.valid_for_s !== undefined ? { valid_for_s: decision.valid_for_s } : {}) };
  const order = await issueOrder(deps.db, { appliance_id: req.appliance_id, type: req.order_type, params, issued_by: principal.user_id }, deps);
  const rs = await deps.db.execute({
    sql: "UPDATE approval_requests SET state = 'approved', decided_by = ?, decided_at = ?, decision_note = ?, order_id = ? WHERE id = ? AND state = 'pending'",
    args: [principal.user_id, now, note, order.order_id, id],
  });
  if (rs.rowsAffected === 0) {
    await deps.db.execute({ sql: "UPDATE orders SET status = 'cancelled' WHERE id = ? AND status = 'pending'", args: [order.order_id] });
    throw new RelayError("approval_decided", `Approval request ${id} was decided by someone else just now; the order signed for it was cancelled`);
  }
  return { request: await getApproval(deps.db, id), order_id: order.order_id };
}
