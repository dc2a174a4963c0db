/**
 * Appliance token rotation without losing the appliance. The appliance (on a signed `rotate_token` order)
 * asks over its authenticated channel; the relay mints a new token and keeps only its SHA-256 as
 * `next_token_sha256`. The old token keeps working until the new one is first used (appliance-auth.ts then
 * promotes it), so an answer lost on the way cannot lock the appliance out; asking again replaces the
 * waiting token.
 */
import type { RelayDeps } from "../deps.ts";
import { newToken, tokenSha256 } from "../auth/token.ts";

export async function rotateApplianceToken(deps: Pick<RelayDeps, "db" | "random" | "log">, applianceId: string): Promise<{ token: string }> {
  const token = newToken(deps.random);
  await deps.db.execute({ sql: "UPDATE appliances SET next_token_sha256 = ? WHERE id = ? AND state = 'active'", args: [tokenSha256(token), applianceId] });
  deps.log.info("appliance_token_rotation_started", { appliance_id: applianceId });
  return { token };
}
