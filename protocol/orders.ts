/**
 * Signed orders: the relay tells one appliance to do one thing, once, within a time window.
 *
 * An order travels in a signed envelope (`envelope.ts`, context `order`). The appliance verifies, in this
 * order: a pinned relay key signed it; the payload is a valid order whose `type` is in the order-type registry
 * with schema-valid `params` (the registry is injected as `validateParams`, so this module does not depend on
 * the catalogue); it names this appliance; and it is within its window (`issued_at` up to ORDER_CLOCK_SKEW_MS
 * in the future is tolerated, `expires_at` is not). The appliance also refuses a nonce it has already seen;
 * that needs storage, so it is the caller's job.
 */
import { z } from "zod";
import type { Signer } from "./crypto.ts";
import { openEnvelope, signEnvelope, type Envelope, type TrustedKey } from "./envelope.ts";
import { jsonObjectSchema, MAX_TEXT_LENGTH, type JsonObject } from "./evidence.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { idSchema, isoTime, isoTimeSchema, newId, newNonce, nonceSchema, parseIsoTime } from "./ids.ts";
import { parseSchema } from "./schema.ts";

export const ORDER_SCHEMA = "osiris.order/v1";
/** Longest an order may be valid: a day; anything longer should be a rule or configuration, not an order. */
export const MAX_ORDER_LIFETIME_MS = 24 * 60 * 60_000;
/** Default lifetime of an order (healing orders: a fix that waits longer acts on stale facts). */
export const DEFAULT_ORDER_TTL_MS = 15 * 60_000;
/** How far in the future `issued_at` may be, for clocks that disagree a little. */
export const ORDER_CLOCK_SKEW_MS = 120_000;

/** An order type name, e.g. `run_runbook` or `rescan.host`. */
export const ORDER_TYPE_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;

export const orderPayloadSchema = z
  .strictObject({
    schema: z.literal(ORDER_SCHEMA),
    order_id: idSchema,
    type: z.string().regex(ORDER_TYPE_PATTERN, "expected an order type name (lower case, digits, _ and .)"),
    params: jsonObjectSchema,
    target_appliance_id: idSchema,
    site_id: idSchema,
    issued_at: isoTimeSchema,
    expires_at: isoTimeSchema,
    nonce: nonceSchema,
    issued_by: z.string().min(1).max(MAX_TEXT_LENGTH),
  })
  .superRefine((o, ctx) => {
    const lifetime = parseIsoTime(o.expires_at) - parseIsoTime(o.issued_at);
    if (!(lifetime > 0)) ctx.addIssue({ code: "custom", path: ["expires_at"], message: `must be after issued_at (${o.issued_at})` });
    else if (lifetime > MAX_ORDER_LIFETIME_MS) {
      ctx.addIssue({ code: "custom", path: ["expires_at"], message: `makes the order valid for ${lifetime} ms, longer than the limit of ${MAX_ORDER_LIFETIME_MS} ms` });
    }
  });
export type OrderPayload = z.output<typeof orderPayloadSchema>;

/**
 * Checks an order's params against its type in the registry. Throws ValidationError("schema") when the type is
 * unknown or the params do not match (use `paramsValidator` to build one from schemas).
 */
export type ValidateOrderParams = (type: string, params: JsonObject) => void;

/** A `ValidateOrderParams` from a look-up of each type's params schema (undefined: no such order type). */
export function paramsValidator(lookup: (type: string) => z.ZodType | undefined): ValidateOrderParams {
  return (type, params) => {
    const schema = lookup(type);
    if (!schema) throw new ValidationError("schema", `type: unknown order type ${JSON.stringify(type)}`, { path: "type" });
    parseSchema(schema, params, { what: `params of order type ${type}`, at: ["params"] });
  };
}

/** Fields the relay chooses; `buildOrder` fills the rest. */
export interface OrderInput {
  type: string;
  params: JsonObject;
  target_appliance_id: string;
  site_id: string;
  issued_by: string;
  ttlMs?: number;
}

/** A new order payload issued at `now`, expiring after `ttlMs` (default DEFAULT_ORDER_TTL_MS), with a fresh id and nonce. */
export function buildOrder(input: OrderInput, env: { now: number; random: (n: number) => Uint8Array }): OrderPayload {
  const { ttlMs = DEFAULT_ORDER_TTL_MS, ...rest } = input;
  return parseSchema(
    orderPayloadSchema,
    {
      schema: ORDER_SCHEMA,
      order_id: newId("ord", env.random),
      ...rest,
      issued_at: isoTime(env.now),
      expires_at: isoTime(env.now + ttlMs),
      nonce: newNonce(env.random),
    },
    "order payload",
  );
}

/** Signs an order (context `order`). Validates it first, and its params too when `validateParams` is given. */
export async function signOrder(payload: OrderPayload, signer: Signer, opts: { validateParams?: ValidateOrderParams } = {}): Promise<Envelope> {
  const order = parseSchema(orderPayloadSchema, payload, "order payload");
  opts.validateParams?.(order.type, order.params);
  return signEnvelope("order", order, signer);
}

export interface VerifyOrderOptions {
  /** The pinned relay keys. */
  relayKeys: readonly TrustedKey[];
  /** This appliance; an order for another one is refused (`wrong_target`). */
  applianceId: string;
  /** This appliance's site, if known; an order for another site is refused (`wrong_target`). */
  siteId?: string;
  /** Current time, ms since the epoch. */
  now: number;
  validateParams: ValidateOrderParams;
}

/**
 * Verifies a signed order and returns its payload. Throws IntegrityError `unknown_key`, `bad_signature`,
 * `wrong_target`, `not_yet_valid`, `expired`, or ValidationError when the envelope, payload or params are
 * malformed.
 */
export async function verifyOrder(envelope: unknown, opts: VerifyOrderOptions): Promise<OrderPayload> {
  const { value } = await openEnvelope("order", envelope, opts.relayKeys);
  const order = parseSchema(orderPayloadSchema, value, "order payload");
  opts.validateParams(order.type, order.params);
  const where = { order_id: order.order_id };
  if (order.target_appliance_id !== opts.applianceId) {
    throw new IntegrityError("wrong_target", `target_appliance_id: order ${order.order_id} is for ${order.target_appliance_id}, this is ${opts.applianceId}`, where);
  }
  if (opts.siteId !== undefined && order.site_id !== opts.siteId) {
    throw new IntegrityError("wrong_target", `site_id: order ${order.order_id} is for site ${order.site_id}, this appliance is at ${opts.siteId}`, where);
  }
  if (parseIsoTime(order.issued_at) > opts.now + ORDER_CLOCK_SKEW_MS) {
    throw new IntegrityError("not_yet_valid", `issued_at: order ${order.order_id} is issued at ${order.issued_at}, more than ${ORDER_CLOCK_SKEW_MS} ms after now (${isoTime(opts.now)})`, where);
  }
  if (opts.now >= parseIsoTime(order.expires_at)) {
    throw new IntegrityError("expired", `expires_at: order ${order.order_id} expired at ${order.expires_at}, now is ${isoTime(opts.now)}`, where);
  }
  return order;
}
