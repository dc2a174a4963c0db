/**
 * Order parameters checked against the catalogue's order-type registry, in the shape protocol/orders.ts
 * expects (`ValidateOrderParams`): the relay signs only orders the appliance will accept.
 */
import { validateOrderParams } from "../../protocol/catalogue/mod.ts";
import { ValidationError } from "../../protocol/errors.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import type { ValidateOrderParams } from "../../protocol/orders.ts";

/** Throws ValidationError("schema") naming each problem when `type` is unknown or `params` do not fit it. */
export const catalogueOrderParams: ValidateOrderParams = (type, params) => {
  const r = validateOrderParams(type, params);
  if (!r.ok) {
    const issues = r.issues.map((i) => (i.field ? `params.${i.field}: ${i.message}` : i.message));
    throw new ValidationError("schema", `Order ${JSON.stringify(type)}: ${issues.join("; ")}`, { path: "params", type });
  }
};

/** The params with the registry's defaults filled in (what gets signed); throws like `catalogueOrderParams`. */
export function normaliseOrderParams(type: string, params: unknown): JsonObject {
  const r = validateOrderParams(type, params);
  if (!r.ok) {
    catalogueOrderParams(type, (params ?? {}) as JsonObject);
    throw new ValidationError("schema", `Order ${JSON.stringify(type)}: invalid params`);
  }
  return r.value as JsonObject;
}
