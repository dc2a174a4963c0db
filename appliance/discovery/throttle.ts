/**
 * Bounds how hard discovery hits a clinic network: at most `concurrency` probes in flight and at most
 * `ratePerSecond` probe starts per second (evenly spaced: probe k starts no earlier than k / rate seconds
 * after the first). Fragile devices — old printers, imaging modalities — have been knocked over by bursty
 * scanners; a steady trickle is the point, not throughput.
 *
 * Waiting respects an AbortSignal: once it fires, `run` rejects at once for queued work and nothing new starts.
 */
import type { Clock } from "../engine/types.ts";

/** Sleeps `ms`, or rejects with the signal's reason when it is aborted first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export interface ThrottleOptions {
  concurrency: number;
  ratePerSecond: number;
  clock: Clock;
  sleep?: Sleep;
}

export class Throttle {
  readonly #concurrency: number;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  #active = 0;
  #nextStart = 0;
  readonly #waiting: (() => void)[] = [];
  /** Highest number of tasks seen in flight at once (tests and logs). */
  peak = 0;
  /** Tasks started. */
  started = 0;

  constructor(o: ThrottleOptions) {
    for (const [name, v] of [["concurrency", o.concurrency], ["ratePerSecond", o.ratePerSecond]] as const) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Cannot throttle as '${name}' must be a positive number: current value is ${v}`);
    }
    if (!Number.isInteger(o.concurrency)) throw new RangeError(`Cannot throttle as 'concurrency' must be an integer: current value is ${o.concurrency}`);
    this.#concurrency = o.concurrency;
    this.#intervalMs = 1000 / o.ratePerSecond;
    this.#clock = o.clock;
    this.#sleep = o.sleep ?? realSleep;
  }

  /** Runs `task` when a slot is free and the rate allows; rejects with the abort reason if `signal` fires first. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      // Reserve the next start time synchronously so concurrent callers space themselves out.
      const now = this.#clock.now();
      const at = Math.max(now, this.#nextStart);
      this.#nextStart = at + this.#intervalMs;
      if (at > now) await this.#sleep(at - now, signal);
      signal?.throwIfAborted();
      this.started++;
      return await task();
    } finally {
      this.#release();
    }
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#active < this.#concurrency) {
      this.#active++;
      this.peak = Math.max(this.peak, this.#active);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      this.#waiting.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    // The releasing task handed its slot over without decrementing.
    this.peak = Math.max(this.peak, this.#active);
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}
