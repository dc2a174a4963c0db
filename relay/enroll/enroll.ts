/**
 * Enrollment: an appliance proves possession of its identity and evidence keys and presents either a claim
 * code or the id of a pending registration an MSP has accepted. The relay mints an opaque appliance id (never
 * a MAC), registers the three public keys (the only keys it will ever check this appliance's requests,
 * evidence and checkpoints with), issues a bearer token (returned once, stored as SHA-256) and answers with
 * the relay keys to pin. Everything happens in one transaction: a refused enrollment changes nothing, and a
 * claim code or pending registration is used at most once even when two requests race.
 */
import { keyFingerprint, keyId, verify } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { GENESIS_PREV_HASH } from "../../protocol/evidence.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { newToken, tokenSha256 } from "../auth/token.ts";
import { str, strOrNull, type Tx } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { publishedRelayKeys } from "../keys/index.ts";
import { claimCodeSha256 } from "./claim-code.ts";
import { checkClaimCode } from "./claim-codes.ts";
import { enrollmentMessage, enrollRequestSchema, type EnrollRequest, type EnrollResponse } from "./enroll-message.ts";

async function checkProofs(r: EnrollRequest): Promise<void> {
  const target = r.claim_code !== undefined ? { claim_code_sha256: claimCodeSha256(r.claim_code) } : { pending_id: r.pending_id! };
  const message = enrollmentMessage(target, r);
  if (!(await verify("enrollment", message, fromHex(r.proof), fromHex(r.identity_public_key)))) {
    throw new RelayError("proof_invalid", "proof: does not verify with identity_public_key; the appliance must sign the enrollment message with its identity key");
  }
  if (!(await verify("enrollment", message, fromHex(r.evidence_proof), fromHex(r.evidence_public_key)))) {
    throw new RelayError("proof_invalid", "evidence_proof: does not verify with evidence_public_key; the appliance must sign the enrollment message with its evidence key");
  }
}

async function checkKeysFree(tx: Tx, r: EnrollRequest): Promise<void> {
  const rs = await tx.execute({
    sql: "SELECT id FROM appliances WHERE identity_public_key IN (?, ?) OR evidence_public_key IN (?, ?) LIMIT 1",
    args: [r.identity_public_key, r.evidence_public_key, r.identity_public_key, r.evidence_public_key],
  });
  if (rs.rows[0]) throw new RelayError("key_already_enrolled", "These keys are already enrolled as another appliance; an appliance that lost its state must generate new keys");
}

/** Enrolls an appliance (the `POST /api/enroll` body, parsed here). */
export async function enrollAppliance(deps: Pick<RelayDeps, "db" | "clock" | "random" | "log">, body: unknown): Promise<EnrollResponse> {
  const r = parseSchema(enrollRequestSchema, body, "enrollment request");
  await checkProofs(r);
  const now = deps.clock.now();
  const applianceId = newId("app", deps.random);
  const token = newToken(deps.random);
  const evidenceKey = fromHex(r.evidence_public_key);

  const { siteId, via } = await deps.db.transaction(async (tx) => {
    let siteId: string;
    let via: "claim_code" | "pending";
    let after: () => Promise<unknown>;
    if (r.claim_code !== undefined) {
      const claim = await checkClaimCode(tx, r.claim_code, now);
      siteId = claim.site_id;
      via = "claim_code";
      after = async () => {
        const u = await tx.execute({ sql: "UPDATE claim_codes SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL", args: [isoTime(now), applianceId, claim.id] });
        if (u.rowsAffected !== 1) throw new RelayError("claim_code_used", "Claim code was used by another enrollment at the same moment");
      };
    } else {
      const rs = await tx.execute({ sql: "SELECT * FROM pending_appliances WHERE id = ?", args: [r.pending_id!] });
      const p = rs.rows[0];
      if (!p) throw new RelayError("pending_unknown", `No pending registration ${r.pending_id}`);
      if (str(p, "identity_public_key") !== r.identity_public_key || str(p, "evidence_public_key") !== r.evidence_public_key || str(p, "credentials_public_key") !== r.credentials_public_key) {
        throw new RelayError("proof_invalid", `The keys differ from those registered for pending appliance ${r.pending_id}`);
      }
      const state = str(p, "state");
      if (state === "pending") throw new RelayError("pending_not_accepted", `Pending appliance ${r.pending_id} has not been accepted by an MSP yet; retry later`);
      if (state !== "accepted") throw new RelayError("pending_state", `Pending appliance ${r.pending_id} is already enrolled`);
      siteId = str(p, "site_id");
      via = "pending";
      after = async () => {
        const u = await tx.execute({ sql: "UPDATE pending_appliances SET state = 'enrolled', appliance_id = ? WHERE id = ? AND state = 'accepted'", args: [applianceId, r.pending_id!] });
        if (u.rowsAffected !== 1) throw new RelayError("pending_state", `Pending appliance ${r.pending_id} was enrolled by another request at the same moment`);
      };
    }
    await checkKeysFree(tx, r);
    await tx.execute({
      sql: `INSERT INTO appliances (id, site_id, identity_public_key, evidence_public_key, evidence_key_id, credentials_public_key, fingerprint, macs,
              token_sha256, state, enrolled_at, enrolled_via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
      args: [
        applianceId,
        siteId,
        r.identity_public_key,
        r.evidence_public_key,
        keyId(evidenceKey),
        r.credentials_public_key,
        keyFingerprint(evidenceKey),
        JSON.stringify([...new Set(r.macs)].sort()),
        tokenSha256(token),
        isoTime(now),
        via,
      ],
    });
    await after();
    await tx.execute({
      sql: "INSERT INTO chain_state (appliance_id, verified_seq, head_hash, chain_state, tree_size, tree_peaks, acked_outbox_seq, updated_at) VALUES (?, 0, ?, NULL, 0, '[]', 0, ?)",
      args: [applianceId, GENESIS_PREV_HASH, isoTime(now)],
    });
    return { siteId, via };
  });

  const relayKeys = await publishedRelayKeys(deps.db);
  deps.log.info("appliance_enrolled", { appliance_id: applianceId, site_id: siteId, via, fingerprint: keyFingerprint(evidenceKey), evidence_key_id: keyId(evidenceKey) });
  return { appliance_id: applianceId, site_id: siteId, token, relay_keys: relayKeys, relay_time: isoTime(deps.clock.now()) };
}

/** Revokes an appliance: every later request fails with 401 "appliance revoked". Idempotent. */
export async function revokeAppliance(deps: Pick<RelayDeps, "db" | "clock" | "log">, applianceId: string, reason: string): Promise<{ revoked_at: string; site_id: string | null; org_id: string | null }> {
  const now = isoTime(deps.clock.now());
  const result = await deps.db.transaction(async (tx) => {
    const rs = await tx.execute({
      sql: "SELECT a.state, a.revoked_at, a.site_id, s.org_id FROM appliances a LEFT JOIN sites s ON s.id = a.site_id WHERE a.id = ?",
      args: [applianceId],
    });
    const row = rs.rows[0];
    if (!row) throw new RelayError("appliance_unknown", `No appliance ${JSON.stringify(applianceId)}`);
    const where = { site_id: strOrNull(row, "site_id"), org_id: strOrNull(row, "org_id") };
    if (str(row, "state") === "revoked") return { revoked_at: str(row, "revoked_at"), changed: false, ...where };
    await tx.execute({ sql: "UPDATE appliances SET state = 'revoked', revoked_at = ?, revoked_reason = ? WHERE id = ?", args: [now, reason.slice(0, 500), applianceId] });
    return { revoked_at: now, changed: true, ...where };
  });
  if (result.changed) deps.log.info("appliance_revoked", { appliance_id: applianceId, site_id: result.site_id, reason: reason.slice(0, 500) });
  return { revoked_at: result.revoked_at, site_id: result.site_id, org_id: result.org_id };
}
