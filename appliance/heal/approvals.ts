/**
 * Approvals for runbooks marked `needs_approval` (and for advise mode). The order processor verifies a signed
 * `approve_runbook` order and hands the engine an approval record; the engine accepts it only for exactly
 * that runbook, host and check, until `approved_until`, and (when the approval names parameters) only with
 * exactly those parameters. Approvals are kept in the `kv` table so they survive a restart.
 */
import { z } from "zod";
import { jsonEqual } from "../../protocol/rules.ts";
import { isoTimeSchema, parseIsoTime } from "../../protocol/ids.ts";
import type { Json } from "../../protocol/catalogue/mod.ts";
import type { Store } from "../store/index.ts";
import { HealError } from "./errors.ts";

/** Catalogue ids (`windows.set_screen_lock`), host ids, order ids: short printable tokens. */
const TOKEN = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/);

export const approvalRecordSchema = z.strictObject({
  runbook: TOKEN,
  host_id: TOKEN,
  check: TOKEN,
  approved_until: isoTimeSchema,
  order_id: TOKEN,
  /** When present, the approval covers only a run with exactly these (validated) parameters. */
  params: z.record(z.string(), z.json()).optional(),
});
export type ApprovalRecord = z.output<typeof approvalRecordSchema>;

/** What a fix asks: may `runbook` run on `host_id` for `check` with `params` at `now`? */
export interface ApprovalQuery {
  runbook: string;
  host_id: string;
  check: string;
  params: { [name: string]: Json };
  now: number;
}

/** Where the engine looks approvals up. */
export interface ApprovalSource {
  /** The approval that covers the query, or null. */
  find(query: ApprovalQuery): Promise<ApprovalRecord | null>;
}

/** Whether `record` covers `query` exactly (runbook, host, check, params if named) and has not expired. */
export function approvalCovers(record: ApprovalRecord, query: ApprovalQuery): boolean {
  return (
    record.runbook === query.runbook &&
    record.host_id === query.host_id &&
    record.check === query.check &&
    parseIsoTime(record.approved_until) > query.now &&
    (record.params === undefined || jsonEqual(record.params, query.params))
  );
}

const KEY_PREFIX = "heal.approval:";
const keyOf = (host: string, check: string, runbook: string) => `${KEY_PREFIX}${host}:${check}:${runbook}`;

/** Approvals in the `kv` table, one per host + check + runbook (a newer grant replaces the older one). */
export class KvApprovals implements ApprovalSource {
  constructor(
    readonly store: Store,
    readonly clock: { now(): number },
  ) {}

  /** Keeps an approval the order processor verified. Throws HealError `approval_invalid` for a malformed record. */
  async grant(record: unknown): Promise<ApprovalRecord> {
    const parsed = approvalRecordSchema.safeParse(record);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "record"}: ${i.message}`);
      throw new HealError("approval_invalid", `approval refused: ${problems.join("; ")}`, problems);
    }
    const r = parsed.data;
    await this.store.execute({
      sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      args: [keyOf(r.host_id, r.check, r.runbook), JSON.stringify(r), new Date(this.clock.now()).toISOString()],
    });
    return r;
  }

  async find(query: ApprovalQuery): Promise<ApprovalRecord | null> {
    const rs = await this.store.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [keyOf(query.host_id, query.check, query.runbook)] });
    const row = rs.rows[0];
    if (!row) return null;
    const parsed = approvalRecordSchema.safeParse(JSON.parse(String(row.value)));
    return parsed.success && approvalCovers(parsed.data, query) ? parsed.data : null;
  }
}
