/**
 * Rule sets: signed by the relay key when published, versions only ever increase, stored append-only. The
 * newest one is what appliances pull when their version is older.
 */
import { canonicalBytes } from "../../protocol/canonical.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { rulesetPayloadSchema, signRuleset, type RulesetPayload } from "../../protocol/ruleset.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, type RelayDb, type Tx } from "../db/index.ts";
import type { RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";

/** Signs and stores a rule set; its version must be above every published one. */
export async function publishRuleset(db: RelayDb, payload: RulesetPayload, relayKey: RelayKey): Promise<{ version: number; envelope: Envelope; ruleset_hash: string }> {
  const checked = parseSchema(rulesetPayloadSchema, payload, "rule set");
  const envelope = await signRuleset(checked, relayKey.signer);
  const rulesetHash = sha256Hex(canonicalBytes(checked));
  await db.transaction(async (tx) => {
    const latest = await latestRuleset(tx);
    if (latest && latest.version >= checked.version) {
      throw new RelayError("stale_version", `Rule set version ${checked.version} is not above the published version ${latest.version}`);
    }
    await tx.execute({
      sql: "INSERT INTO rulesets (version, envelope, payload_sha256, issued_at) VALUES (?, ?, ?, ?)",
      args: [checked.version, JSON.stringify(envelope), rulesetHash, checked.issued_at],
    });
  });
  return { version: checked.version, envelope, ruleset_hash: rulesetHash };
}

/** The newest published rule set, or null. */
export async function latestRuleset(db: RelayDb | Tx): Promise<{ version: number; envelope: Envelope } | null> {
  const row = (await db.execute("SELECT version, envelope FROM rulesets ORDER BY version DESC LIMIT 1")).rows[0];
  return row ? { version: num(row, "version"), envelope: JSON.parse(str(row, "envelope")) as Envelope } : null;
}
