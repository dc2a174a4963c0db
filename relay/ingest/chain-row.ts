/**
 * An appliance's `chain_state` row: where its verified chain stands (ChainVerifier state), its Merkle
 * accumulator over every stored line, and the highest contiguous outbox_seq stored. Read and written inside
 * the ingest transaction, so it always describes exactly the rows committed with it.
 */
import { chainStateSchema, type ChainState } from "../../protocol/chain.ts";
import { canonicalize } from "../../protocol/canonical.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { GENESIS_PREV_HASH } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MerkleAccumulator } from "../../protocol/merkle.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type Row, type Tx } from "../db/index.ts";

export interface ChainRow {
  verified_seq: number;
  head_hash: string;
  chain: ChainState | null;
  tree: MerkleAccumulator;
  acked_outbox_seq: number;
  /**
   * The stored columns exactly as read ("" for no row): two reads with the same stamp saw the same chain
   * state, so whatever was checked against the first still holds for the second (ingest verifies before
   * its write transaction and compares stamps inside it).
   */
  stamp: string;
}

/** Something that runs a statement: the database itself (outside a transaction) or a transaction. */
export type Reader = Pick<Tx, "execute">;

const SELECT_ROW = "SELECT verified_seq, head_hash, chain_state, tree_size, tree_peaks, acked_outbox_seq FROM chain_state WHERE appliance_id = ?";

function stampOf(row: Row): string {
  return JSON.stringify([num(row, "verified_seq"), str(row, "head_hash"), strOrNull(row, "chain_state"), num(row, "tree_size"), str(row, "tree_peaks"), num(row, "acked_outbox_seq")]);
}

/** Only the stamp of the appliance's row (cheaper than loading it: nothing is parsed). */
export async function chainRowStamp(db: Reader, applianceId: string): Promise<string> {
  const row = (await db.execute({ sql: SELECT_ROW, args: [applianceId] })).rows[0];
  return row ? stampOf(row) : "";
}

/** The appliance's row (an empty chain if it has none yet). */
export async function loadChainRow(db: Reader, applianceId: string): Promise<ChainRow> {
  const row = (await db.execute({ sql: SELECT_ROW, args: [applianceId] })).rows[0];
  if (!row) return { verified_seq: 0, head_hash: GENESIS_PREV_HASH, chain: null, tree: new MerkleAccumulator(), acked_outbox_seq: 0, stamp: "" };
  const chainText = strOrNull(row, "chain_state");
  const peaks = (JSON.parse(str(row, "tree_peaks")) as string[]).map(fromHex);
  return {
    verified_seq: num(row, "verified_seq"),
    head_hash: str(row, "head_hash"),
    chain: chainText === null ? null : parseSchema(chainStateSchema, JSON.parse(chainText), `chain state of ${applianceId}`),
    tree: MerkleAccumulator.fromState({ size: num(row, "tree_size"), peaks }),
    acked_outbox_seq: num(row, "acked_outbox_seq"),
    stamp: stampOf(row),
  };
}

/** The upsert that stores `row` (run it in the same transaction as the rows it covers). */
export function saveChainRow(applianceId: string, row: ChainRow, now: number): { sql: string; args: (string | number | null)[] } {
  const state = row.tree.state;
  return {
    sql: `INSERT INTO chain_state (appliance_id, verified_seq, head_hash, chain_state, tree_size, tree_peaks, acked_outbox_seq, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (appliance_id) DO UPDATE SET verified_seq = excluded.verified_seq, head_hash = excluded.head_hash, chain_state = excluded.chain_state,
            tree_size = excluded.tree_size, tree_peaks = excluded.tree_peaks, acked_outbox_seq = excluded.acked_outbox_seq, updated_at = excluded.updated_at`,
    args: [
      applianceId,
      row.verified_seq,
      row.head_hash,
      row.chain === null ? null : canonicalize(row.chain),
      state.size,
      JSON.stringify(state.peaks.map(toHex)),
      row.acked_outbox_seq,
      isoTime(now),
    ],
  };
}
