/**
 * "Test this credential" from the dashboard: a signed `validate_credential` order (orders/issue.ts) for an
 * appliance of the credential's site, naming the credential and the host to sign in to. The appliance tries
 * the login with the credential it holds (sealed to it on pull) and reports success or the exact failure as
 * the order's result; `listCredentials` shows it as `last_validation`. The secret is never in the order.
 */
import { z } from "zod";
import { HOST_ID_PATTERN, idSchema, isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { isExactTarget, targetMatches } from "../../node/sealed-credential.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { issueOrder } from "../orders/issue.ts";
import { getCredential, recordValidationRequest, type ValidationRequest } from "./credentials.ts";

export const validateRequestSchema = z.strictObject({
  /** The host to sign in to; defaults to the credential's target when that is one host. */
  host_id: z.string().regex(HOST_ID_PATTERN, "expected a host id (lower-case letters, digits, . _ -)").optional(),
  /** The appliance that should try; defaults to the site's most recently seen active appliance. */
  appliance_id: idSchema.optional(),
});
export type ValidateRequest = z.output<typeof validateRequestSchema>;

export function parseValidateRequest(json: unknown): ValidateRequest {
  return parseSchema(validateRequestSchema, json ?? {}, "validation request");
}

async function pickAppliance(db: RelayDb, siteId: string, wanted: string | undefined): Promise<string> {
  if (wanted !== undefined) {
    const rs = await db.execute({ sql: "SELECT state FROM appliances WHERE id = ? AND site_id = ?", args: [wanted, siteId] });
    const row = rs.rows[0];
    if (!row) throw new RelayError("appliance_unknown", `No appliance ${wanted} at site ${siteId}`);
    if (str(row, "state") !== "active") throw new RelayError("appliance_revoked", `Appliance ${wanted} is revoked; it cannot test credentials`);
    return wanted;
  }
  const rs = await db.execute({
    sql: "SELECT id FROM appliances WHERE site_id = ? AND state = 'active' ORDER BY last_seen_at IS NULL, last_seen_at DESC, enrolled_at DESC, id LIMIT 1",
    args: [siteId],
  });
  const row = rs.rows[0];
  if (!row) throw new RelayError("appliance_unknown", `Site ${siteId} has no active appliance to test the credential with`);
  return str(row, "id");
}

/** Issues the order and records it on the credential; returns the request as stored. */
export async function requestValidation(deps: Pick<RelayDeps, "db" | "clock" | "random" | "relayKey">, principal: Principal, credentialId: string, req: ValidateRequest): Promise<ValidationRequest & { expires_at: string; site_id: string }> {
  const now = deps.clock.now();
  const cred = await getCredential(deps.db, credentialId, now);
  if (!cred) throw new RelayError("not_found", `No credential ${JSON.stringify(credentialId)} here`);
  let hostId = req.host_id;
  if (hostId === undefined) {
    if (!isExactTarget(cred.target)) throw new RelayError("schema", `host_id: required, since credential ${cred.id} is for the pattern ${JSON.stringify(cred.target)}; name one host it covers`);
    hostId = cred.target;
  }
  if (!targetMatches(cred.target, hostId)) throw new RelayError("schema", `host_id: ${JSON.stringify(hostId)} is not covered by the credential's target ${JSON.stringify(cred.target)}`);
  const applianceId = await pickAppliance(deps.db, cred.site_id, req.appliance_id);
  const order = await issueOrder(deps.db, { appliance_id: applianceId, type: "validate_credential", params: { credential_id: cred.id, host_id: hostId }, issued_by: principal.user_id }, deps);
  const request: ValidationRequest = { order_id: order.order_id, appliance_id: applianceId, host_id: hostId, requested_at: isoTime(now), requested_by: principal.user_id };
  await recordValidationRequest(deps.db, cred.id, request);
  return { ...request, expires_at: order.payload.expires_at, site_id: cred.site_id };
}
