/**
 * Witnessing an appliance's checkpoint. The relay holds every leaf of the appliance's log from seq 1, so
 * consistency needs no proof: the checkpoint's root must equal the root of the relay's own tree at that size
 * (which covers consistency with every earlier checkpoint, since the stored leaves are append-only). Then the
 * relay adds its C2SP cosignature (witness name `osiriscare.relay/<key_id>`) and stores the result; a
 * checkpoint size is countersigned once, and asking again returns the stored note byte for byte.
 *
 * A checkpoint larger than what the relay has verified is not an error (a backlog uploads in several pushes):
 * it is simply not countersigned yet (`null`).
 *
 * Two steps, so that the signature work stays out of the write transaction: `prepareCheckpoint` checks the
 * appliance's signature and the root against the tree the push will leave, and cosigns (reading only rows
 * that can no longer change); `storeCheckpoint`, inside the transaction, stores the prepared note, or returns
 * the one already stored for that size (a different root there is a fork). `witnessCheckpoint` does both in one transaction.
 */
import { applianceOrigin, cosignNote, openCheckpoint } from "../../protocol/checkpoint.ts";
import { toBase64 } from "../../protocol/encoding.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MerkleAccumulator } from "../../protocol/merkle.ts";
import { str, type Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import type { RelayErrorCode } from "../errors.ts";
import type { AuthedAppliance } from "../http/types.ts";
import type { Reader } from "./chain-row.ts";
import { accumulatorAt } from "./tree.ts";

export type CheckpointOutcome =
  | { ok: true; countersigned: string | null; size: number | null }
  | { ok: false; code: RelayErrorCode; message: string; size: number | null; stored_root?: string };

/** A checked checkpoint, ready to store: `countersigned` is null when its size is beyond the tree (or 0). */
export type PreparedCheckpoint =
  | { ok: true; note: string; size: number; root: string; countersigned: string | null; at: number }
  | { ok: false; note: string; code: RelayErrorCode; message: string; size: number | null; root?: string; stored_root?: string };

export interface CheckpointContext {
  appliance: AuthedAppliance;
  relayKey: RelayKey;
  clock: Clock;
}

/**
 * The tree the push will leave: `stored` (the accumulator over the rows already stored, `storedSize` of
 * them) followed by `newLeaves`. Only what is needed is built: the accumulator at `size`.
 */
export interface PendingTree {
  stored: MerkleAccumulator;
  newLeaves: readonly Uint8Array[];
  /** The accumulator after every new leaf (the chain row that will be saved). */
  after: MerkleAccumulator;
}

async function storedAt(db: Reader, applianceId: string, size: number): Promise<{ root: string; countersigned_note: string } | null> {
  const row = (await db.execute({ sql: "SELECT root, countersigned_note FROM checkpoints WHERE appliance_id = ? AND size = ?", args: [applianceId, size] })).rows[0];
  return row ? { root: str(row, "root"), countersigned_note: str(row, "countersigned_note") } : null;
}

/** Checks and cosigns `note` against `tree` (see the module comment); `db` is read for earlier sizes only. */
export async function prepareCheckpoint(db: Reader, note: string, tree: PendingTree, ctx: CheckpointContext): Promise<PreparedCheckpoint> {
  const { appliance } = ctx;
  let size: number;
  let root: string;
  try {
    const cp = await openCheckpoint(note, applianceOrigin(appliance.id), appliance.evidence_public_key);
    size = cp.size;
    root = toBase64(cp.root);
  } catch (e) {
    if (e instanceof ValidationError || e instanceof IntegrityError) return { ok: false, note, code: e.code, message: `checkpoint: ${e.message}`, size: null };
    throw e;
  }
  const at = ctx.clock.now();
  if (size === 0 || size > tree.after.size) return { ok: true, note, size, root, countersigned: null, at };

  // Cosigned even if this size was countersigned before (a retry): storeCheckpoint then returns the stored
  // note instead. A wasted signature on a retry is cheaper than a read on every push.
  let acc: MerkleAccumulator;
  if (size === tree.after.size) acc = tree.after;
  else if (size === tree.stored.size) acc = tree.stored;
  else if (size < tree.stored.size) {
    // An earlier size: usually countersigned already, and rebuilding its tree reads every leaf up to it.
    const stored = await storedAt(db, appliance.id, size);
    if (stored && stored.root === root) return { ok: true, note, size, root, countersigned: stored.countersigned_note, at };
    acc = await accumulatorAt(db, appliance.id, size);
  } else {
    acc = MerkleAccumulator.fromState(tree.stored.state);
    for (const leaf of tree.newLeaves.slice(0, size - tree.stored.size)) acc.append(leaf);
  }
  const expected = toBase64(acc.root());
  if (expected !== root) {
    return { ok: false, note, code: "checkpoint_mismatch", message: `checkpoint: root ${root} for tree size ${size} is not the root of the ${size} bundles the relay holds (${expected})`, size, root, stored_root: expected };
  }
  const countersigned = await cosignNote(note, ctx.relayKey.name, ctx.relayKey.signer, Math.floor(at / 1000));
  return { ok: true, note, size, root, countersigned, at };
}

/**
 * Inside the write transaction: the note stored for this size if there is one (a different root there is a
 * `checkpoint_mismatch`), else the prepared countersignature, stored now.
 */
export async function storeCheckpoint(tx: Tx, p: PreparedCheckpoint, ctx: CheckpointContext): Promise<CheckpointOutcome> {
  if (p.size === null) return p.ok ? { ok: true, countersigned: null, size: null } : { ok: false, code: p.code, message: p.message, size: null };
  if (p.ok && p.countersigned === null) return { ok: true, countersigned: null, size: p.size };
  if (p.ok && p.countersigned !== null) {
    // The usual case, one statement: store ours unless this size was stored before (by a retry of this push,
    // another push or another relay process), whose note is then the answer.
    const rs = await tx.execute({
      sql: `INSERT INTO checkpoints (appliance_id, size, root, note, countersigned_note, witness_key_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (appliance_id, size) DO NOTHING`,
      args: [ctx.appliance.id, p.size, p.root, p.note, p.countersigned, ctx.relayKey.keyId, isoTime(p.at)],
    });
    if (rs.rowsAffected === 1) return { ok: true, countersigned: p.countersigned, size: p.size };
  }
  const stored = await storedAt(tx, ctx.appliance.id, p.size);
  const root = p.root ?? null;
  if (stored && root !== null) {
    if (stored.root === root) return { ok: true, countersigned: stored.countersigned_note, size: p.size };
    return { ok: false, code: "checkpoint_mismatch", message: `checkpoint: a different root for tree size ${p.size} was already countersigned (${stored.root}, now ${root})`, size: p.size, stored_root: stored.root };
  }
  if (!p.ok) return { ok: false, code: p.code, message: p.message, size: p.size, ...(p.stored_root ? { stored_root: p.stored_root } : {}) };
  // An insert that conflicted with a row the transaction does not see: impossible (checkpoints are
  // append-only), so never guess.
  throw new Error(`Internal: checkpoint size ${p.size} of ${ctx.appliance.id} is neither stored nor storable`);
}

/** Both steps in the caller's transaction, against the tree as stored. */
export async function witnessCheckpoint(tx: Tx, note: string, ctx: CheckpointContext & { tree: MerkleAccumulator }): Promise<CheckpointOutcome> {
  const prepared = await prepareCheckpoint(tx, note, { stored: ctx.tree, newLeaves: [], after: ctx.tree }, ctx);
  return storeCheckpoint(tx, prepared, ctx);
}
