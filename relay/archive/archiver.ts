/**
 * The WORM archiver: a background job that puts every evidence bundle and every countersigned checkpoint
 * into an S3 bucket with Object Lock, as a COMPLIANCE-locked version retained for `retentionDays` from upload.
 *
 * Ingest never waits for it: checkpoints are queued by triggers in ingest's own transaction, evidence by each
 * tick from a per-appliance cursor over the stored bundles (schema.ts, queue.ts `queueNewEvidence`), and this
 * job drains the queue on its own timer. Each tick queues new evidence, claims a bounded batch, uploads with bounded concurrency,
 * and records every outcome; a failed upload is retried with full-jitter exponential backoff (backoff.ts),
 * and after `failedAfterAttempts` failures — or at once when the bucket refuses for a reason waiting cannot
 * fix (access denied, no such bucket, no Object Lock) — the row turns `failed` so the dashboard shows it. Failed
 * rows are still retried at the backoff cap, so fixing the bucket heals the queue without anyone acting.
 *
 * Nothing is archived twice: an attempt after an earlier one that may have reached the bucket (a crash
 * between upload and record, a timeout after the server stored it) first asks the bucket with HEAD; when the
 * latest version carries the same SHA-256 and a COMPLIANCE lock, the row is recorded from it.
 *
 *   const archiver = startArchiver(deps, { ...archiveConfig(settings) });
 *   …
 *   await archiver.stop();
 */
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { utf8 } from "../../protocol/encoding.ts";
import type { RelayDeps } from "../deps.ts";
import { backoffDelay, checkBackoffPolicy, DEFAULT_BACKOFF, uniform, type BackoffPolicy } from "./backoff.ts";
import { claimDue, queueNewEvidence, recordOutcomes, sourceText, type ClaimedObject, type Outcome } from "./queue.ts";
import { S3Error, s3Store, type Fetch, type ObjectStore, type S3Config } from "./s3.ts";

/** A tick starts this long after the last one found nothing more to do: archives land within seconds. */
export const ARCHIVE_INTERVAL_MS = 5_000;
/** Rows claimed per tick: bounds one tick's work and the rows a crashed process leaves leased. */
export const ARCHIVE_BATCH = 64;
/** Uploads in flight at once: enough to hide round trips without flooding a small gateway. */
export const ARCHIVE_CONCURRENCY = 4;
/** A claim's lease: far longer than a batch can take (64 rows / 4 × two 30 s requests = 16 min worst case). */
export const ARCHIVE_LEASE_MS = 20 * 60_000;
/** A row turns `failed` (shown as needing attention) after this many failed attempts (~40 min of backoff). */
export const FAILED_AFTER_ATTEMPTS = 8;
const DAY_MS = 86_400_000;

export interface ArchiverOptions {
  s3: S3Config;
  /** COMPLIANCE retention of each uploaded version, in days from its upload. */
  retentionDays: number;
  intervalMs?: number;
  batchSize?: number;
  concurrency?: number;
  leaseMs?: number;
  failedAfterAttempts?: number;
  backoff?: Partial<BackoffPolicy>;
  /** The HTTP client (tests wrap it to inject faults). */
  fetch?: Fetch;
  /** Start the timer (default true); false leaves ticks to the caller. */
  autoStart?: boolean;
}

export type ArchiverDeps = Pick<RelayDeps, "db" | "clock" | "random" | "log" | "archiving">;

export interface ArchiveTickReport {
  claimed: number;
  /** Uploaded now. */
  uploaded: number;
  /** Found already in the bucket (an earlier attempt got there) and recorded without uploading again. */
  found: number;
  /** Failed and due again later (still `pending`). */
  retrying: number;
  /** Failed and now `failed`. */
  failed: number;
}

export interface Archiver {
  /** Runs one tick now (after any tick in progress). */
  tick(): Promise<ArchiveTickReport>;
  /** Stops the timer, aborts uploads in flight (their rows are due again at once) and waits for the tick. */
  stop(): Promise<void>;
}

/** The archiver's settings after defaults and checks. */
export interface ArchivePolicy {
  retentionMs: number;
  batchSize: number;
  concurrency: number;
  leaseMs: number;
  failedAfterAttempts: number;
  backoff: BackoffPolicy;
}

export function startArchiver(deps: ArchiverDeps, opts: ArchiverOptions): Archiver {
  const policy: ArchivePolicy = {
    retentionMs: positiveInt("retentionDays", opts.retentionDays) * DAY_MS,
    batchSize: positiveInt("batchSize", opts.batchSize ?? ARCHIVE_BATCH),
    concurrency: positiveInt("concurrency", opts.concurrency ?? ARCHIVE_CONCURRENCY),
    leaseMs: positiveInt("leaseMs", opts.leaseMs ?? ARCHIVE_LEASE_MS),
    failedAfterAttempts: positiveInt("failedAfterAttempts", opts.failedAfterAttempts ?? FAILED_AFTER_ATTEMPTS),
    backoff: checkBackoffPolicy({ ...DEFAULT_BACKOFF, ...opts.backoff }),
  };
  const interval = positiveInt("intervalMs", opts.intervalMs ?? ARCHIVE_INTERVAL_MS);
  const store = s3Store(opts.s3, opts.fetch);
  deps.archiving = true; // what the dashboard's archive status says (archive/routes.ts)
  const abort = new AbortController();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const empty: ArchiveTickReport = { claimed: 0, uploaded: 0, found: 0, retrying: 0, failed: 0 };
  let running: Promise<ArchiveTickReport> = Promise.resolve(empty);

  // Ticks never overlap: each waits for the one before.
  const tick = (): Promise<ArchiveTickReport> => {
    running = running.catch(() => empty).then(() => archiveDue(deps, store, policy, abort.signal));
    return running;
  };
  const loop = async () => {
    if (stopped) return;
    let full = false;
    try {
      full = (await tick()).claimed >= policy.batchSize;
    } catch (e) {
      deps.log.error("archive_tick_failed", { error: e instanceof Error ? e.message : String(e) });
    }
    if (!stopped) {
      // A full batch means a backlog: keep draining without waiting out the interval.
      timer = setTimeout(() => void loop(), full ? 0 : interval);
      timer.unref?.();
    }
  };
  if (opts.autoStart ?? true) {
    // The bucket is checked before the first upload, so its verdict (no Object Lock, unreachable) is in the log
    // ahead of the failures it explains. checkBucket never throws.
    void checkBucket(deps, store, abort.signal).then(() => loop());
  }
  return {
    tick,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      abort.abort();
      await running.catch(() => empty);
    },
  };
}

/** One tick: claim, upload (at most `concurrency` at once), record. */
export async function archiveDue(deps: ArchiverDeps, store: ObjectStore, policy: ArchivePolicy, signal: AbortSignal): Promise<ArchiveTickReport> {
  if (signal.aborted) return { claimed: 0, uploaded: 0, found: 0, retrying: 0, failed: 0 };
  const claimId = newId("arc", deps.random);
  await queueNewEvidence(deps.db);
  const claimed = await claimDue(deps.db, { nowMs: deps.clock.now(), limit: policy.batchSize, leaseMs: policy.leaseMs, claimId });
  const report: ArchiveTickReport = { claimed: claimed.length, uploaded: 0, found: 0, retrying: 0, failed: 0 };
  if (claimed.length === 0) return report;
  const outcomes: Outcome[] = [];
  let firstError: { object_key: string; error: string } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < claimed.length) {
      const item = claimed[next++]!;
      const o = await archiveOne(deps, store, policy, item, signal);
      outcomes.push(o);
      if ("archived" in o) {
        if (o.found) report.found++;
        else report.uploaded++;
      } else {
        if (o.failed.state === "failed") report.failed++;
        else report.retrying++;
        if (!firstError && o.failed.error) firstError = { object_key: item.object_key, error: o.failed.error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(policy.concurrency, claimed.length) }, worker));
  await recordOutcomes(deps.db, claimId, outcomes);
  deps.log.info("archive_tick", { ...report, bucket: store.bucket });
  if (firstError) deps.log.warn("archive_upload_failed", { ...firstError, failures: report.retrying + report.failed });
  return report;
}

type ItemOutcome = Outcome & { found?: boolean };

async function archiveOne(deps: ArchiverDeps, store: ObjectStore, policy: ArchivePolicy, item: ClaimedObject, signal: AbortSignal): Promise<ItemOutcome> {
  const text = await sourceText(deps.db, item);
  if (text === null) {
    return fail(deps, policy, item, new S3Error(`${item.kind} ${item.appliance_id}/${item.num} is not in the database`, 0, "source_missing", false));
  }
  const body = utf8(text);
  const sha256 = sha256Hex(body);
  try {
    if (item.attempts > 1) {
      const held = await store.head(item.object_key, signal);
      if (held && held.sha256 === sha256 && held.lockMode === "COMPLIANCE" && held.retainUntil !== null) {
        return { object_key: item.object_key, found: true, archived: { sha256, bytes: body.length, version_id: held.versionId, retain_until: held.retainUntil, at: deps.clock.now() } };
      }
    }
    const now = deps.clock.now();
    const retainUntil = now + policy.retentionMs;
    const { versionId } = await store.putLocked({
      key: item.object_key,
      body,
      contentType: item.kind === "evidence" ? "application/json" : "text/plain; charset=utf-8",
      retainUntilMs: retainUntil,
      metadata: { sha256, "appliance-id": item.appliance_id, "site-id": item.site_id, [item.kind === "evidence" ? "seq" : "size"]: String(item.num) },
      signal,
    });
    return { object_key: item.object_key, archived: { sha256, bytes: body.length, version_id: versionId, retain_until: isoTime(retainUntil), at: now } };
  } catch (e) {
    if (signal.aborted) return { object_key: item.object_key, failed: { state: "pending", error: null, next_attempt_at: deps.clock.now() } };
    if (e instanceof S3Error) return fail(deps, policy, item, e);
    throw e;
  }
}

function fail(deps: ArchiverDeps, policy: ArchivePolicy, item: ClaimedObject, e: S3Error): Outcome {
  const state = !e.transient || item.attempts >= policy.failedAfterAttempts ? "failed" : "pending";
  const next = deps.clock.now() + backoffDelay(item.attempts, uniform(deps.random), policy.backoff);
  return { object_key: item.object_key, failed: { state, error: e.message, next_attempt_at: next } };
}

/** Logs, once at start, whether the bucket answers and has Object Lock (uploads fail clearly without it). */
async function checkBucket(deps: ArchiverDeps, store: ObjectStore, signal: AbortSignal): Promise<void> {
  try {
    const lock = await store.lockConfiguration(signal);
    if (!lock.enabled) deps.log.error("archive_bucket_unlocked", { bucket: store.bucket, hint: "create the bucket with Object Lock enabled; uploads will fail until it is" });
    else deps.log.info("archive_bucket_ready", { bucket: store.bucket, default_mode: lock.defaultMode, default_days: lock.defaultDays });
  } catch (e) {
    if (!signal.aborted) deps.log.warn("archive_bucket_unreachable", { bucket: store.bucket, error: e instanceof Error ? e.message : String(e) });
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`Cannot start the archiver as '${name}' must be a positive integer: current value is ${v}`);
  return v;
}
