/**
 * Outbox receipts: what the relay stored at each outbox position of an appliance, so that an entry sent again
 * (a retry, a lost acknowledgement) is recognised and acknowledged again, and a different body at a stored
 * position is caught (push.ts).
 *
 * - An entry other than evidence has a row of its own: its type and canonical body.
 * - Evidence is receipted per run: consecutive evidence entries whose bundles have consecutive seqs share one
 *   row, at the run's first outbox_seq, with body `{"count":n,"seq":s}`: outbox positions outbox_seq … +n-1
 *   hold bundles s … s+n-1, whose bytes and hashes are in `evidence`. A row per bundle was ~5 µs of the ingest
 *   transaction's ~17 µs per bundle (measured 2026-11-29; scripts/bench/README.md).
 * - Rows written before schema 21 hold one evidence entry each as `{"hash":h,"seq":s}`: a run of one whose
 *   hash is in the row.
 */
import { canonicalize } from "../../protocol/canonical.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { num, str } from "../db/rows.ts";
import type { FeatureMigration } from "../db/migrations.ts";
import type { Reader } from "./chain-row.ts";

export const RECEIPT_COLUMNS = ["appliance_id", "outbox_seq", "type", "body", "received_at"] as const;

/**
 * Schema 21 (numbered in db/migrations.ts): no table changes, but rows of the new form would be misread by an
 * older relay (as forks), so the version moves and an older relay refuses the database instead.
 */
export const EVIDENCE_RECEIPT_RUNS_MIGRATION: FeatureMigration = {
  name: "outbox_receipts_evidence_runs",
  sql: "-- outbox_receipts: evidence entries are receipted per run ({count, seq}); see relay/ingest/receipts.ts\n",
};

/** What the relay stored at one outbox position: a bundle (by seq and line hash), or another entry's body. */
export type StoredEntry = { kind: "evidence"; seq: number; hash: string } | { kind: "other"; type: string; body: string };

interface EvidenceRun {
  seq: number;
  count: number;
  /** Only in rows written before schema 21 (a run of one). */
  hash?: string;
}

function runOf(body: string, applianceId: string, outboxSeq: number): EvidenceRun {
  const v = JSON.parse(body) as Partial<EvidenceRun>;
  const count = v.count ?? 1;
  if (!Number.isSafeInteger(v.seq) || v.seq! < 1 || !Number.isSafeInteger(count) || count < 1 || (v.count === undefined && typeof v.hash !== "string")) {
    throw new Error(`Internal: the evidence receipt of ${applianceId} at outbox_seq ${outboxSeq} is malformed: ${body}`);
  }
  return { seq: v.seq!, count, ...(v.hash !== undefined ? { hash: v.hash } : {}) };
}

/** What is stored at `outboxSeq` (null: nothing, which only happens above the appliance's cursor). */
export async function storedEntryAt(db: Reader, applianceId: string, outboxSeq: number): Promise<StoredEntry | null> {
  const r = (await db.execute({ sql: "SELECT outbox_seq, type, body FROM outbox_receipts WHERE appliance_id = ? AND outbox_seq <= ? ORDER BY outbox_seq DESC LIMIT 1", args: [applianceId, outboxSeq] })).rows[0];
  if (!r) return null;
  const at = num(r, "outbox_seq");
  const type = str(r, "type");
  if (type !== "evidence") return at === outboxSeq ? { kind: "other", type, body: str(r, "body") } : null;
  const run = runOf(str(r, "body"), applianceId, at);
  if (outboxSeq - at >= run.count) return null;
  const seq = run.seq + (outboxSeq - at);
  if (run.hash !== undefined) return { kind: "evidence", seq, hash: run.hash };
  const e = (await db.execute({ sql: "SELECT hash FROM evidence WHERE appliance_id = ? AND seq = ?", args: [applianceId, seq] })).rows[0];
  if (!e) throw new Error(`Internal: the receipt of ${applianceId} at outbox_seq ${outboxSeq} names seq ${seq}, which is not stored`);
  return { kind: "evidence", seq, hash: str(e, "hash") };
}

/** Whether `entry` is exactly what is stored at its position. */
export function sameAsStored(entry: OutboxEntry, stored: StoredEntry): boolean {
  if (stored.kind === "evidence") return entry.type === "evidence" && stored.hash === sha256Hex(entry.body);
  return stored.type === entry.type && stored.body === canonicalize(entry.body);
}

/** The receipt rows of entries stored by one push, added in outbox order. */
export class ReceiptRows {
  readonly #rows: (string | number)[][] = [];
  #run: { outboxSeq: number; seq: number; count: number } | null = null;

  constructor(
    readonly applianceId: string,
    readonly receivedAt: string,
  ) {}

  /** An evidence entry holding bundle `seq` (stored now, or stored before with the same bytes). */
  evidence(outboxSeq: number, seq: number): void {
    const run = this.#run;
    if (run && outboxSeq === run.outboxSeq + run.count && seq === run.seq + run.count) {
      run.count++;
      return;
    }
    this.#close();
    this.#run = { outboxSeq, seq, count: 1 };
  }

  /** Any other entry. */
  other(entry: OutboxEntry): void {
    this.#close();
    this.#rows.push([this.applianceId, entry.outbox_seq, entry.type, canonicalize(entry.body), this.receivedAt]);
  }

  /** Every row, in outbox order. */
  rows(): (string | number)[][] {
    this.#close();
    return this.#rows;
  }

  #close(): void {
    const run = this.#run;
    if (run) this.#rows.push([this.applianceId, run.outboxSeq, "evidence", canonicalize({ count: run.count, seq: run.seq }), this.receivedAt]);
    this.#run = null;
  }
}

/** Every outbox position receipted for the appliance, ascending (one per entry stored). */
export async function receiptedPositions(db: Reader, applianceId: string): Promise<number[]> {
  const rs = await db.execute({ sql: "SELECT outbox_seq, type, body FROM outbox_receipts WHERE appliance_id = ? ORDER BY outbox_seq", args: [applianceId] });
  const out: number[] = [];
  for (const r of rs.rows) {
    const at = num(r, "outbox_seq");
    const span = str(r, "type") === "evidence" ? runOf(str(r, "body"), applianceId, at).count : 1;
    for (let k = 0; k < span; k++) out.push(at + k);
  }
  return out;
}
