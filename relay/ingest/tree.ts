/**
 * An appliance's Merkle tree at any size, rebuilt from the leaf hashes stored with its evidence (each computed
 * from the exact stored line at ingest). Used to check a checkpoint for an earlier size than the relay's head
 * and to give an auditor kit the frontier before its first bundle. Reads in bounded pages.
 */
import { fromHex } from "../../protocol/encoding.ts";
import { MerkleAccumulator } from "../../protocol/merkle.ts";
import { num, str } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import type { Reader } from "./chain-row.ts";

/** Leaf hashes read per query (64 hex characters each: a page is about 200 KB). */
export const TREE_PAGE_ROWS = 2000;

/** The accumulator over the first `size` leaves of an appliance's log. */
export async function accumulatorAt(db: Reader, applianceId: string, size: number): Promise<MerkleAccumulator> {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Cannot rebuild a Merkle tree of size ${size}: expected a non-negative integer`);
  const acc = new MerkleAccumulator();
  while (acc.size < size) {
    const rs = await db.execute({
      sql: "SELECT seq, leaf_hash FROM evidence WHERE appliance_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
      args: [applianceId, acc.size, size, TREE_PAGE_ROWS],
    });
    const before = acc.size;
    for (const row of rs.rows) {
      if (num(row, "seq") !== acc.size + 1) break; // a hole: stop, reported below
      acc.append(fromHex(str(row, "leaf_hash")));
    }
    if (acc.size === before) break;
  }
  if (acc.size !== size) {
    throw new RelayError("internal", `Appliance ${applianceId} has evidence only up to seq ${acc.size} stored contiguously, not ${size}`);
  }
  return acc;
}
