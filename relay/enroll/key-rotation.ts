/**
 * Appliance key rotation, relay side (the `rotate_keys` order; ARCHITECTURE §5 "Key rotation is a statement
 * signed by the current key"). The appliance sends a statement (protocol key-rotation.ts) over its
 * authenticated channel; it is opened with the identity key on record, never with the key inside it, and must
 * name the key of its kind on record as `old_public_key` and a pending `rotate_keys` order for that kind.
 *
 * When the new key takes over, per kind:
 *   credentials  at once: the next pull seals credentials to it (the appliance switches on our answer).
 *   identity     at the first request the new key signs (appliance-auth.ts calls `promoteIdentityKey`): until
 *                then the old key keeps working, so an answer lost on the way cannot lock the appliance out.
 *   evidence     when the chain announces the switch (a bundle signed by the old key naming the new one); ingest
 *                records its seq (`recordEvidenceSwitch`) and verifies from there on with the new key only. The
 *                `appliances` row keeps the enrollment key, which anchors the chain at seq 1; the keys after it
 *                live in the history only (key-history.ts), so verification never depends on a mutable column.
 * Sending the same statement again is answered the same way and changes nothing (crash recovery).
 */
import { keyId, verify } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { IntegrityError } from "../../protocol/errors.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { verifyApplianceRotation, type ApplianceKeyKind } from "../../protocol/key-rotation.ts";
import { audit } from "../auth/audit.ts";
import { userById, userPrincipal } from "../auth/users.ts";
import { str, type RelayDb, type Tx } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { CLI_ISSUER_PREFIX } from "../orders/issue.ts";
import type { AuthedAppliance } from "../http/types.ts";

export interface RotationAnswer {
  key: ApplianceKeyKind;
  old_key_id: string;
  new_key_id: string;
  /** `in_force`: the relay uses the new key now; `accepted`: from its first use (identity, evidence). */
  state: "accepted" | "in_force";
}

const COLUMN: Record<ApplianceKeyKind, string> = { identity: "identity_public_key", evidence: "evidence_public_key", credentials: "credentials_public_key" };

/** Verifies and records a rotation statement from `appliance`; see the module comment. Throws RelayError / IntegrityError. */
export async function acceptKeyRotation(deps: Pick<RelayDeps, "db" | "clock" | "log">, appliance: AuthedAppliance, envelope: unknown): Promise<RotationAnswer> {
  const { db, clock } = deps;
  const row = (await db.execute({ sql: "SELECT * FROM appliances WHERE id = ?", args: [appliance.id] })).rows[0];
  if (!row) throw new RelayError("appliance_unknown", `appliance ${appliance.id} does not exist`);
  const s = await verifyApplianceRotation(envelope, fromHex(str(row, "identity_public_key")));
  if (s.appliance_id !== appliance.id) throw new RelayError("appliance_mismatch", `appliance_id: this token belongs to ${appliance.id}, the statement rotates a key of ${s.appliance_id}`);
  const answer = (state: RotationAnswer["state"]): RotationAnswer => ({ key: s.key, old_key_id: keyId(fromHex(s.old_public_key)), new_key_id: keyId(fromHex(s.new_public_key)), state });

  const known = (await db.execute({ sql: "SELECT old_public_key, state FROM appliance_key_rotations WHERE appliance_id = ? AND kind = ? AND new_public_key = ?", args: [appliance.id, s.key, s.new_public_key] })).rows[0];
  if (known && str(known, "old_public_key") === s.old_public_key && str(known, "state") !== "superseded") return answer(str(known, "state") as RotationAnswer["state"]);

  const current = s.key === "evidence" ? await currentEvidenceKey(db, appliance.id, str(row, "evidence_public_key")) : str(row, COLUMN[s.key]);
  if (s.old_public_key !== current) {
    throw new IntegrityError("unknown_key", `old_public_key: ${keyId(fromHex(s.old_public_key))} is not the ${s.key} key on record for ${appliance.id} (${keyId(fromHex(current))})`, { key_id: keyId(fromHex(s.old_public_key)) });
  }
  const order = (await db.execute({ sql: "SELECT type, params, status, expires_at, issued_by FROM orders WHERE id = ? AND appliance_id = ?", args: [s.order_id, appliance.id] })).rows[0];
  if (!order) throw new RelayError("not_found", `order_id: no order ${s.order_id} was issued to ${appliance.id}`);
  const params = JSON.parse(str(order, "params")) as { key?: unknown };
  if (str(order, "type") !== "rotate_keys" || params.key !== s.key) {
    throw new IntegrityError("wrong_target", `order_id: order ${s.order_id} is ${str(order, "type")} ${JSON.stringify(params)}, not rotate_keys for the ${s.key} key`);
  }
  if (str(order, "status") !== "pending" || parseIsoTime(str(order, "expires_at")) < clock.now()) {
    throw new RelayError("expired", `order_id: order ${s.order_id} is ${str(order, "status")} and expires at ${str(order, "expires_at")}: a rotation needs an open rotate_keys order`);
  }
  if (s.key !== "credentials") {
    const taken = await db.execute({
      sql: "SELECT id FROM appliances WHERE identity_public_key = ?1 OR evidence_public_key = ?1 UNION ALL SELECT appliance_id FROM appliance_key_rotations WHERE new_public_key = ?1 AND kind <> 'credentials' AND state = 'in_force' LIMIT 1",
      args: [s.new_public_key],
    });
    if (taken.rows.length > 0) throw new RelayError("key_already_enrolled", `new_public_key: key ${keyId(fromHex(s.new_public_key))} is already registered to an appliance`);
  }
  // An order from the dashboard or API names its user, who must still exist; one from `osiris relay admin
  // issue-order` names the operator as `cli:…` (CLI_ISSUER_PREFIX), who has the relay's database and key already.
  const issuedBy = str(order, "issued_by");
  const byCli = issuedBy.startsWith(CLI_ISSUER_PREFIX);
  const issuer = byCli ? null : await userById(db, issuedBy);
  if (!byCli && !issuer) throw new RelayError("forbidden", `order ${s.order_id} was issued by user ${issuedBy}, who no longer exists: issue a new rotate_keys order`);

  const now = isoTime(clock.now());
  const state: RotationAnswer["state"] = s.key === "credentials" ? "in_force" : "accepted";
  await db.transaction(async (tx) => {
    await tx.execute({ sql: "UPDATE appliance_key_rotations SET state = 'superseded' WHERE appliance_id = ? AND kind = ? AND state = 'accepted'", args: [appliance.id, s.key] });
    await tx.execute({
      sql: `INSERT INTO appliance_key_rotations (appliance_id, kind, new_public_key, new_key_id, old_public_key, order_id, statement, state, accepted_at, in_force_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (appliance_id, kind, new_public_key) DO UPDATE SET state = excluded.state, in_force_at = excluded.in_force_at`,
      args: [appliance.id, s.key, s.new_public_key, keyId(fromHex(s.new_public_key)), s.old_public_key, s.order_id, JSON.stringify(envelope), state, now, state === "in_force" ? now : null],
    });
    if (s.key === "credentials") await tx.execute({ sql: "UPDATE appliances SET credentials_public_key = ? WHERE id = ?", args: [s.new_public_key, appliance.id] });
    const a = answer(state);
    // The audit log records users' actions; the CLI's are in the relay's own log (below).
    if (issuer) await audit(tx, clock, userPrincipal(issuer), { action: "appliance.rotate_key", target: appliance.id, site_id: str(row, "site_id"), details: { key: s.key, order_id: s.order_id, old_key_id: a.old_key_id, new_key_id: a.new_key_id, state } });
  });
  deps.log.info("appliance_key_rotation_accepted", { appliance_id: appliance.id, key: s.key, new_key_id: keyId(fromHex(s.new_public_key)), state, order_id: s.order_id, issued_by: issuedBy });
  return answer(state);
}

/**
 * A request whose signature did not verify with the identity key on record: if it verifies with an accepted
 * successor, that key takes over (and the old one stops working) in one statement. Resolves the key now in
 * force, or null when the successor does not verify either (or there is none).
 */
export async function promoteIdentityKey(db: RelayDb, applianceId: string, oldKey: Uint8Array, message: Uint8Array, signature: Uint8Array, now: number): Promise<Uint8Array | null> {
  const rs = await db.execute({ sql: "SELECT new_public_key FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'identity' AND state = 'accepted' AND old_public_key = ?", args: [applianceId, toHex(oldKey)] });
  const next = rs.rows[0] ? fromHex(str(rs.rows[0], "new_public_key")) : null;
  if (!next || !(await verify("request", message, signature, next))) return null;
  await db.batch([
    { sql: "UPDATE appliances SET identity_public_key = ? WHERE id = ? AND identity_public_key = ?", args: [toHex(next), applianceId, toHex(oldKey)] },
    { sql: "UPDATE appliance_key_rotations SET state = 'in_force', in_force_at = ? WHERE appliance_id = ? AND kind = 'identity' AND new_public_key = ? AND state = 'accepted'", args: [isoTime(now), applianceId, toHex(next)] },
  ]);
  return next;
}

/** Records that the chain switched to `publicKey` from `fromSeq` (inside the ingest transaction that stores it). */
export async function recordEvidenceSwitch(tx: Tx, applianceId: string, publicKey: Uint8Array, fromSeq: number, now: number): Promise<void> {
  const hex = toHex(publicKey);
  const done = await tx.execute({
    sql: "UPDATE appliance_key_rotations SET state = 'in_force', from_seq = ?, in_force_at = ? WHERE appliance_id = ? AND kind = 'evidence' AND new_public_key = ? AND state = 'accepted'",
    args: [fromSeq, isoTime(now), applianceId, hex],
  });
  if (done.rowsAffected !== 1) throw new Error(`Internal: evidence key ${keyId(publicKey)} of ${applianceId} was announced but is not an accepted rotation`);
}

/** The evidence key in force: the latest recorded switch's, else the enrollment key in the `appliances` row. */
export async function currentEvidenceKey(db: RelayDb, applianceId: string, enrollment: string): Promise<string> {
  const rs = await db.execute({ sql: "SELECT new_public_key FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'evidence' AND state = 'in_force' ORDER BY from_seq DESC LIMIT 1", args: [applianceId] });
  return rs.rows[0] ? str(rs.rows[0], "new_public_key") : enrollment;
}

