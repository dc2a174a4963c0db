/**
 * Retention on the appliance (ARCHITECTURE.md §4), run daily by the daemon.
 *
 * A bundle is deleted only when all three hold: the relay acknowledged it (`acked = 1`), it is not among the
 * newest `retentionCount` bundles, and it was written more than `retentionDays` ago. Deletion always takes
 * the oldest *contiguous* run of such bundles, stopping at the first bundle that must stay: the kept rows are
 * then always one unbroken stretch of the chain, starting right after the pruning anchor
 * (`evidence.pruned_through`: seq, hash, latest time and Merkle state of the last deleted bundle). The anchor
 * moves in the same transaction as the deletion, so the kept rows stay verifiable from it and the Merkle log
 * keeps its root; the chain head lives in `evidence.head` and is never touched here. (A bundle that would
 * qualify but sits above one that must stay — possible only after the clock jumped — waits for a later run.)
 *
 * Also deleted: acknowledged outbox rows, except the one holding the highest outbox_seq (outbox_seq is
 * MAX + 1, so that row keeps it from ever being reused); and order nonces whose order expired more than
 * NONCE_GRACE_MS ago (an expired order is refused anyway; orders/nonces.ts keeps a watermark so that one
 * whose nonce was deleted stays refused even if the clock is set back).
 *
 * Work is done in transactions of at most `chunkRows` rows, so the write lock is held briefly and a crash
 * mid-way leaves a consistent, partly pruned log; each run deletes at most MAX_PRUNE_ROWS_PER_RUN rows of each
 * table, and the next daily run continues.
 */
import { isoTime } from "../../protocol/ids.ts";
import { leafHash, MerkleAccumulator } from "../../protocol/merkle.ts";
import { utf8 } from "../../protocol/encoding.ts";
import type { Log } from "../engine/types.ts";
import type { Store, Tx } from "../store/index.ts";
import { pruneNonces } from "../orders/nonces.ts";
import { EvidenceError, storeFailure } from "./errors.ts";
import { laterTime, readAnchor, readHead, writeAnchor, type ChainPoint } from "./state.ts";

/** Newest bundles always kept (ARCHITECTURE.md §4 default). */
export const DEFAULT_RETENTION_COUNT = 200;
/** Bundles younger than this are always kept: six years, HIPAA §164.316(b)(2)(i). */
export const DEFAULT_RETENTION_DAYS = 2190;
/** Rows deleted per transaction: keeps each write lock short (about a millisecond per hundred rows). */
export const PRUNE_CHUNK_ROWS = 1_000;
/** Most rows of each table one run deletes; a backlog beyond that is finished by later runs. */
export const MAX_PRUNE_ROWS_PER_RUN = 200_000;
/** Order nonces are kept this long after their order expired; an order whose nonce is gone stays refused (orders/nonces.ts). */
export const NONCE_GRACE_MS = 7 * 24 * 60 * 60_000;

const DAY_MS = 24 * 60 * 60_000;

export interface PruneOptions {
  /** Current time (ms since the epoch). */
  now: number;
  retentionCount?: number;
  retentionDays?: number;
  /** Rows per transaction (tests use small chunks). */
  chunkRows?: number;
}

export interface PruneReport {
  /** Bundles, outbox rows and nonces deleted by this run. */
  evidence: number;
  outbox: number;
  nonces: number;
  /** Seq of the last bundle deleted so far (this run or earlier); 0 if none ever was. */
  pruned_through: number;
}

export interface RetentionOptions {
  store: Store;
  log?: Pick<Log, "info" | "warn">;
}

/** Deletes what retention allows; see the module comment. */
export class Retention {
  readonly #store: Store;
  readonly #log: Pick<Log, "info" | "warn"> | undefined;

  constructor(options: RetentionOptions) {
    this.#store = options.store;
    this.#log = options.log;
  }

  /** Runs one pruning pass. Throws RangeError for bad options, EvidenceError for database failures. */
  async prune(options: PruneOptions): Promise<PruneReport> {
    const { now, retentionCount = DEFAULT_RETENTION_COUNT, retentionDays = DEFAULT_RETENTION_DAYS, chunkRows = PRUNE_CHUNK_ROWS } = options;
    checkInt("now", now, 0);
    checkInt("retentionCount", retentionCount, 1);
    checkInt("retentionDays", retentionDays, 0);
    checkInt("chunkRows", chunkRows, 1);
    const cutoff = isoTime(Math.max(0, Math.floor(now) - retentionDays * DAY_MS));
    const nonceCutoff = isoTime(Math.max(0, Math.floor(now) - NONCE_GRACE_MS));
    const report: PruneReport = { evidence: 0, outbox: 0, nonces: 0, pruned_through: 0 };
    try {
      for (;;) {
        const step = await this.#store.transaction((tx) => pruneEvidenceChunk(tx, { cutoff, retentionCount, chunkRows, now: isoTime(Math.floor(now)) }));
        report.evidence += step.deleted;
        report.pruned_through = step.anchor;
        if (step.deleted < chunkRows || report.evidence >= MAX_PRUNE_ROWS_PER_RUN) break;
      }
      report.outbox = await this.#repeat(chunkRows, (limit) => ({
        // Never the row holding MAX(outbox_seq): it keeps outbox_seq from being reused.
        sql: `DELETE FROM outbox WHERE outbox_seq IN (
                SELECT outbox_seq FROM outbox WHERE acked = 1 AND outbox_seq < (SELECT MAX(outbox_seq) FROM outbox) ORDER BY outbox_seq LIMIT ?)`,
        args: [limit],
      }));
      while (report.nonces < MAX_PRUNE_ROWS_PER_RUN) {
        const limit = Math.min(chunkRows, MAX_PRUNE_ROWS_PER_RUN - report.nonces);
        const deleted = await this.#store.transaction((tx) => pruneNonces(tx, nonceCutoff, limit, isoTime(Math.floor(now))));
        report.nonces += deleted;
        if (deleted < limit) break;
      }
    } catch (e) {
      const mapped = storeFailure(e, "prune evidence", this.#store.path);
      this.#log?.warn("evidence_prune_failed", { message: (mapped as Error).message, ...report });
      throw mapped;
    }
    this.#log?.info("evidence_pruned", { ...report });
    return report;
  }

  /** Runs a bounded DELETE in chunks until it deletes less than a chunk or hits the per-run bound. */
  async #repeat(chunkRows: number, stmt: (limit: number) => { sql: string; args: (string | number)[] }): Promise<number> {
    let total = 0;
    while (total < MAX_PRUNE_ROWS_PER_RUN) {
      const rs = await this.#store.execute(stmt(Math.min(chunkRows, MAX_PRUNE_ROWS_PER_RUN - total)));
      total += rs.rowsAffected;
      if (rs.rowsAffected < chunkRows) break;
    }
    return total;
  }
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`Cannot prune as '${name}' must be an integer >= ${min}: current value is ${value}`);
}

/** Deletes the next contiguous run (at most chunkRows) of prunable bundles and moves the anchor past it. */
async function pruneEvidenceChunk(tx: Tx, o: { cutoff: string; retentionCount: number; chunkRows: number; now: string }): Promise<{ deleted: number; anchor: number }> {
  const anchor = await readAnchor(tx);
  const head = await readHead(tx);
  // Rows with seq > head - N are the newest N: always kept.
  const limit = Math.min(head.seq - o.retentionCount, anchor.seq + o.chunkRows);
  if (limit <= anchor.seq) return { deleted: 0, anchor: anchor.seq };
  const stopRs = await tx.execute({
    sql: "SELECT MIN(seq) AS stop FROM evidence WHERE seq > ? AND seq <= ? AND (acked = 0 OR created_at >= ?)",
    args: [anchor.seq, limit, o.cutoff],
  });
  const stop = stopRs.rows[0]?.stop;
  const end = stop === null || stop === undefined ? limit : Number(stop) - 1;
  if (end <= anchor.seq) return { deleted: 0, anchor: anchor.seq };

  const rows = (
    await tx.execute({
      sql: "SELECT seq, line, hash, json_extract(line, '$.timestamps.finished_at') AS finished_at FROM evidence WHERE seq > ? AND seq <= ? ORDER BY seq",
      args: [anchor.seq, end],
    })
  ).rows;
  if (rows.length !== end - anchor.seq || Number(rows[0]?.seq) !== anchor.seq + 1) {
    throw new EvidenceError("corrupt_state", `evidence rows ${anchor.seq + 1}..${end} should all be present after the pruning anchor, found ${rows.length}`);
  }
  const acc = MerkleAccumulator.fromState(anchor.merkle);
  let last = anchor.last_time;
  for (const row of rows) {
    acc.append(leafHash(utf8(String(row.line))));
    last = laterTime(last, String(row.finished_at));
  }
  const next: ChainPoint = { seq: end, hash: String(rows.at(-1)!.hash), last_time: last, merkle: acc.state };
  await tx.execute({ sql: "DELETE FROM evidence WHERE seq > ? AND seq <= ?", args: [anchor.seq, end] });
  await tx.execute(writeAnchor(next, o.now));
  return { deleted: rows.length, anchor: end };
}
