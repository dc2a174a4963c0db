/**
 * The sync schedule: a round now, then every relay.sync_interval_s ± 10 %; after a failure, full-jitter
 * exponential backoff up to 15 min (backoff.ts); a backlog bigger than one round continues at once; new
 * evidence starts a round early while the relay is reachable — through `trigger()` (the daemon calls it after
 * each cycle) or the cheap outbox-head probe every OUTBOX_POLL_MS (order results, healing, alerts).
 *
 * It runs beside the check cycles, never inside them: a week of backlog uploading does not hold up a scan.
 * The failure count and the next due time persist in `kv`, so a crash-looping daemon still backs off.
 * `stop()` aborts the round in flight (its requests are idempotent: the next start pushes again) and waits.
 */
import { isoTime } from "../../protocol/ids.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { Store } from "../store/index.ts";
import { backoffDelay, BACKOFF_CAP_MS, intervalDelay, uniform } from "./backoff.ts";
import type { SyncClient, SyncReport } from "./client.ts";
import { isPermanent, SyncError } from "./errors.ts";
import { deleteKv, readKv, SYNC_KEYS, writeKv, type BackoffState } from "./kv.ts";

/** How often, while online and idle, the loop looks for new outbox rows. */
export const OUTBOX_POLL_MS = 5_000;
/** Least time between two rounds started by new evidence: a burst of appends makes one round, not many. */
export const MIN_TRIGGERED_SPACING_MS = 1_000;

/** Waits `ms` or until `signal` aborts (then resolves; the loop checks why it woke). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Real timers. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

export interface SyncLoopOptions {
  client: Pick<SyncClient, "sync" | "hasUnpushed">;
  store: Store;
  intervalMs: number;
  clock: Clock;
  random: (n: number) => Uint8Array;
  log: Log;
  sleep?: Sleep;
  /** Called after every round (tests and the status page). */
  onRound?: (r: { ok: true; report: SyncReport; delayMs: number } | { ok: false; error: unknown; failures: number; delayMs: number }) => void;
}

export class SyncLoop {
  readonly #o: SyncLoopOptions;
  readonly #sleep: Sleep;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #running: Promise<void> | null = null;
  #failures = 0;
  /** Set by trigger() since the current round started. */
  #triggered = false;

  constructor(o: SyncLoopOptions) {
    if (!Number.isFinite(o.intervalMs) || o.intervalMs <= 0) throw new RangeError(`Cannot schedule sync as 'intervalMs' must be a positive number: current value is ${o.intervalMs}`);
    this.#o = o;
    this.#sleep = o.sleep ?? realSleep;
  }

  /** Consecutive failed rounds (0 while the relay is reachable). */
  get failures(): number {
    return this.#failures;
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.#running) return;
    this.#running = this.#run().catch((e: unknown) => this.#o.log.error("sync_loop_crashed", { error: (e as Error).message }));
  }

  /** New evidence was written: sync early if the relay is reachable (ignored while backing off). */
  trigger(): void {
    if (this.#failures > 0) return;
    this.#triggered = true;
    this.#wake.abort();
  }

  /** Aborts the round in flight and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#stop.abort(new SyncError("aborted", "the appliance is stopping"));
    await this.#running;
  }

  async #run(): Promise<void> {
    const { clock, store, log } = this.#o;
    const saved = await readKv<BackoffState>(store, SYNC_KEYS.backoff);
    if (saved && Number.isSafeInteger(saved.failures) && saved.failures > 0) {
      this.#failures = saved.failures;
      const wait = Math.min(BACKOFF_CAP_MS, Date.parse(saved.retry_at) - clock.now());
      if (wait > 0) {
        log.info("sync_backoff_resumed", { failures: saved.failures, wait_ms: wait });
        await this.#sleep(wait, this.#stop.signal);
      }
    }
    while (!this.#stop.signal.aborted) {
      let delay: number;
      let triggerable: boolean;
      this.#triggered = false;
      try {
        const report = await this.#o.client.sync(this.#stop.signal);
        if (this.#failures > 0) {
          log.info("sync_recovered", { after_failures: this.#failures });
          await deleteKv(store, SYNC_KEYS.backoff);
        }
        this.#failures = 0;
        delay = report.more ? 0 : intervalDelay(this.#o.intervalMs, uniform(this.#o.random));
        triggerable = true;
        this.#o.onRound?.({ ok: true, report, delayMs: delay });
      } catch (e) {
        if (this.#stop.signal.aborted) break;
        this.#failures++;
        const permanent = isPermanent(e);
        delay = backoffDelay(this.#failures, uniform(this.#o.random), { permanent, ...(e instanceof SyncError && e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
        triggerable = false;
        const fields = e instanceof SyncError ? { code: e.code, relay_code: e.relayCode ?? null, status: e.status ?? null } : { code: "unexpected" };
        log[permanent ? "error" : "warn"]("sync_failed", { ...fields, error: (e as Error).message, failures: this.#failures, retry_in_ms: delay });
        // Best effort: losing it only means a restart retries sooner.
        const state: BackoffState = { failures: this.#failures, retry_at: isoTime(clock.now() + delay), relay_code: e instanceof SyncError ? (e.relayCode ?? null) : null };
        await writeKv(store, SYNC_KEYS.backoff, state, clock.now()).catch((err: unknown) =>
          log.warn("sync_backoff_not_saved", { error: (err as Error).message }),
        );
        this.#o.onRound?.({ ok: false, error: e, failures: this.#failures, delayMs: delay });
      }
      if (delay > 0) await this.#wait(delay, triggerable);
    }
  }

  /** Sleeps `delay`; when `triggerable`, wakes early for `trigger()` or new outbox rows. */
  async #wait(delay: number, triggerable: boolean): Promise<void> {
    const stop = this.#stop.signal;
    if (!triggerable) return this.#sleep(delay, stop);
    this.#wake = new AbortController();
    const spacing = Math.min(delay, MIN_TRIGGERED_SPACING_MS);
    await this.#sleep(spacing, stop);
    if (this.#triggered) return;
    let left = delay - spacing;
    while (left > 0 && !stop.aborted && !this.#wake.signal.aborted) {
      const slice = Math.min(left, OUTBOX_POLL_MS);
      await this.#sleep(slice, AbortSignal.any([stop, this.#wake.signal]));
      left -= slice;
      if (left > 0 && !stop.aborted && !this.#wake.signal.aborted && (await this.#o.client.hasUnpushed().catch(() => false))) break;
    }
  }
}
