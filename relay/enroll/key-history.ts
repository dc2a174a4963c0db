/**
 * An appliance's evidence key history as the relay recorded it (key-rotation.ts): the enrollment key, each
 * later key with the first seq it signs, and a successor accepted but not yet announced in the chain. Ingest
 * verifies with it, the auditor kit carries it, and a checkpoint is checked with the key in force at its size.
 */
import type { ApplianceKey, EvidenceKeyEpoch } from "../../protocol/chain.ts";
import { keyForSeq } from "../../protocol/chain.ts";
import { parseCheckpoint, parseNote } from "../../protocol/checkpoint.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { num, str, type Tx } from "../db/index.ts";

/** The database or a transaction. */
type Reader = Pick<Tx, "execute">;

/** A recorded evidence rotation as the kit lists it. */
export interface EvidenceRotationRecord {
  public_key: string;
  key_id: string;
  from_seq: number;
  recorded_at: string;
}

/** The recorded switches (oldest first) and accepted successor of an appliance enrolled with evidence key `enrollment` (its `appliances` row). */
export async function evidenceHistory(db: Reader, applianceId: string, enrollment: string): Promise<{ enrollment: string; rotations: EvidenceRotationRecord[]; pending: string | null }> {
  const rs = await db.execute({
    sql: "SELECT new_public_key, new_key_id, state, from_seq, in_force_at FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'evidence' AND state IN ('in_force', 'accepted') ORDER BY state DESC, from_seq",
    args: [applianceId],
  });
  const rotations: EvidenceRotationRecord[] = [];
  let pending: string | null = null;
  for (const r of rs.rows) {
    if (str(r, "state") === "accepted") {
      pending = str(r, "new_public_key");
      continue;
    }
    rotations.push({ public_key: str(r, "new_public_key"), key_id: str(r, "new_key_id"), from_seq: num(r, "from_seq"), recorded_at: str(r, "in_force_at") });
  }
  return { enrollment, rotations, pending };
}

/** The ChainVerifier key of an appliance: enrollment key (its `appliances` row), recorded switches, and the accepted successor. */
export async function evidenceKeysOf(db: Reader, applianceId: string, enrollment: Uint8Array, siteId: string): Promise<ApplianceKey> {
  const h = await evidenceHistory(db, applianceId, toHex(enrollment));
  return {
    publicKey: fromHex(h.enrollment),
    siteId,
    rotations: h.rotations.map((r) => ({ publicKey: fromHex(r.public_key), from_seq: r.from_seq })),
    ...(h.pending ? { pending: fromHex(h.pending) } : {}),
  };
}

/** The key a checkpoint note must be signed with: the one in force after the bundle at its size. */
export function checkpointKey(key: ApplianceKey, note: string, learned: readonly EvidenceKeyEpoch[], fallbackSize: number): Uint8Array {
  let size = fallbackSize;
  try {
    size = parseCheckpoint(parseNote(note).text).size;
  } catch {
    // A malformed note fails its own verification with a clear error; any key will do for that.
  }
  return keyForSeq(key, size + 1, learned);
}
