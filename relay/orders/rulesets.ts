/**
 * Rule sets: signed by the relay key when published, versions only ever increase, stored append-only. The
 * newest one is what appliances pull when their version is older.
 *
 * A set is either for every appliance (`msp_id` NULL, what `publishRuleset` writes by default) or for one
 * MSP's appliances (what the learning loop publishes: the newest all-appliance rules plus that MSP's
 * promoted rules). Versions come from one sequence across all sets, so the newest set an appliance may see
 * (its MSP's or an all-appliance one, `latestRuleset(db, {site_id})`) always has a higher version than the
 * last one it installed, and another MSP's rules never reach it.
 */
import { canonicalBytes } from "../../protocol/canonical.ts";
import { fromBase64Url } from "../../protocol/encoding.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { rulesetPayloadSchema, signRuleset, type RulesetPayload } from "../../protocol/ruleset.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";

export interface PublishedRuleset {
  version: number;
  envelope: Envelope;
  ruleset_hash: string;
  msp_id: string | null;
}

/** Whose appliances a look-up is for: one MSP's, or the MSP of a site (an appliance's). */
export type RulesetScope = { msp_id: string } | { site_id: string };

/**
 * Signs and stores a rule set in the caller's transaction; its version must be above every published one.
 * `mspId` null: for every appliance.
 */
export async function insertRuleset(tx: Tx, payload: RulesetPayload, relayKey: RelayKey, mspId: string | null): Promise<PublishedRuleset> {
  const checked = parseSchema(rulesetPayloadSchema, payload, "rule set");
  const envelope = await signRuleset(checked, relayKey.signer);
  const rulesetHash = sha256Hex(canonicalBytes(checked));
  const top = await highestRulesetVersion(tx);
  if (top >= checked.version) {
    throw new RelayError("stale_version", `Rule set version ${checked.version} is not above the published version ${top}`);
  }
  await tx.execute({
    sql: "INSERT INTO rulesets (version, envelope, payload_sha256, issued_at, msp_id) VALUES (?, ?, ?, ?, ?)",
    args: [checked.version, JSON.stringify(envelope), rulesetHash, checked.issued_at, mspId],
  });
  return { version: checked.version, envelope, ruleset_hash: rulesetHash, msp_id: mspId };
}

/** Signs and stores a rule set (for every appliance unless `opts.msp_id`); its version must be above every published one. */
export async function publishRuleset(db: RelayDb, payload: RulesetPayload, relayKey: RelayKey, opts: { msp_id?: string | null } = {}): Promise<{ version: number; envelope: Envelope; ruleset_hash: string }> {
  const published = await db.transaction((tx) => insertRuleset(tx, payload, relayKey, opts.msp_id ?? null));
  return { version: published.version, envelope: published.envelope, ruleset_hash: published.ruleset_hash };
}

/** The highest version ever published (0 when none). */
export async function highestRulesetVersion(db: RelayDb | Tx): Promise<number> {
  const row = (await db.execute("SELECT COALESCE(MAX(version), 0) AS v FROM rulesets")).rows[0];
  return row ? num(row, "v") : 0;
}

/**
 * The newest published rule set, or null. With a scope: the newest one those appliances may receive (their
 * MSP's or an all-appliance one). Without: the newest of all (tools and tests).
 */
export async function latestRuleset(db: RelayDb | Tx, scope?: RulesetScope): Promise<{ version: number; envelope: Envelope } | null> {
  const r = await latestRulesetRow(db, scope);
  return r ? { version: r.version, envelope: r.envelope } : null;
}

/** `latestRuleset` with the MSP it was published for and its payload hash. */
export async function latestRulesetRow(db: RelayDb | Tx, scope?: RulesetScope): Promise<PublishedRuleset | null> {
  let rs;
  if (scope === undefined) rs = await db.execute("SELECT version, envelope, payload_sha256, msp_id FROM rulesets ORDER BY version DESC LIMIT 1");
  else if ("msp_id" in scope) {
    rs = await db.execute({ sql: "SELECT version, envelope, payload_sha256, msp_id FROM rulesets WHERE msp_id IS NULL OR msp_id = ? ORDER BY version DESC LIMIT 1", args: [scope.msp_id] });
  } else {
    rs = await db.execute({
      sql: `SELECT version, envelope, payload_sha256, msp_id FROM rulesets
            WHERE msp_id IS NULL OR msp_id = (SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?)
            ORDER BY version DESC LIMIT 1`,
      args: [scope.site_id],
    });
  }
  const row = rs.rows[0];
  if (!row) return null;
  return { version: num(row, "version"), envelope: JSON.parse(str(row, "envelope")) as Envelope, ruleset_hash: str(row, "payload_sha256"), msp_id: strOrNull(row, "msp_id") };
}

/** The newest rule set for every appliance (no MSP), or null. */
export async function latestSharedRuleset(db: RelayDb | Tx): Promise<PublishedRuleset | null> {
  const row = (await db.execute("SELECT version, envelope, payload_sha256 FROM rulesets WHERE msp_id IS NULL ORDER BY version DESC LIMIT 1")).rows[0];
  return row ? { version: num(row, "version"), envelope: JSON.parse(str(row, "envelope")) as Envelope, ruleset_hash: str(row, "payload_sha256"), msp_id: null } : null;
}

/** The payload of an envelope this relay signed and stored (read back, not a verification of foreign input). */
export function storedRulesetPayload(envelope: Envelope): RulesetPayload {
  return parseSchema(rulesetPayloadSchema, JSON.parse(new TextDecoder().decode(fromBase64Url(envelope.payload))), "stored rule set");
}
