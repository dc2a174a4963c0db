/**
 * What an appliance pulls (`GET|POST /api/sync/pull`): the newest signed rule set it may receive (one for
 * every appliance, its MSP's, or its own site's with the rules scoped to that site: orders/rulesets.ts) when
 * its version is older,
 * its unexpired pending orders (signed at issue time; they are handed out again until a result comes back or
 * they expire, and the appliance runs each nonce once), its site's configuration, the relay keys and the
 * relay's time, and its site's credentials sealed to its registered X25519 key (credentials/seal-for-appliance.ts:
 * a credential that cannot be sealed is left out and logged, never sent in the clear). An appliance that reports
 * its signed appliance config version (`appliance_config_version`, null for none) also gets the newest one signed
 * for it when that is newer (enroll/appliance-config.ts), else null; one that does not report it (an older
 * appliance, whose strict parser would refuse an unknown field) gets no `appliance_config` field at all.
 */
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { MAX_PULL_ORDERS, pullResponseSchema, type PullResponse } from "../../protocol/sync.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { sealedCredentialsFor } from "../credentials/seal-for-appliance.ts";
import { latestApplianceConfigEnvelope } from "../enroll/appliance-config.ts";
import { str } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { publishedRelayKeys } from "../keys/index.ts";
import { siteConfig } from "../tenants/tenants.ts";
import { latestRuleset } from "./rulesets.ts";

/**
 * How far before `since` orders are still handed out again: an order committed just after a pull read the
 * table may carry an issued_at slightly before that pull's relay_time. Duplicates are harmless (nonces).
 */
export const PULL_SINCE_OVERLAP_MS = 5 * 60_000;

export async function buildPull(deps: Pick<RelayDeps, "db" | "clock" | "random" | "log" | "vault">, appliance: AuthedAppliance, req: { ruleset_version: number | null; since: string | null; appliance_config_version?: number | null | undefined }): Promise<PullResponse> {
  const now = deps.clock.now();
  const latest = await latestRuleset(deps.db, { site_id: appliance.site_id });
  const ruleset = latest && latest.version > (req.ruleset_version ?? 0) ? latest.envelope : null;
  const sinceMs = req.since === null ? null : parseIsoTime(req.since);
  const after = sinceMs === null || Number.isNaN(sinceMs) ? "" : isoTime(Math.max(0, sinceMs - PULL_SINCE_OVERLAP_MS));
  const rs = await deps.db.execute({
    sql: `SELECT envelope FROM orders WHERE appliance_id = ? AND status = 'pending' AND expires_at > ? AND issued_at >= ?
          ORDER BY issued_at, id LIMIT ?`,
    args: [appliance.id, isoTime(now), after, MAX_PULL_ORDERS],
  });
  let applianceConfig: { appliance_config?: Envelope | null } = {};
  if (req.appliance_config_version !== undefined) {
    const config = await latestApplianceConfigEnvelope(deps.db, appliance.id);
    applianceConfig = { appliance_config: config && config.version > (req.appliance_config_version ?? 0) ? config.envelope : null };
  }
  return parseSchema(
    pullResponseSchema,
    {
      relay_time: isoTime(now),
      ruleset,
      orders: rs.rows.map((r) => JSON.parse(str(r, "envelope")) as Envelope),
      site_config: await siteConfig(deps.db, appliance.site_id),
      relay_keys: await publishedRelayKeys(deps.db),
      credentials: await sealedCredentialsFor(deps, appliance),
      ...applianceConfig,
    },
    "pull response",
  );
}
