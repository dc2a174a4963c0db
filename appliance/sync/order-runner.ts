/**
 * Runs the signed orders a pull hands out, one at a time and in order, without letting a long one hold up
 * sync. A network discovery scan may run for hours and a runbook for up to HANDLER_TIMEOUT_MS; meanwhile the
 * appliance must keep pushing its evidence and pulling, or the relay shows it offline.
 *
 * - An order starts only inside a pull (OrderProcessor.process: verified, at most once by nonce).
 * - The pull waits for it up to `waitMs`. Most orders finish well within that and are reported by the pull,
 *   whose round pushes their results at once, as before.
 * - An order still running then goes on in the background, and the pull returns without starting the
 *   envelopes after it. While it runs, pulls start no order at all: the relay hands the others out again (their
 *   nonces are not recorded yet), and they run after it. When it finishes, its result bundle and `order_result`
 *   entry are in the outbox and `afterLate` asks for a round to push them.
 * - Orders of SESSION_ORDER_TYPES change the sync session itself (its bearer token, its keys): they always
 *   finish inside the pull that started them, so no round ever runs beside them.
 *
 * An aborted pull stops waiting at once (the order goes on as above). `settled()` resolves once no order is
 * running: the daemon, stopping, waits for it before it closes the database.
 */
import type { OrderProcessor, OrderReport } from "../orders/index.ts";
import type { Log } from "../engine/types.ts";
import { clip, MAX_ERROR_TEXT } from "./alerts.ts";

/** How long a pull waits for an order before letting it finish in the background. */
export const ORDER_WAIT_MS = 20_000;
/** Order types that act on the sync session (token, keys): a pull always waits for them to finish. */
export const SESSION_ORDER_TYPES: ReadonlySet<string> = new Set(["rotate_token", "rotate_keys"]);

export interface OrderRunnerOptions {
  processor: Pick<OrderProcessor, "process">;
  log: Pick<Log, "info" | "error">;
  waitMs?: number;
  /** Called when an order that outlived its pull has finished (its result is in the outbox). */
  afterLate?: () => void;
}

const STILL_RUNNING = Symbol("still running");

export class OrderRunner {
  readonly #o: OrderRunnerOptions;
  readonly #waitMs: number;
  /** The order that outlived its pull, until it finishes. */
  #late: Promise<void> | null = null;

  constructor(options: OrderRunnerOptions) {
    this.#o = options;
    this.#waitMs = options.waitMs ?? ORDER_WAIT_MS;
    if (!Number.isSafeInteger(this.#waitMs) || this.#waitMs < 0) throw new RangeError(`Cannot run orders as 'waitMs' must be a whole number of ms ≥ 0: current value is ${options.waitMs}`);
  }

  /** Whether an order from an earlier pull is still running. */
  get busy(): boolean {
    return this.#late !== null;
  }

  /**
   * Runs the pulled envelopes in order and returns the reports of those that finished within this pull. Stops
   * early when `signal` is aborted or an order goes on in the background; starts none while one does.
   */
  async run(envelopes: readonly unknown[], signal?: AbortSignal): Promise<OrderReport[]> {
    const reports: OrderReport[] = [];
    for (const envelope of envelopes) {
      if (signal?.aborted || this.#late) break; // the rest are handed out again by a later pull
      const report = await this.#runOne(envelope, signal);
      if (report === STILL_RUNNING) break;
      if (report) reports.push(report);
    }
    return reports;
  }

  /** Resolves once no order is running. */
  async settled(): Promise<void> {
    while (this.#late) await this.#late;
  }

  async #runOne(envelope: unknown, signal?: AbortSignal): Promise<OrderReport | null | typeof STILL_RUNNING> {
    let started: { order_id: string; type: string } | null = null;
    const done = this.#o.processor.process(envelope, { onStart: (o) => void (started = { order_id: o.order_id, type: o.type }) }).catch((e: unknown) => {
      this.#o.log.error("order_processing_failed", { error: clip((e as Error).message, MAX_ERROR_TEXT) });
      return null;
    });
    // The wait ends early when the pull is aborted (the daemon stopping): the order then goes on as a late one.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const waited = new Promise<typeof STILL_RUNNING>((resolve) => {
      timer = setTimeout(() => resolve(STILL_RUNNING), this.#waitMs);
      onAbort = () => resolve(STILL_RUNNING);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    const first = await Promise.race([done, waited]);
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort!);
    if (first !== STILL_RUNNING) return first;
    const order = started as { order_id: string; type: string } | null;
    if (order === null || SESSION_ORDER_TYPES.has(order.type)) return done; // not started yet (still verifying), or a session order: wait
    this.#o.log.info("order_continues_in_background", { order_id: order.order_id, type: order.type, waited_ms: this.#waitMs });
    const late: Promise<void> = done.then(() => {
      if (this.#late === late) this.#late = null;
      this.#o.afterLate?.();
    });
    this.#late = late;
    return STILL_RUNNING;
  }
}
