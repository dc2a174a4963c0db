/**
 * Delivery loop for syslog: a bounded in-memory queue drained in order over one connection, reconnecting with
 * capped exponential backoff and full jitter, with timeouts on connect and write. The transport is injected
 * (`syslog-net.ts` for UDP/TCP/TLS; fakes in tests), and so are the clock-dependent parts (sleep, random).
 *
 * Guarantees and limits: syslog over UDP/TCP/TLS has no application-level acknowledgement (RFC 5426, 6587,
 * 5425), so delivery is best effort. A frame whose write fails is put back at the head of the queue and sent
 * again on the next connection (it may then arrive twice); a frame written just before the peer goes away can
 * be lost. The authoritative record is the evidence log, which syncs to the relay; syslog is a copy for the
 * reseller's SIEM. When the queue is full the oldest frame is dropped and counted.
 */

/** One open transport. `write` resolves when the bytes are handed to the OS. */
export interface SyslogConnection {
  write(message: Uint8Array): Promise<void>;
  /** True once the peer closed the connection or it failed; the sender then reconnects. */
  readonly closed: boolean;
  close(): void;
}

/** Opens a connection; must stop and reject when `signal` aborts (connect timeout or shutdown). */
export type SyslogConnect = (signal: AbortSignal) => Promise<SyslogConnection>;

export type SyslogLog = (level: "warn" | "info", message: string, details?: Record<string, unknown>) => void;

export const SYSLOG_SENDER_DEFAULTS = {
  /** Events queued while the receiver is away: a day of a busy site's escalations, a few MB at most. */
  queueLimit: 1_000,
  /** A receiver on the LAN or a VPN answers a TCP/TLS handshake in well under this. */
  connectTimeoutMs: 5_000,
  /** A write that cannot reach the kernel buffer in this time means a stalled peer: reconnect. */
  writeTimeoutMs: 5_000,
  /** First retry delay after a failure. */
  backoffBaseMs: 500,
  /** Retry at least this often while frames are waiting, so an outage ends within a minute of recovery. */
  backoffCapMs: 60_000,
} as const;

export interface SyslogSenderOptions {
  connect: SyslogConnect;
  queueLimit?: number;
  connectTimeoutMs?: number;
  writeTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Uniform in [0, 1); defaults to Math.random. */
  random?: () => number;
  /** Abortable delay; defaults to setTimeout. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: SyslogLog;
}

export interface SyslogSenderStats {
  queued: number;
  sent: number;
  dropped: number;
  /** Consecutive failed connects or writes (0 after a success). */
  failures: number;
  connected: boolean;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`Cannot create syslog sender as '${name}' must be a positive integer: current value is ${value}`);
  }
  return value;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`syslog ${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class SyslogSender {
  readonly #connect: SyslogConnect;
  readonly #limit: number;
  readonly #connectTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #log: SyslogLog;
  readonly #queue: Uint8Array[] = [];
  readonly #shutdown = new AbortController();
  readonly #idle: (() => void)[] = [];
  #conn: SyslogConnection | null = null;
  #pump: Promise<void> | null = null;
  #sent = 0;
  #dropped = 0;
  #failures = 0;

  constructor(options: SyslogSenderOptions) {
    const d = SYSLOG_SENDER_DEFAULTS;
    this.#connect = options.connect;
    this.#limit = positiveInt("queueLimit", options.queueLimit ?? d.queueLimit);
    this.#connectTimeoutMs = positiveInt("connectTimeoutMs", options.connectTimeoutMs ?? d.connectTimeoutMs);
    this.#writeTimeoutMs = positiveInt("writeTimeoutMs", options.writeTimeoutMs ?? d.writeTimeoutMs);
    this.#baseMs = positiveInt("backoffBaseMs", options.backoffBaseMs ?? d.backoffBaseMs);
    this.#capMs = positiveInt("backoffCapMs", options.backoffCapMs ?? d.backoffCapMs);
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#log = options.log ?? (() => {});
  }

  /** Queue one formatted message. Returns false if the sender is closed; drops the oldest frame when full. */
  send(message: string | Uint8Array): boolean {
    if (this.#shutdown.signal.aborted) return false;
    if (this.#queue.length >= this.#limit) {
      this.#queue.shift();
      this.#dropped++;
      this.#log("warn", "syslog queue full: dropped the oldest message", { queueLimit: this.#limit, dropped: this.#dropped });
    }
    this.#queue.push(typeof message === "string" ? new TextEncoder().encode(message) : message);
    this.#pump ??= this.#drain().finally(() => {
      this.#pump = null;
      for (const resolve of this.#idle.splice(0)) resolve();
    });
    return true;
  }

  /** Wait until every queued message is written; false if `timeoutMs` passed first. */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.#pump === null) return this.#queue.length === 0;
    const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const drained = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return drained && this.#queue.length === 0;
  }

  /** Give queued messages up to `flushTimeoutMs`, then stop retrying and close the connection. */
  async close(flushTimeoutMs = 0): Promise<void> {
    if (flushTimeoutMs > 0) await this.flush(flushTimeoutMs);
    this.#shutdown.abort(new Error("syslog sender closed"));
    this.#conn?.close(); // interrupts a write in progress instead of waiting for its timeout
    await this.#pump;
    this.#conn?.close();
    this.#conn = null;
  }

  stats(): SyslogSenderStats {
    return {
      queued: this.#queue.length,
      sent: this.#sent,
      dropped: this.#dropped,
      failures: this.#failures,
      connected: this.#conn !== null && !this.#conn.closed,
    };
  }

  async #drain(): Promise<void> {
    const stop = this.#shutdown.signal;
    while (this.#queue.length > 0 && !stop.aborted) {
      const conn = await this.#connection();
      if (conn === null) continue; // failed; #connection already waited out the backoff
      const frame = this.#queue.shift();
      if (frame === undefined) break;
      try {
        await withTimeout(conn.write(frame), this.#writeTimeoutMs, "write", () => conn.close());
        this.#sent++;
        this.#failures = 0;
      } catch (error) {
        if (this.#queue.length < this.#limit) this.#queue.unshift(frame);
        else this.#dropped++;
        conn.close();
        this.#conn = null;
        await this.#fail("write", error);
      }
    }
  }

  async #connection(): Promise<SyslogConnection | null> {
    if (this.#conn !== null && !this.#conn.closed) return this.#conn;
    this.#conn?.close();
    this.#conn = null;
    const attempt = new AbortController();
    const stop = () => attempt.abort(new Error("syslog sender closed"));
    this.#shutdown.signal.addEventListener("abort", stop, { once: true });
    const pending = this.#connect(attempt.signal);
    try {
      this.#conn = await withTimeout(pending, this.#connectTimeoutMs, "connect", () => {
        attempt.abort(new Error(`syslog connect timed out after ${this.#connectTimeoutMs} ms`));
        pending.then((late) => late.close(), () => {}); // a connector that ignored the signal must not leak
      });
      if (this.#failures > 0) this.#log("info", "syslog receiver reachable again", { after_failures: this.#failures });
      return this.#conn;
    } catch (error) {
      await this.#fail("connect", error);
      return null;
    } finally {
      this.#shutdown.signal.removeEventListener("abort", stop);
    }
  }

  /** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base·2^n)). */
  async #fail(what: "connect" | "write", error: unknown): Promise<void> {
    if (this.#shutdown.signal.aborted) return;
    this.#failures++;
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(this.#failures - 1, 30));
    const delay = Math.floor(this.#random() * ceiling);
    this.#log("warn", `syslog ${what} failed; retrying`, {
      error: error instanceof Error ? error.message : String(error),
      failures: this.#failures,
      retry_in_ms: delay,
      queued: this.#queue.length,
    });
    await this.#sleep(delay, this.#shutdown.signal);
  }
}
