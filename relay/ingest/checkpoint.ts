/**
 * Witnessing an appliance's checkpoint. The relay holds every leaf of the appliance's log from seq 1, so
 * consistency needs no proof: the checkpoint's root must equal the root of the relay's own tree at that size
 * (which covers consistency with every earlier checkpoint, since the stored leaves are append-only). Then the
 * relay adds its C2SP cosignature (witness name `osiriscare.relay/<key_id>`) and stores the result; a
 * checkpoint size is countersigned once, and asking again returns the stored note byte for byte.
 *
 * A checkpoint larger than what the relay has verified is not an error (a backlog uploads in several pushes):
 * it is simply not countersigned yet (`null`).
 */
import { applianceOrigin, cosignNote, openCheckpoint } from "../../protocol/checkpoint.ts";
import { toBase64 } from "../../protocol/encoding.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { MerkleAccumulator } from "../../protocol/merkle.ts";
import { str, type Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import type { RelayErrorCode } from "../errors.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { accumulatorAt } from "./tree.ts";

export type CheckpointOutcome =
  | { ok: true; countersigned: string | null; size: number | null }
  | { ok: false; code: RelayErrorCode; message: string; size: number | null; stored_root?: string };

export async function witnessCheckpoint(
  tx: Tx,
  note: string,
  ctx: { appliance: AuthedAppliance; tree: MerkleAccumulator; relayKey: RelayKey; clock: Clock },
): Promise<CheckpointOutcome> {
  const { appliance, tree } = ctx;
  let size: number;
  let root: string;
  try {
    const cp = await openCheckpoint(note, applianceOrigin(appliance.id), appliance.evidence_public_key);
    size = cp.size;
    root = toBase64(cp.root);
  } catch (e) {
    if (e instanceof ValidationError || e instanceof IntegrityError) return { ok: false, code: e.code, message: `checkpoint: ${e.message}`, size: null };
    throw e;
  }
  if (size === 0 || size > tree.size) return { ok: true, countersigned: null, size };

  const stored = (await tx.execute({ sql: "SELECT root, countersigned_note FROM checkpoints WHERE appliance_id = ? AND size = ?", args: [appliance.id, size] })).rows[0];
  if (stored) {
    if (str(stored, "root") === root) return { ok: true, countersigned: str(stored, "countersigned_note"), size };
    return { ok: false, code: "checkpoint_mismatch", message: `checkpoint: a different root for tree size ${size} was already countersigned (${str(stored, "root")}, now ${root})`, size, stored_root: str(stored, "root") };
  }

  const expected = toBase64((size === tree.size ? tree : await accumulatorAt(tx, appliance.id, size)).root());
  if (expected !== root) {
    return { ok: false, code: "checkpoint_mismatch", message: `checkpoint: root ${root} for tree size ${size} is not the root of the ${size} bundles the relay holds (${expected})`, size, stored_root: expected };
  }
  const now = ctx.clock.now();
  const countersigned = await cosignNote(note, ctx.relayKey.name, ctx.relayKey.signer, Math.floor(now / 1000));
  await tx.execute({
    sql: "INSERT INTO checkpoints (appliance_id, size, root, note, countersigned_note, witness_key_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    args: [appliance.id, size, root, note, countersigned, ctx.relayKey.keyId, isoTime(now)],
  });
  return { ok: true, countersigned, size };
}
