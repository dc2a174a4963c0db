/**
 * Orders for the dashboard: the order types a caller may issue (from the catalogue's registry), issuing one
 * for an appliance of the site (signed by orders/issue.ts), and the site's orders with their status and the
 * result the appliance pushed back.
 */
import { z } from "zod";
import { listOrderTypes, toJsonSchema, type JsonSchema } from "../../protocol/catalogue/mod.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MAX_ORDER_LIFETIME_MS } from "../../protocol/orders.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { issueOrder, MIN_ORDER_TTL_MS } from "../orders/issue.ts";
import { mayIssueOrderType } from "./order-access.ts";

/** Most orders one list returns (newest first). */
export const MAX_ORDERS_LISTED = 200;

export const ORDER_VIEW_STATES = ["pending", "done", "expired", "cancelled"] as const;
export type OrderViewState = (typeof ORDER_VIEW_STATES)[number];

export const issueOrderSchema = z.strictObject({
  appliance_id: z.string().min(1).max(100),
  type: z.string().min(1).max(60),
  params: z.record(z.string(), z.json()).default({}),
  /**
   * Lifetime in seconds (the type's default when left out), at most the protocol's limit. Appliances refuse an
   * order valid for longer than their `relay.order_ttl_s` (default 900) with the result `lifetime_too_long`.
   */
  ttl_s: z
    .number()
    .int()
    .min(MIN_ORDER_TTL_MS / 1000)
    .max(MAX_ORDER_LIFETIME_MS / 1000)
    .optional()
    .meta({ description: "Lifetime in seconds (default: the order type's). Appliances refuse orders valid for longer than their relay.order_ttl_s (default 900 s)." }),
});

export interface OrderTypeView {
  type: string;
  title: string;
  description: string;
  privileged: boolean;
  default_ttl_s: number;
  /** The order's `params` as JSON Schema (2020-12; protocol/catalogue/params.ts toJsonSchema). */
  params_schema: JsonSchema;
  /** Whether the caller may issue it. */
  allowed: boolean;
}

export interface OrderView {
  order_id: string;
  appliance_id: string;
  type: string;
  title: string;
  params: JsonObject;
  issued_by: string;
  issued_by_email: string | null;
  issued_at: string;
  expires_at: string;
  status: OrderViewState;
  result: { outcome: string; detail: string } | null;
  completed_at: string | null;
}

export function orderTypesFor(principal: Pick<Principal, "role">): OrderTypeView[] {
  return listOrderTypes().map((t) => ({ type: t.type, title: t.title, description: t.description, privileged: t.privileged, default_ttl_s: t.default_ttl_s, params_schema: toJsonSchema(t.params_schema), allowed: mayIssueOrderType(principal, t.type) }));
}

export async function issueSiteOrder(deps: Pick<RelayDeps, "db" | "clock" | "random" | "relayKey">, principal: Principal, siteId: string, body: unknown): Promise<{ order_id: string; expires_at: string; type: string; appliance_id: string }> {
  const input = parseSchema(issueOrderSchema, body, "order");
  if (!mayIssueOrderType(principal, input.type)) {
    throw new RelayError("forbidden", `Your role (${principal.role}) may not issue ${JSON.stringify(input.type)} orders${listOrderTypes().some((t) => t.type === input.type) ? ": only an MSP administrator may sign privileged orders" : ": no such order type"}`);
  }
  const app = (await deps.db.execute({ sql: "SELECT site_id FROM appliances WHERE id = ?", args: [input.appliance_id] })).rows[0];
  if (!app || str(app, "site_id") !== siteId) throw new RelayError("appliance_unknown", `appliance_id: no appliance ${JSON.stringify(input.appliance_id)} at this site`);
  const issued = await issueOrder(deps.db, { appliance_id: input.appliance_id, type: input.type, params: input.params, issued_by: principal.user_id, ...(input.ttl_s ? { ttl_ms: input.ttl_s * 1000 } : {}) }, deps);
  return { order_id: issued.order_id, expires_at: issued.payload.expires_at, type: input.type, appliance_id: input.appliance_id };
}

export async function listSiteOrders(db: RelayDb, siteId: string, now: number): Promise<OrderView[]> {
  const rs = await db.execute({
    sql: `SELECT o.*, u.email FROM orders o LEFT JOIN users u ON u.id = o.issued_by WHERE o.site_id = ? ORDER BY o.issued_at DESC, o.id LIMIT ${MAX_ORDERS_LISTED}`,
    args: [siteId],
  });
  const titles = new Map(listOrderTypes().map((t) => [t.type, t.title]));
  const t = isoTime(now);
  return rs.rows.map((r) => {
    const status = str(r, "status");
    const result = strOrNull(r, "result");
    const parsed = result ? (JSON.parse(result) as { outcome?: unknown; detail?: unknown }) : null;
    return {
      order_id: str(r, "id"),
      appliance_id: str(r, "appliance_id"),
      type: str(r, "type"),
      title: titles.get(str(r, "type")) ?? str(r, "type"),
      params: JSON.parse(str(r, "params")) as JsonObject,
      issued_by: str(r, "issued_by"),
      issued_by_email: strOrNull(r, "email"),
      issued_at: str(r, "issued_at"),
      expires_at: str(r, "expires_at"),
      status: status === "pending" && t >= str(r, "expires_at") ? "expired" : (status as OrderViewState),
      result: parsed ? { outcome: String(parsed.outcome ?? ""), detail: String(parsed.detail ?? "") } : null,
      completed_at: strOrNull(r, "completed_at"),
    };
  });
}
