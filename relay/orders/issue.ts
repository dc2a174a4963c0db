/**
 * Issuing orders: an MSP action becomes one signed order for one appliance. The type and params are checked
 * against the catalogue's order-type registry (defaults filled in), the payload names the target appliance and
 * its site, a fresh nonce and an expiry (the type's default TTL unless given, at most MAX_ORDER_LIFETIME_MS),
 * and it is signed by the relay key at issue time. The stored envelope is what every later pull hands out.
 */
import { getOrderType } from "../../protocol/catalogue/mod.ts";
import { buildOrder, MAX_ORDER_LIFETIME_MS, signOrder, type OrderPayload } from "../../protocol/orders.ts";
import { canonicalize } from "../../protocol/canonical.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { Env, RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { catalogueOrderParams, normaliseOrderParams } from "./catalogue-params.ts";

/** `issued_by` of an order from `osiris relay admin issue-order`: never a user id (those start `usr_`). */
/** The shortest lifetime an order may have: less could expire before the appliance's next pull. */
export const MIN_ORDER_TTL_MS = 60_000;

export const CLI_ISSUER_PREFIX = "cli:";

/** The `issued_by` for an operator at the CLI (`--by WHO`, default `admin`). */
export function cliIssuer(who = "admin"): string {
  return who.startsWith(CLI_ISSUER_PREFIX) ? who : CLI_ISSUER_PREFIX + who;
}

export interface IssueOrderInput {
  appliance_id: string;
  type: string;
  params: unknown;
  /** Who issued it (a user id, or `cli:<name>`); signed into the order. */
  issued_by: string;
  /** Lifetime in ms; defaults to the order type's `default_ttl_s`. */
  ttl_ms?: number;
}

export interface IssuedOrder {
  order_id: string;
  payload: OrderPayload;
  envelope: Envelope;
}

export async function issueOrder(db: RelayDb, input: IssueOrderInput, ctx: Env & { relayKey: RelayKey }): Promise<IssuedOrder> {
  let defaultTtlMs: number;
  try {
    defaultTtlMs = getOrderType(input.type).default_ttl_s * 1000;
  } catch {
    throw new RelayError("schema", `type: ${JSON.stringify(input.type)} is not an order type in the catalogue`);
  }
  const params = normaliseOrderParams(input.type, input.params ?? {});
  const ttlMs = input.ttl_ms ?? Math.min(defaultTtlMs, MAX_ORDER_LIFETIME_MS);
  if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_ORDER_TTL_MS || ttlMs > MAX_ORDER_LIFETIME_MS) {
    throw new RelayError("schema", `ttl: an order lives ${MIN_ORDER_TTL_MS / 1000} to ${MAX_ORDER_LIFETIME_MS / 1000} seconds: current value is ${(input.ttl_ms ?? ttlMs) / 1000} s`);
  }
  const row = (await db.execute({ sql: "SELECT site_id, state FROM appliances WHERE id = ?", args: [input.appliance_id] })).rows[0];
  if (!row) throw new RelayError("appliance_unknown", `No appliance ${JSON.stringify(input.appliance_id)}`);
  if (str(row, "state") !== "active") throw new RelayError("appliance_revoked", `Appliance ${input.appliance_id} is revoked; it would never run the order`);
  const payload = buildOrder(
    { type: input.type, params, target_appliance_id: input.appliance_id, site_id: str(row, "site_id"), issued_by: input.issued_by, ttlMs },
    { now: ctx.clock.now(), random: ctx.random },
  );
  const envelope = await signOrder(payload, ctx.relayKey.signer, { validateParams: catalogueOrderParams });
  await db.execute({
    sql: `INSERT INTO orders (id, appliance_id, site_id, type, params, envelope, nonce, issued_by, issued_at, expires_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [payload.order_id, payload.target_appliance_id, payload.site_id, payload.type, canonicalize(payload.params), JSON.stringify(envelope), payload.nonce, payload.issued_by, payload.issued_at, payload.expires_at],
  });
  return { order_id: payload.order_id, payload, envelope };
}
