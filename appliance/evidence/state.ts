/**
 * Chain state kept outside the evidence rows, in `kv`, so that pruning rows never loses what the chain and
 * the Merkle log need to continue:
 *
 *   evidence.head            the last appended bundle: seq, line hash, latest finished_at, Merkle peaks
 *   evidence.pruned_through  the last pruned bundle, same fields: where verification of the kept rows resumes
 *
 * Both are written in the same transaction as the rows they describe (append for the head, prune for the
 * anchor), so after any crash they agree with the rows. A `ChainPoint` of seq n carries the Merkle
 * accumulator of the first n leaves (size = seq, since leaf i is the bundle of seq i + 1).
 */
import type { InStatement, ResultSet } from "@libsql/client";
import { z } from "zod";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { GENESIS_PREV_HASH } from "../../protocol/evidence.ts";
import { isoTimeSchema, sha256HexSchema } from "../../protocol/ids.ts";
import { MerkleAccumulator, type AccumulatorState } from "../../protocol/merkle.ts";
import { EvidenceError } from "./errors.ts";

export const HEAD_KEY = "evidence.head";
export const ANCHOR_KEY = "evidence.pruned_through";

/** Anything that runs a statement: the store or a transaction. */
export interface Executor {
  execute(stmt: InStatement): Promise<ResultSet>;
}

/** A position in the chain: after bundle `seq` (0: before the first). */
export interface ChainPoint {
  seq: number;
  /** SHA-256 of bundle `seq`'s line (the next bundle's prev_hash); 64 zeros at seq 0. */
  hash: string;
  /** Latest `timestamps.finished_at` up to here, or null at seq 0. */
  last_time: string | null;
  /** Merkle accumulator over the lines of seq 1..seq. */
  merkle: AccumulatorState;
}

const pointSchema = z.strictObject({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  hash: sha256HexSchema,
  last_time: isoTimeSchema.nullable(),
  peaks: z.array(sha256HexSchema).max(64),
});

/** The point before the first bundle. */
export function genesisPoint(): ChainPoint {
  return { seq: 0, hash: GENESIS_PREV_HASH, last_time: null, merkle: { size: 0, peaks: [] } };
}

function encode(p: ChainPoint): string {
  return JSON.stringify({ seq: p.seq, hash: p.hash, last_time: p.last_time, peaks: p.merkle.peaks.map(toHex) });
}

function decode(key: string, text: string): ChainPoint {
  try {
    const v = pointSchema.parse(JSON.parse(text));
    const merkle = { size: v.seq, peaks: v.peaks.map(fromHex) };
    MerkleAccumulator.fromState(merkle); // checks the peak count matches the size
    return { seq: v.seq, hash: v.hash, last_time: v.last_time, merkle };
  } catch (e) {
    throw new EvidenceError("corrupt_state", `kv ${key} does not hold a valid chain point: ${(e as Error).message}`, { cause: e });
  }
}

async function readPoint(db: Executor, key: string): Promise<ChainPoint> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [key] });
  const row = rs.rows[0];
  return row === undefined ? genesisPoint() : decode(key, String(row.value));
}

function writePoint(key: string, p: ChainPoint, now: string): InStatement {
  return {
    sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    args: [key, encode(p), now],
  };
}

export const readHead = (db: Executor): Promise<ChainPoint> => readPoint(db, HEAD_KEY);
export const writeHead = (p: ChainPoint, now: string): InStatement => writePoint(HEAD_KEY, p, now);
export const readAnchor = (db: Executor): Promise<ChainPoint> => readPoint(db, ANCHOR_KEY);
export const writeAnchor = (p: ChainPoint, now: string): InStatement => writePoint(ANCHOR_KEY, p, now);

/** Whether two points name the same chain position (same seq and hash). */
export function samePoint(a: ChainPoint, b: ChainPoint): boolean {
  return a.seq === b.seq && a.hash === b.hash;
}

/** The later of two wire times (same fixed-width format, so text order is time order). */
export function laterTime(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
}
