/**
 * The escalation background job: every tick it (1) queues re-notifications for tickets whose SLA was
 * missed, (2) queues the clinic digests that are due, and (3) sends the due deliveries (new tickets, SLA
 * misses, lifecycle events, digests, retries). It holds a lease in the database, so when several relay
 * processes share one database only one of them runs it at a time; the others' ticks return null.
 *
 *   const job = startEscalationScheduler(deps, { notify: { fetch } });
 *   ...
 *   await job.stop();
 */
import { isoTime, newId } from "../../protocol/ids.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { deliverDue, type DeliverReport } from "../notify/deliver.ts";
import { enqueueDueDigests, DIGEST_HOUR } from "../notify/digest.ts";
import { enqueueEscalationEvent } from "../notify/dispatch.ts";
import type { NotifyEffects } from "../notify/send.ts";
import type { EscalationStatus } from "./escalations.ts";
import type { Priority } from "./priority.ts";
import { slaStep } from "./sla-step.ts";

/** How often the job runs: notifications go out within this of a ticket opening. */
export const SCHEDULER_INTERVAL_MS = 15_000;
/** Tickets examined for SLA misses per tick. */
export const SLA_BATCH = 200;
/**
 * The lease outlives the longest tick: at worst DELIVERY_POLICY.batch (50) sends × SEND_TIMEOUT_MS (10 s) =
 * 500 s, plus the SLA and digest sweeps. A crashed holder is taken over after this.
 */
export const LEASE_MS = 15 * 60_000;
const JOB = "escalations";

export interface EscalationSchedulerOptions {
  notify: NotifyEffects;
  intervalMs?: number;
  /** This process's lease name (default: a random id). */
  holder?: string;
  /** Local hour from which digests go out (default DIGEST_HOUR). */
  digestHour?: number;
}

export interface TickReport {
  renotified: number;
  digests: number;
  deliveries: DeliverReport;
}

export interface EscalationScheduler {
  /** Runs one tick now (null when another process holds the lease). */
  tick(): Promise<TickReport | null>;
  stop(): Promise<void>;
}

/** Takes or renews the job lease; true when this holder has it. */
export async function takeLease(db: RelayDb, holder: string, nowMs: number, leaseMs = LEASE_MS): Promise<boolean> {
  const rs = await db.execute({
    sql: `INSERT INTO notify_leases (job, holder, expires_at) VALUES (?, ?, ?)
          ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE notify_leases.expires_at <= ? OR notify_leases.holder = excluded.holder`,
    args: [JOB, holder, isoTime(nowMs + leaseMs), isoTime(nowMs)],
  });
  return rs.rowsAffected > 0;
}

async function releaseLease(db: RelayDb, holder: string): Promise<void> {
  await db.execute({ sql: "DELETE FROM notify_leases WHERE job = ? AND holder = ?", args: [JOB, holder] });
}

/** Queues re-notifications for tickets whose response or resolution target passed. Returns how many. */
export async function sweepSlas(deps: Pick<RelayDeps, "db" | "clock" | "random">): Promise<number> {
  const now = deps.clock.now();
  const rs = await deps.db.execute({
    sql: "SELECT id FROM escalations WHERE status <> 'resolved' AND next_renotify_at IS NOT NULL AND next_renotify_at <= ? ORDER BY next_renotify_at LIMIT ?",
    args: [isoTime(now), SLA_BATCH],
  });
  let renotified = 0;
  for (const { id } of rs.rows.map((r) => ({ id: str(r, "id") }))) {
    const sent = await deps.db.transaction(async (tx) => {
      const cur = (await tx.execute({ sql: "SELECT * FROM escalations WHERE id = ?", args: [id] })).rows[0];
      if (!cur) return false;
      const step = slaStep(
        {
          status: str(cur, "status") as EscalationStatus,
          priority: str(cur, "priority") as Priority,
          response_due_ms: Date.parse(str(cur, "response_due_at")),
          resolution_due_ms: Date.parse(str(cur, "resolution_due_at")),
          response_renotified: num(cur, "response_renotified"),
          resolution_renotified: num(cur, "resolution_renotified"),
        },
        now,
      );
      await tx.execute({
        sql: "UPDATE escalations SET response_renotified = ?, resolution_renotified = ?, next_renotify_at = ? WHERE id = ?",
        args: [step.response_renotified, step.resolution_renotified, step.next_renotify_at === null ? null : isoTime(step.next_renotify_at), id],
      });
      if (step.notify === null) return false;
      const n = step.notify === "response" ? step.response_renotified : step.resolution_renotified;
      await enqueueEscalationEvent(tx, deps, id, { event: "escalation.sla_missed", sla: step.notify, n });
      return true;
    });
    if (sent) renotified++;
  }
  return renotified;
}

/** Starts the job (first tick at once, then every `intervalMs`). */
export function startEscalationScheduler(deps: RelayDeps, opts: EscalationSchedulerOptions): EscalationScheduler {
  const holder = opts.holder ?? newId("job", deps.random);
  const interval = opts.intervalMs ?? SCHEDULER_INTERVAL_MS;
  if (!Number.isFinite(interval) || interval < 100) throw new RangeError(`Cannot start the escalation scheduler as 'intervalMs' must be at least 100: current value is ${interval}`);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<TickReport | null> = Promise.resolve(null);

  const runTick = async (): Promise<TickReport | null> => {
    if (!(await takeLease(deps.db, holder, deps.clock.now()))) return null;
    const renotified = await sweepSlas(deps);
    const digests = await enqueueDueDigests(deps, opts.digestHour ?? DIGEST_HOUR);
    const deliveries = await deliverDue(deps, opts.notify);
    if (renotified || digests || deliveries.sent || deliveries.failed || deliveries.retrying) deps.log.info("escalation_tick", { renotified, digests, ...deliveries });
    return { renotified, digests, deliveries };
  };
  // Ticks never overlap: each waits for the one before.
  const tick = (): Promise<TickReport | null> => {
    running = running.catch(() => null).then(runTick);
    return running;
  };
  const loop = async () => {
    if (stopped) return;
    try {
      await tick();
    } catch (e) {
      deps.log.error("escalation_tick_failed", { error: e instanceof Error ? e.message : String(e) });
    }
    if (!stopped) {
      timer = setTimeout(() => void loop(), interval);
      timer.unref?.();
    }
  };
  void loop();
  return {
    tick,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => null);
      await releaseLease(deps.db, holder).catch(() => undefined);
    },
  };
}
