/**
 * Rule sets: signed by the relay key when published, versions only ever increase, stored append-only. The
 * newest one is what appliances pull when their version is older.
 *
 * A set is for every appliance (`msp_id` NULL, what `publishRuleset` writes by default), for one MSP's
 * appliances (`msp_id`: what the learning loop publishes: the newest all-appliance rules plus the MSP's
 * fleet-wide promoted rules), or for one site's appliances (`msp_id` and `site_id`: those plus the rules
 * scoped to that site). Versions come from one sequence across all sets, and every set is complete for the
 * appliances it is for, so an appliance simply gets the newest set it may see (an all-appliance one, its
 * MSP's, or its site's: `latestRuleset(db, {site_id})`): its version is always above the last one it
 * installed, and another MSP's or another site's rules never reach it.
 */
import { canonicalBytes } from "../../protocol/canonical.ts";
import { fromBase64Url } from "../../protocol/encoding.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { rulesetPayloadSchema, signRuleset, type RulesetPayload } from "../../protocol/ruleset.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";

export interface PublishedRuleset {
  version: number;
  envelope: Envelope;
  ruleset_hash: string;
  msp_id: string | null;
  /** The site it is for (then `msp_id` is that site's MSP), or null. */
  site_id: string | null;
}

/** Whose appliances a look-up is for: one MSP's (sets for the whole MSP), or one site's (an appliance's). */
export type RulesetScope = { msp_id: string } | { site_id: string };

/**
 * Signs and stores a rule set in the caller's transaction; its version must be above every published one.
 * `mspId` null: for every appliance; `siteId`: for that site of the MSP only.
 */
export async function insertRuleset(tx: Tx, payload: RulesetPayload, relayKey: RelayKey, mspId: string | null, siteId: string | null = null): Promise<PublishedRuleset> {
  if (siteId !== null && mspId === null) throw new Error(`Internal: a rule set for site ${siteId} needs that site's MSP`);
  const checked = parseSchema(rulesetPayloadSchema, payload, "rule set");
  const envelope = await signRuleset(checked, relayKey.signer);
  const rulesetHash = sha256Hex(canonicalBytes(checked));
  const top = await highestRulesetVersion(tx);
  if (top >= checked.version) {
    throw new RelayError("stale_version", `Rule set version ${checked.version} is not above the published version ${top}`);
  }
  await tx.execute({
    sql: "INSERT INTO rulesets (version, envelope, payload_sha256, issued_at, msp_id, site_id) VALUES (?, ?, ?, ?, ?, ?)",
    args: [checked.version, JSON.stringify(envelope), rulesetHash, checked.issued_at, mspId, siteId],
  });
  return { version: checked.version, envelope, ruleset_hash: rulesetHash, msp_id: mspId, site_id: siteId };
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
 * The newest published rule set, or null. With a scope: the newest one those appliances may receive (for an
 * MSP: an all-appliance one or the MSP's; for a site: those or the site's own). Without: the newest of all
 * (tools and tests).
 */
export async function latestRuleset(db: RelayDb | Tx, scope?: RulesetScope): Promise<{ version: number; envelope: Envelope } | null> {
  const r = await latestRulesetRow(db, scope);
  return r ? { version: r.version, envelope: r.envelope } : null;
}

const COLUMNS = "version, envelope, payload_sha256, msp_id, site_id";

/** `latestRuleset` with whom it was published for and its payload hash. */
export async function latestRulesetRow(db: RelayDb | Tx, scope?: RulesetScope): Promise<PublishedRuleset | null> {
  let rs;
  if (scope === undefined) rs = await db.execute(`SELECT ${COLUMNS} FROM rulesets ORDER BY version DESC LIMIT 1`);
  else if ("msp_id" in scope) {
    rs = await db.execute({ sql: `SELECT ${COLUMNS} FROM rulesets WHERE msp_id IS NULL OR (msp_id = ? AND site_id IS NULL) ORDER BY version DESC LIMIT 1`, args: [scope.msp_id] });
  } else {
    rs = await db.execute({
      sql: `SELECT ${COLUMNS} FROM rulesets
            WHERE msp_id IS NULL
               OR (msp_id = (SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?) AND (site_id IS NULL OR site_id = ?))
            ORDER BY version DESC LIMIT 1`,
      args: [scope.site_id, scope.site_id],
    });
  }
  const row = rs.rows[0];
  return row ? publishedOf(row) : null;
}

function publishedOf(row: Row): PublishedRuleset {
  return { version: num(row, "version"), envelope: JSON.parse(str(row, "envelope")) as Envelope, ruleset_hash: str(row, "payload_sha256"), msp_id: strOrNull(row, "msp_id"), site_id: strOrNull(row, "site_id") };
}

/** The newest rule set for every appliance (no MSP), or null. */
export async function latestSharedRuleset(db: RelayDb | Tx): Promise<PublishedRuleset | null> {
  const row = (await db.execute(`SELECT ${COLUMNS} FROM rulesets WHERE msp_id IS NULL ORDER BY version DESC LIMIT 1`)).rows[0];
  return row ? publishedOf(row) : null;
}

/** The sites of an MSP that ever had a rule set of their own, sorted. */
export async function sitesWithOwnRulesets(db: RelayDb | Tx, mspId: string): Promise<string[]> {
  const rs = await db.execute({ sql: "SELECT DISTINCT site_id FROM rulesets WHERE msp_id = ? AND site_id IS NOT NULL ORDER BY site_id", args: [mspId] });
  return rs.rows.map((r) => str(r, "site_id"));
}

/** The payload of an envelope this relay signed and stored (read back, not a verification of foreign input). */
export function storedRulesetPayload(envelope: Envelope): RulesetPayload {
  return parseSchema(rulesetPayloadSchema, JSON.parse(new TextDecoder().decode(fromBase64Url(envelope.payload))), "stored rule set");
}
