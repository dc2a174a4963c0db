/**
 * Drop-ship provisioning. An appliance that boots without a claim code registers itself as *pending* with
 * its public keys and MACs (proving possession of the identity key); an MSP compares the fingerprint shown on
 * the appliance's status page and accepts it to a site (`acceptPending`); the appliance, which polls
 * `GET /api/provision/:mac`, learns it is assigned and where to enroll, and enrolls with its pending id and
 * the same keys (enroll.ts). The MAC look-up only ever answers unknown / pending / assigned (+ relay URL):
 * knowing a MAC gets nobody a token or any secret.
 */
import { keyFingerprint, verify } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { siteExists } from "../tenants/tenants.ts";
import { normaliseMac, pendingMessage, pendingRequestSchema, type ProvisionState } from "./enroll-message.ts";

/** Unaccepted registrations kept at once: beyond this, new ones are refused until an MSP catches up. */
export const MAX_PENDING_APPLIANCES = 10_000;

export interface PendingRecord {
  id: string;
  fingerprint: string;
  macs: string[];
  state: "pending" | "accepted" | "enrolled";
  site_id: string | null;
  first_seen: string;
  last_seen: string;
  appliance_id: string | null;
}

/** Registers (or refreshes) a pending appliance; the `POST /api/provision/pending` body is parsed here. */
export async function registerPending(db: RelayDb, body: unknown, env: Env): Promise<{ pending_id: string; fingerprint: string; state: PendingRecord["state"] }> {
  const r = parseSchema(pendingRequestSchema, body, "pending registration");
  const macs = [...new Set(r.macs)].sort();
  if (!(await verify("enrollment", pendingMessage(r, macs), fromHex(r.proof), fromHex(r.identity_public_key)))) {
    throw new RelayError("proof_invalid", "proof: does not verify with identity_public_key; sign the registration message with the identity key");
  }
  const now = isoTime(env.clock.now());
  const fingerprint = keyFingerprint(fromHex(r.evidence_public_key));
  return db.transaction(async (tx) => {
    const existing = (await tx.execute({ sql: "SELECT * FROM pending_appliances WHERE identity_public_key = ?", args: [r.identity_public_key] })).rows[0];
    if (existing) {
      if (str(existing, "evidence_public_key") !== r.evidence_public_key || str(existing, "credentials_public_key") !== r.credentials_public_key) {
        throw new RelayError("key_already_enrolled", "This identity key is already registered with other evidence or credentials keys");
      }
      const id = str(existing, "id");
      await tx.execute({ sql: "UPDATE pending_appliances SET last_seen = ? WHERE id = ?", args: [now, id] });
      return { pending_id: id, fingerprint, state: str(existing, "state") as PendingRecord["state"] };
    }
    const enrolled = await tx.execute({ sql: "SELECT 1 FROM appliances WHERE identity_public_key = ? OR evidence_public_key = ?", args: [r.identity_public_key, r.evidence_public_key] });
    if (enrolled.rows[0]) throw new RelayError("key_already_enrolled", "These keys are already enrolled as an appliance");
    const waiting = num((await tx.execute("SELECT COUNT(*) AS n FROM pending_appliances WHERE state = 'pending'")).rows[0]!, "n");
    if (waiting >= MAX_PENDING_APPLIANCES) throw new RelayError("rate_limited", `The relay already holds ${waiting} unaccepted appliances; try again later`);
    const id = newId("pend", env.random);
    await tx.execute({
      sql: `INSERT INTO pending_appliances (id, identity_public_key, evidence_public_key, credentials_public_key, macs, fingerprint, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [id, r.identity_public_key, r.evidence_public_key, r.credentials_public_key, JSON.stringify(macs), fingerprint, now, now],
    });
    for (const mac of macs) await tx.execute({ sql: "INSERT INTO pending_macs (mac, pending_id) VALUES (?, ?) ON CONFLICT DO NOTHING", args: [mac, id] });
    return { pending_id: id, fingerprint, state: "pending" as const };
  });
}

/** What a MAC look-up may say: whether the appliance is known, and, once assigned, where to enroll. */
export async function provisionState(db: RelayDb, macInput: string, publicUrl: string | undefined): Promise<{ state: ProvisionState; relay_url?: string }> {
  const mac = normaliseMac(macInput);
  if (mac === null) throw new RelayError("schema", "mac: expected a MAC address like aa:bb:cc:dd:ee:ff");
  const rs = await db.execute({
    sql: "SELECT p.state FROM pending_macs m JOIN pending_appliances p ON p.id = m.pending_id WHERE m.mac = ?",
    args: [mac],
  });
  const states = rs.rows.map((r) => str(r, "state"));
  if (states.length === 0) return { state: "unknown" };
  if (states.some((s) => s !== "pending")) return publicUrl ? { state: "assigned", relay_url: publicUrl } : { state: "assigned" };
  return { state: "pending" };
}

/**
 * Accepts a pending appliance to a site. Callers compare the fingerprint first: `acceptToSite`
 * (relay/sites/pending.ts) does, for the dashboard and the CLI. Idempotent for the same site.
 */
export async function acceptPending(db: RelayDb, pendingId: string, siteId: string, env: Pick<Env, "clock"> & { accepted_by?: string }): Promise<PendingRecord> {
  const now = isoTime(env.clock.now());
  await db.transaction(async (tx) => {
    const row = (await tx.execute({ sql: "SELECT state, site_id FROM pending_appliances WHERE id = ?", args: [pendingId] })).rows[0];
    if (!row) throw new RelayError("pending_unknown", `No pending appliance ${JSON.stringify(pendingId)}`);
    if (!(await siteExists(tx, siteId))) throw new RelayError("site_unknown", `site ${JSON.stringify(siteId)} does not exist`);
    const state = str(row, "state");
    if (state !== "pending") {
      if (strOrNull(row, "site_id") === siteId) return;
      // Not naming the site: it may belong to another tenant.
      throw new RelayError("pending_state", `Pending appliance ${pendingId} is already ${state} at another site`);
    }
    await tx.execute({
      sql: "UPDATE pending_appliances SET state = 'accepted', site_id = ?, accepted_at = ?, accepted_by = ? WHERE id = ? AND state = 'pending'",
      args: [siteId, now, env.accepted_by ?? "admin", pendingId],
    });
  });
  const rec = (await listPending(db)).find((p) => p.id === pendingId);
  if (!rec) throw new RelayError("pending_unknown", `No pending appliance ${JSON.stringify(pendingId)}`);
  return rec;
}

/** Every registration, newest first (for the admin CLI and, later, the dashboard). */
export async function listPending(db: RelayDb): Promise<PendingRecord[]> {
  const rs = await db.execute("SELECT * FROM pending_appliances ORDER BY first_seen DESC, id");
  return rs.rows.map((r) => ({
    id: str(r, "id"),
    fingerprint: str(r, "fingerprint"),
    macs: JSON.parse(str(r, "macs")) as string[],
    state: str(r, "state") as PendingRecord["state"],
    site_id: strOrNull(r, "site_id"),
    first_seen: str(r, "first_seen"),
    last_seen: str(r, "last_seen"),
    appliance_id: strOrNull(r, "appliance_id"),
  }));
}
