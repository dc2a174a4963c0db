/**
 * Private helper: at most `concurrency` commands at once per remote host (sshd allows 10 sessions per
 * connection by default, WinRM caps shells per user), with a bounded waiting line. A full line rejects with
 * `busy` instead of growing; `close()` rejects everyone waiting with `closed`.
 */

import { CollectError } from "./errors.ts";

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class Limiter {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #target: string;
  readonly #queue: Waiter[] = [];
  #active = 0;
  #closed = false;

  constructor(concurrency: number, maxQueued: number, target: string) {
    this.#concurrency = concurrency;
    this.#maxQueued = maxQueued;
    this.#target = target;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#queue.splice(0)) w.reject(this.#closedError());
  }

  #closedError(): CollectError {
    return new CollectError("closed", `Transport to ${this.#target} is closed`);
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#active < this.#concurrency) {
      this.#active++;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.#maxQueued) {
      return Promise.reject(
        new CollectError("busy", `Too many commands queued for ${this.#target} (limit ${this.#maxQueued})`, {
          maxQueued: this.#maxQueued,
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(new CollectError("aborted", `Command on ${this.#target} was aborted while waiting its turn`));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next.resolve(); // the slot passes straight to the next waiter
    else this.#active--;
  }
}
