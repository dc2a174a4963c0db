/**
 * The record of every healing attempt: a row in `healing_attempts`, and one EvidenceSink.append call holding
 * the `remediation` bundle with its `healing_attempt` outbox entry (and the `escalation` entry when there is
 * one). The row's `detail` column keeps the whole record as JSON, so the append can be rebuilt after a crash.
 *
 * Crash safety, in the order things happen:
 *   1. an attempt that will run steps inserts its row first, `outcome = 'in_progress'`, `finished_at` NULL;
 *   2. the steps run and the check is re-run;
 *   3. the row gets its outcome and `finished_at`;
 *   4. the evidence log appends the bundle and outbox entries (one transaction there);
 *   5. the row gets `evidence_seq`.
 * `recover()` at startup turns rows stuck at 1–2 into `failed` ("interrupted") — a fix cut off half way is
 * never reported as a success — and re-appends rows stuck at 3–4. Steps 4 and 5 share one transaction when
 * the sink offers one (`TransactionalSink`, as the evidence log does); with a plain EvidenceSink a crash
 * between them appends the attempt twice, with the same `attempt_id` — losing evidence would be worse.
 */
import { z } from "zod";
import { HEALING_OUTCOMES, jsonObjectSchema, type HealingOutcome } from "../../protocol/evidence.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { escalationBodySchema, HEALING_TIERS, healingAttemptBodySchema, type HealingAttemptBody, type HealingTier } from "../../protocol/sync.ts";
import type { Store, Tx } from "../store/index.ts";
import type { Clock, EvidenceDraft, EvidenceSink, Log, OutboxDraft } from "../engine/types.ts";
import { MAX_FLUSH_PER_CALL } from "./policy.ts";

/** What a row's `outcome` holds before the attempt finished. */
export const IN_PROGRESS = "in_progress";

/** Outcomes of attempts that ran steps (they count for cooldowns, and the first two for failure budgets). */
export const ACTED_OUTCOMES = ["success", "failed", "reverted"] as const satisfies readonly HealingOutcome[];
export const FAILED_OUTCOMES = ["failed", "reverted"] as const satisfies readonly HealingOutcome[];

export const attemptRecordSchema = z.strictObject({
  attempt_id: z.string(),
  incident_id: z.string().nullable(),
  host_id: z.string(),
  check: z.string(),
  platform: z.string(),
  tier: z.enum(HEALING_TIERS),
  rule_id: z.string().nullable(),
  runbook: z.string().nullable(),
  params: jsonObjectSchema,
  order_id: z.string().nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  outcome: z.union([z.enum(HEALING_OUTCOMES), z.literal(IN_PROGRESS)]),
  deferred_until: z.string().nullable(),
  detail: z.string().nullable(),
  controls: z.array(z.string()),
  /** Facts relevant to the check before the attempt. */
  pre_state: jsonObjectSchema,
  /** Re-check facts, plus the engine's annotations (members without a dot: attempt_id, gates, steps, …). */
  post_state: jsonObjectSchema,
  rollback_available: z.boolean(),
  escalation: escalationBodySchema.nullable(),
  /** The target is a lab simulation: its evidence says so. */
  simulated: z.boolean().default(false),
});
export type AttemptRecord = z.input<typeof attemptRecordSchema>;

/** A finished record with its row id, ready to append. */
type Finished = AttemptRecord & { outcome: HealingOutcome; finished_at: string };

/** The evidence draft and outbox entries for a finished attempt. */
export function attemptDrafts(r: Finished): { draft: EvidenceDraft; outbox: OutboxDraft[] } {
  // action_taken names a runbook only when it ran; a blocked or escalated fix records what was proposed.
  const acted = (ACTED_OUTCOMES as readonly string[]).includes(r.outcome);
  const draft: EvidenceDraft = {
    kind: "remediation",
    outcome: r.outcome,
    timestamps: { started_at: r.started_at, finished_at: r.finished_at },
    host_id: r.host_id,
    check: r.check,
    controls: r.controls,
    pre_state: r.pre_state,
    post_state: {
      ...r.post_state,
      attempt_id: r.attempt_id,
      tier: r.tier,
      rule_id: r.rule_id,
      ...(r.detail === null ? {} : { detail: r.detail }),
      ...(!acted && r.runbook !== null ? { proposed_runbook: r.runbook } : {}),
      ...(r.simulated ? { simulated: true } : {}),
    },
    action_taken: acted ? r.runbook : null,
    rollback_available: r.rollback_available,
    order_id: r.order_id,
  };
  const body: HealingAttemptBody = healingAttemptBodySchema.parse({
    attempt_id: r.attempt_id,
    incident_id: r.incident_id,
    host_id: r.host_id,
    check: r.check,
    platform: r.platform,
    runbook: r.runbook,
    params: r.params,
    tier: r.tier,
    outcome: r.outcome,
    duration_ms: Math.max(0, parseIsoTime(r.finished_at) - parseIsoTime(r.started_at)),
    rule_id: r.rule_id,
    started_at: r.started_at,
    finished_at: r.finished_at,
    deferred_until: r.deferred_until,
    // The bundle's seq is assigned inside the same append; the relay links the two by attempt_id.
    evidence_seq: null,
    detail: r.detail,
  });
  const outbox: OutboxDraft[] = [{ type: "healing_attempt", body: body as unknown as OutboxDraft["body"] }];
  if (r.escalation) outbox.push({ type: "escalation", body: r.escalation as unknown as OutboxDraft["body"] });
  return { draft, outbox };
}

/**
 * An evidence sink that can also run the caller's statements in its append transaction (appliance/evidence's
 * `EvidenceLog.transaction`). When the sink offers it, marking a row recorded commits with its bundle, so even
 * a crash between the two cannot append an attempt twice. It must use the same Store as the engine.
 */
export interface TransactionalSink extends EvidenceSink {
  transaction<T>(fn: (w: { readonly tx: Tx; append(drafts: EvidenceDraft[], outbox?: OutboxDraft[]): Promise<{ seqs: number[] }> }) => Promise<T>): Promise<T>;
}

export function isTransactional(sink: EvidenceSink): sink is TransactionalSink {
  return typeof (sink as Partial<TransactionalSink>).transaction === "function";
}

export interface AttemptLogOptions {
  store: Store;
  sink: EvidenceSink;
  clock: Clock;
  log: Log;
}

/** A past attempt, as gates and escalations read them. */
export interface PastAttempt {
  tier: HealingTier;
  runbook: string | null;
  rule_id: string | null;
  outcome: string;
  started_at: number;
}

export class AttemptLog {
  readonly #opts: AttemptLogOptions;
  /** Rows this process is appending right now (another flush must not append them again). */
  readonly #flushing = new Set<number>();
  /** Whether some finished row may lack its evidence (true at start, and after a failed append). */
  #dirty = true;

  constructor(opts: AttemptLogOptions) {
    this.#opts = opts;
  }

  /** Step 1: the in-progress marker, written before any step runs. Returns the row id. */
  async begin(record: AttemptRecord, incidentRow: number | null): Promise<number> {
    const rs = await this.#opts.store.execute({
      sql:
        "INSERT INTO healing_attempts (incident_id, host_id, check_id, runbook, rule_id, tier, outcome, started_at, finished_at, detail) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) RETURNING id",
      args: [incidentRow, record.host_id, record.check, record.runbook ?? "", record.rule_id, record.tier, IN_PROGRESS, record.started_at, JSON.stringify({ ...record, outcome: IN_PROGRESS, finished_at: null })],
    });
    return Number(rs.rows[0]!.id);
  }

  /** Steps 3–5 for a row from `begin`. Returns the bundle's seq, or null if the append failed (it is retried later). */
  async finish(row: number, record: Finished): Promise<number | null> {
    await this.#store(row, record);
    return this.flush(row);
  }

  /** An attempt that ran nothing (a gate or an escalation): row, then append. Returns the seq or null. */
  async record(record: Finished, incidentRow: number | null): Promise<number | null> {
    const rs = await this.#opts.store.execute({
      sql:
        "INSERT INTO healing_attempts (incident_id, host_id, check_id, runbook, rule_id, tier, outcome, started_at, finished_at, detail) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      args: [incidentRow, record.host_id, record.check, record.runbook ?? "", record.rule_id, record.tier, record.outcome, record.started_at, record.finished_at, JSON.stringify(record)],
    });
    return this.flush(Number(rs.rows[0]!.id));
  }

  /** Steps 4–5: appends a finished row's evidence if it has none yet. */
  async flush(row: number): Promise<number | null> {
    if (this.#flushing.has(row)) return null;
    this.#flushing.add(row);
    try {
      const rs = await this.#opts.store.execute({ sql: "SELECT detail, evidence_seq, finished_at FROM healing_attempts WHERE id = ?", args: [row] });
      const r = rs.rows[0];
      if (!r || r.finished_at === null) return null;
      if (r.evidence_seq !== null) return Number(r.evidence_seq);
      const record = attemptRecordSchema.parse(JSON.parse(String(r.detail)));
      if (record.outcome === IN_PROGRESS || record.finished_at === null) return null;
      const { draft, outbox } = attemptDrafts(record as Finished);
      const mark = (tx: Pick<Tx, "execute">, seq: number) => tx.execute({ sql: "UPDATE healing_attempts SET evidence_seq = ? WHERE id = ? AND evidence_seq IS NULL", args: [seq, row] });
      const sink = this.#opts.sink;
      try {
        if (isTransactional(sink)) {
          // Bundle, outbox entries and evidence_seq commit together: no duplicate after a crash.
          return await sink.transaction(async (w) => {
            const seq = (await w.append([draft], outbox)).seqs[0]!;
            if ((await mark(w.tx, seq)).rowsAffected !== 1) throw new Error(`healing_attempts row ${row} is not in the evidence log's database: give the engine the same Store`);
            return seq;
          });
        }
        const seq = (await sink.append([draft], outbox)).seqs[0]!;
        await mark(this.#opts.store, seq);
        return seq;
      } catch (e) {
        this.#dirty = true;
        this.#opts.log.error("heal_evidence_append_failed", { attempt_id: record.attempt_id, error: (e as Error).message });
        return null;
      }
    } finally {
      this.#flushing.delete(row);
    }
  }

  /**
   * At startup, before any scan: attempts cut off before they finished become `failed` (interrupted), and
   * finished attempts whose evidence was not appended are appended. Returns how many of each.
   */
  async recover(): Promise<{ interrupted: string[]; resent: number }> {
    const interrupted: string[] = [];
    const open = await this.#opts.store.execute({ sql: "SELECT id, detail FROM healing_attempts WHERE finished_at IS NULL ORDER BY id LIMIT ?", args: [MAX_FLUSH_PER_CALL] });
    for (const r of open.rows) {
      const parsed = attemptRecordSchema.safeParse(JSON.parse(String(r.detail)));
      if (!parsed.success) {
        this.#opts.log.error("heal_attempt_unreadable", { row: Number(r.id) });
        continue;
      }
      const record = parsed.data;
      const at = isoTime(Math.max(this.#opts.clock.now(), parseIsoTime(record.started_at)));
      const finished: Finished = {
        ...record,
        outcome: "failed",
        finished_at: at,
        detail: "interrupted: the appliance stopped while this runbook was running; the next scan shows the host's real state",
      };
      await this.#store(Number(r.id), finished);
      interrupted.push(record.attempt_id);
      this.#opts.log.warn("heal_attempt_interrupted", { attempt_id: record.attempt_id, runbook: record.runbook, host_id: record.host_id });
    }
    return { interrupted, resent: await this.flushPending(true) };
  }

  /**
   * Appends finished rows that have no evidence yet (bounded). Without `force` it only looks when an append
   * failed since the last look (or nothing was looked at yet). Returns how many were appended.
   */
  async flushPending(force = false): Promise<number> {
    if (!force && !this.#dirty) return 0;
    this.#dirty = false;
    const rs = await this.#opts.store.execute({ sql: "SELECT id FROM healing_attempts WHERE finished_at IS NOT NULL AND evidence_seq IS NULL ORDER BY id LIMIT ?", args: [MAX_FLUSH_PER_CALL] });
    let n = 0;
    for (const r of rs.rows) if ((await this.flush(Number(r.id))) !== null) n++;
    return n;
  }

  /** Attempts for host + check since `sinceMs`, oldest first (bounded). */
  async forCheck(host: string, check: string, sinceMs: number, limit: number): Promise<PastAttempt[]> {
    const rs = await this.#opts.store.execute({
      sql: "SELECT tier, runbook, rule_id, outcome, started_at FROM healing_attempts WHERE host_id = ? AND check_id = ? AND started_at > ? ORDER BY started_at DESC, id DESC LIMIT ?",
      args: [host, check, isoTime(Math.max(0, sinceMs)), limit],
    });
    return rs.rows.map(toPast).reverse();
  }

  /** Start of the last attempt that ran steps with this rule (or, for L2, this runbook) on host, or null. */
  async lastActed(host: string, key: { rule_id: string | null; runbook: string }): Promise<number | null> {
    const acted = [...ACTED_OUTCOMES, IN_PROGRESS].map(() => "?").join(", ");
    const rs = await this.#opts.store.execute({
      sql:
        `SELECT MAX(started_at) AS at FROM healing_attempts WHERE host_id = ? AND outcome IN (${acted}) AND ` +
        (key.rule_id === null ? "rule_id IS NULL AND runbook = ?" : "rule_id = ?"),
      args: [host, ...ACTED_OUTCOMES, IN_PROGRESS, key.rule_id ?? key.runbook],
    });
    const at = rs.rows[0]?.at;
    return at === null || at === undefined ? null : parseIsoTime(String(at));
  }

  async #store(row: number, record: Finished): Promise<void> {
    await this.#opts.store.execute({
      sql: "UPDATE healing_attempts SET outcome = ?, finished_at = ?, detail = ? WHERE id = ?",
      args: [record.outcome, record.finished_at, JSON.stringify(record), row],
    });
  }
}

function toPast(r: Record<string, unknown>): PastAttempt {
  return {
    tier: String(r.tier) as HealingTier,
    runbook: r.runbook === "" || r.runbook === null ? null : String(r.runbook),
    rule_id: r.rule_id === null ? null : String(r.rule_id),
    outcome: String(r.outcome),
    started_at: parseIsoTime(String(r.started_at)),
  };
}

