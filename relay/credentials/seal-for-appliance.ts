/**
 * The credentials part of a pull: every credential of the appliance's site, decrypted from the vault and
 * sealed at once to the appliance's registered X25519 key (never a key from the request). No plaintext
 * fallback, ever: a credential that cannot be sealed (no vault, a key the vault lacks, an altered row, an
 * unusable appliance key, the pull's size budget) is left out and an error is logged with ids only.
 */
import { fromHex } from "../../protocol/encoding.ts";
import { MAX_CREDENTIALS, type SealedCredential } from "../../protocol/sync.ts";
import { sealCredential } from "../../node/sealed-credential.ts";
import { str } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { credentialRow, MAX_SITE_CREDENTIALS, readSecret } from "./credentials.ts";

/** Sealed bytes (base64url characters) one pull may carry: well inside MAX_PULL_BYTES with orders and a rule set. */
export const PULL_CREDENTIALS_BUDGET_CHARS = 1024 * 1024;

export type SealDeps = Pick<RelayDeps, "db" | "random" | "log" | "vault">;

export async function sealedCredentialsFor(deps: SealDeps, appliance: { id: string; site_id: string }): Promise<SealedCredential[]> {
  const rs = await deps.db.execute({
    sql: `SELECT c.id, c.site_id, c.target, c.kind, c.username, c.key_id, c.nonce, c.ciphertext, a.credentials_public_key
          FROM site_credentials c JOIN appliances a ON a.site_id = c.site_id
          WHERE a.id = ? AND c.site_id = ? ORDER BY c.id LIMIT ?`,
    args: [appliance.id, appliance.site_id, Math.min(MAX_CREDENTIALS, MAX_SITE_CREDENTIALS)],
  });
  if (rs.rows.length === 0) return [];
  const { vault, log } = deps;
  if (!vault) {
    log.error("credentials_not_sealed", { appliance_id: appliance.id, site_id: appliance.site_id, credentials: rs.rows.length, reason: "vault_unavailable", hint: "start the relay with --vault-key-file or OSIRIS_VAULT_KEY" });
    return [];
  }
  let recipient: Uint8Array;
  try {
    recipient = fromHex(str(rs.rows[0]!, "credentials_public_key"));
  } catch {
    log.error("credentials_not_sealed", { appliance_id: appliance.id, site_id: appliance.site_id, credentials: rs.rows.length, reason: "appliance_key_invalid" });
    return [];
  }
  const out: SealedCredential[] = [];
  let chars = 0;
  for (const r of rs.rows) {
    const row = credentialRow(r);
    let sealed: SealedCredential;
    try {
      const secret = await readSecret(vault, row);
      sealed = await sealCredential({ credential_id: row.id, target: row.target, kind: row.kind, username: row.username, secret }, recipient, appliance.id, deps.random);
    } catch (e) {
      const reason = (e as { code?: string }).code ?? "seal_failed";
      log.error("credential_not_sealed", { appliance_id: appliance.id, credential_id: row.id, key_id: row.key_id, reason });
      continue;
    }
    chars += sealed.ciphertext.length;
    if (chars > PULL_CREDENTIALS_BUDGET_CHARS) {
      log.error("credential_not_sealed", { appliance_id: appliance.id, credential_id: row.id, reason: "pull_budget", budget_chars: PULL_CREDENTIALS_BUDGET_CHARS });
      continue;
    }
    out.push(sealed);
  }
  return out;
}
