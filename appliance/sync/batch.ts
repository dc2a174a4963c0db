/**
 * Outbox rows → push entries, in outbox order, within the push bounds (MAX_PUSH_ENTRIES entries and
 * MAX_PUSH_BYTES of body). Evidence rows travel as their bundle line (a string, byte for byte as signed);
 * other rows hold canonical JSON text and travel as the object it encodes (the relay re-canonicalises it
 * to compare receipts, so the round trip is exact).
 */
import { MAX_PUSH_BYTES, MAX_PUSH_ENTRIES, type OutboxEntry } from "../../protocol/sync.ts";
import type { Store } from "../store/index.ts";
import { SyncError } from "./errors.ts";

/** Room kept in a push body for everything but the entries: schema, appliance id and the checkpoint (≤ 8 KiB). */
export const PUSH_ENVELOPE_RESERVE_BYTES = 16 * 1024;
/** Bytes the entries of one push may take. */
export const PUSH_ENTRIES_BUDGET_BYTES = MAX_PUSH_BYTES - PUSH_ENVELOPE_RESERVE_BYTES;

export interface OutboxRow {
  outbox_seq: number;
  type: string;
  body: string;
}

/** Up to `limit` outbox rows after `cursor`, in order. */
export async function readOutbox(store: Pick<Store, "execute">, cursor: number, limit = MAX_PUSH_ENTRIES): Promise<OutboxRow[]> {
  const rs = await store.execute({ sql: "SELECT outbox_seq, type, body FROM outbox WHERE outbox_seq > ? ORDER BY outbox_seq LIMIT ?", args: [cursor, limit] });
  return rs.rows.map((r) => ({ outbox_seq: Number(r.outbox_seq), type: String(r.type), body: String(r.body) }));
}

/** Where pushing resumes after a restart: just before the first unacknowledged row (or after the last row). */
export async function localCursor(store: Pick<Store, "execute">): Promise<number> {
  const rs = await store.execute("SELECT COALESCE((SELECT MIN(outbox_seq) FROM outbox WHERE acked = 0) - 1, (SELECT MAX(outbox_seq) FROM outbox), 0) AS c");
  return Number(rs.rows[0]?.c ?? 0);
}

/** The highest outbox_seq written so far (0 when empty): a cheap "is there anything new" probe. */
export async function outboxHead(store: Pick<Store, "execute">): Promise<number> {
  const rs = await store.execute("SELECT COALESCE(MAX(outbox_seq), 0) AS m FROM outbox");
  return Number(rs.rows[0]?.m ?? 0);
}

/** One push entry for a stored row. Throws SyncError `bad_response` for a row that cannot be sent (corrupt). */
export function toEntry(row: OutboxRow): OutboxEntry {
  if (row.type === "evidence") return { outbox_seq: row.outbox_seq, type: "evidence", body: row.body };
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    throw new SyncError("bad_response", `outbox row ${row.outbox_seq} (${row.type}) does not hold JSON; it cannot be sent`);
  }
  // The relay validates every body against protocol/sync.ts; the evidence log validated it before storing.
  return { outbox_seq: row.outbox_seq, type: row.type, body } as OutboxEntry;
}

/** UTF-8 size of `text` without allocating the encoded bytes. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The longest prefix of `rows` that fits one push: at most MAX_PUSH_ENTRIES entries and `budgetBytes` of
 * serialised entries (with their separators). The first row is always taken (a single bundle line is at most
 * 256 KiB, far below the budget), so a batch always makes progress.
 */
export function fitBatch(rows: readonly OutboxRow[], budgetBytes = PUSH_ENTRIES_BUDGET_BYTES): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  let used = 0;
  for (const row of rows) {
    if (out.length >= MAX_PUSH_ENTRIES) break;
    const entry = toEntry(row);
    const size = utf8Length(JSON.stringify(entry)) + 1;
    if (out.length > 0 && used + size > budgetBytes) break;
    used += size;
    out.push(entry);
  }
  return out;
}
