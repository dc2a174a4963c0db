/**
 * `ssh` transport: Linux and macOS hosts over SSH (the `ssh2` package), key or password authentication.
 *
 * - Host key pinning: the SHA-256 fingerprint of the server's host key (as `ssh-keygen -lf` prints it) is
 *   checked against the injected PinStore during key exchange, before any credential is sent. Unknown host:
 *   trust on first use, recorded once the handshake has proven the server holds the key. Different key:
 *   `host_key_mismatch`, connection dropped.
 * - One connection per transport, opened on first use and reused (commands are multiplexed as channels, at
 *   most SSH_MAX_CHANNELS at once); closed after SSH_IDLE_CLOSE_MS without commands and reopened on demand.
 * - SSH's exec request carries one string that the remote login shell parses. Only fixed text and quoted
 *   words go into it: `{program, args}` becomes `sh -c WRAPPER osiris 'prog' 'arg'…` (POSIX single quoting,
 *   also right for bash and zsh) and `{script, shell: "sh"}` becomes `sh -c WRAPPER osiris <byte count>` with
 *   the script written to the channel's stdin and piped to `sh -s`: data is never parsed as shell syntax.
 *   (ssh-command.ts builds the line.)
 * - The wrapper keeps the channel's stdin as a lifeline. A watcher in the command's process group (sshd puts
 *   every session in its own group) waits for end-of-file on it and then kills the group. The client sends
 *   end-of-file when the command exits (ending anything it left running) or when it must stop the command
 *   (timeout, abort, output cap). This works on every sshd; the `signal KILL` request is sent too, but
 *   OpenSSH refuses it for root sessions (no post-auth privilege separation) and ssh2 cannot send it after
 *   end-of-file, so it is not relied on.
 * - Password authentication also answers a keyboard-interactive "Password:" prompt (PAM-based servers, macOS),
 *   but only a single non-echoed prompt: anything else is not a password question.
 */

import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { Limiter } from "./_limiter.ts";
import { BoundedOutput } from "./_output.ts";
import { remoteCommandLine } from "./ssh-command.ts";
import { CollectError } from "./errors.ts";
import { checkPin, pinKey, type PinStore, recordPin, sha256Fingerprint } from "./pins.ts";
import {
  abortedError,
  checkCommand,
  checkRunOptions,
  type Clock,
  type Command,
  defaultClock,
  exitCodeForSignal,
  outputTooLargeError,
  type RunOptions,
  type RunResult,
  silentLog,
  timeoutError,
  type Transport,
  type TransportLog,
} from "./transport.ts";

export const DEFAULT_SSH_PORT = 22;
/** TCP connect + key exchange + authentication on a clinic LAN take milliseconds; 10 s tolerates a busy host. */
export const SSH_CONNECT_TIMEOUT_MS = 10_000;
/** Concurrent channels per connection; OpenSSH's MaxSessions default is 10, leave room for an admin. */
export const SSH_MAX_CHANNELS = 4;
/** Commands waiting for a channel; a scan queues a few dozen at most. */
export const SSH_MAX_QUEUED = 64;
/** Keepalive probes detect a dead host between commands; 3 missed probes (45 s) end the connection. */
export const SSH_KEEPALIVE_INTERVAL_MS = 15_000;
export const SSH_KEEPALIVE_COUNT_MAX = 3;
/** Hosts are scanned every 15 min: keep the connection for follow-up commands, not between scans. */
export const SSH_IDLE_CLOSE_MS = 60_000;
/** After KILL + close, how long to wait for the server to confirm the channel closed before giving up. */
export const SSH_STOP_WAIT_MS = 2_000;

export type SshAuth =
  | { readonly kind: "key"; readonly privateKey: string | Uint8Array; readonly passphrase?: string }
  | { readonly kind: "password"; readonly password: string };

export interface SshTransportOptions {
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  /** Held in memory for reconnects; never logged or put in an error. */
  readonly auth: SshAuth;
  readonly pins: PinStore;
  readonly connectTimeoutMs?: number;
  readonly idleCloseMs?: number;
  readonly clock?: Clock;
  readonly log?: TransportLog;
}

export function createSshTransport(options: SshTransportOptions): Transport {
  return new SshTransport(options);
}

class SshTransport implements Transport {
  readonly kind = "ssh";
  readonly target: string;
  readonly #o: SshTransportOptions;
  readonly #port: number;
  readonly #connectTimeoutMs: number;
  readonly #idleCloseMs: number;
  readonly #clock: Clock;
  readonly #log: TransportLog;
  readonly #limiter: Limiter;
  readonly #running = new Set<(err: CollectError) => void>();
  #conn: Promise<Client> | undefined;
  #client: Client | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(o: SshTransportOptions) {
    if (!o.host) throw new TypeError("Cannot create SSH transport as 'host' is empty");
    if (!o.username) throw new TypeError("Cannot create SSH transport as 'username' is empty");
    this.#port = o.port ?? DEFAULT_SSH_PORT;
    if (!Number.isInteger(this.#port) || this.#port < 1 || this.#port > 65535) {
      throw new RangeError(`Cannot create SSH transport as 'port' must be 1-65535: current value is ${o.port}`);
    }
    this.#o = o;
    this.#connectTimeoutMs = o.connectTimeoutMs ?? SSH_CONNECT_TIMEOUT_MS;
    this.#idleCloseMs = o.idleCloseMs ?? SSH_IDLE_CLOSE_MS;
    this.#clock = o.clock ?? defaultClock;
    this.#log = o.log ?? silentLog;
    this.target = `ssh ${o.username}@${o.host}:${this.#port}`;
    this.#limiter = new Limiter(SSH_MAX_CHANNELS, SSH_MAX_QUEUED, this.target);
  }

  async run(cmd: Command, opts: RunOptions): Promise<RunResult> {
    checkCommand(cmd);
    const { timeoutMs, maxOutputBytes } = checkRunOptions(opts);
    if (this.#closed) throw new CollectError("closed", `Transport to ${this.target} is closed`);
    if ("script" in cmd && cmd.shell !== "sh") {
      throw new CollectError("unsupported", `The SSH transport runs sh scripts only, not ${cmd.shell}`);
    }
    if (opts.signal?.aborted) throw abortedError(this.target);
    const [line, stdin] = remoteCommandLine(cmd);
    return await this.#limiter.run(async () => {
      clearTimeout(this.#idleTimer);
      try {
        // The connect time counts against the command's budget: a caller's timeout is wall-clock.
        const started = this.#clock();
        const client = await withDeadline(this.#connect(), timeoutMs, () => timeoutError(this.target, timeoutMs), opts.signal, () => abortedError(this.target));
        const left = Math.max(1, timeoutMs - Math.round(this.#clock() - started));
        return await this.#exec(client, line, stdin, left, timeoutMs, maxOutputBytes, opts.signal, started);
      } finally {
        this.#scheduleIdleClose();
      }
    }, opts.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#limiter.close();
    for (const stop of [...this.#running]) stop(new CollectError("closed", `Transport to ${this.target} was closed while the command ran`));
    await this.#endClient();
  }

  #scheduleIdleClose(): void {
    clearTimeout(this.#idleTimer);
    if (this.#closed || this.#running.size > 0) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#running.size === 0) void this.#endClient();
    }, this.#idleCloseMs);
    this.#idleTimer.unref();
  }

  async #endClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#conn = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.destroy();
        resolve();
      }, SSH_STOP_WAIT_MS);
      client.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      client.end();
    });
  }

  #connect(): Promise<Client> {
    if (!this.#conn) {
      const attempt = this.#open();
      this.#conn = attempt;
      attempt.catch(() => {
        if (this.#conn === attempt) this.#conn = undefined;
      });
    }
    return this.#conn;
  }

  #open(): Promise<Client> {
    const { host, username, auth, pins } = this.#o;
    const key = pinKey("ssh", host, this.#port);
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let mismatch: CollectError | undefined;
      let firstUse: string | undefined;
      let pinWrite: Promise<void> | undefined;
      let ready = false;
      let authFailed = false;

      const hostVerifier = (hostKey: Buffer, verify: (ok: boolean) => void): void => {
        const fp = sha256Fingerprint(hostKey);
        checkPin(pins, key, fp, this.target).then(
          (r) => {
            if (r.outcome === "first_use") firstUse = fp;
            verify(true);
          },
          (err: unknown) => {
            mismatch = err instanceof CollectError ? err : new CollectError("protocol", `Host key check for ${this.target} failed`);
            verify(false);
          },
        );
      };

      client.on("handshake", () => {
        // Key exchange finished, so the server has proven it holds the key: now a first-use pin may be kept.
        if (firstUse !== undefined) {
          pinWrite = recordPin(pins, key, firstUse, this.target);
          pinWrite.catch(() => {});
        }
      });

      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
        const answer = auth.kind === "password" && prompts.length === 1 && prompts[0]?.echo !== true;
        finish(answer && auth.kind === "password" ? [auth.password] : []);
      });

      client.on("ready", () => {
        ready = true;
        (pinWrite ?? Promise.resolve()).then(
          () => {
            if (firstUse !== undefined) {
              this.#log({ level: "info", msg: "ssh host key trusted on first use", target: this.target, fingerprint: firstUse });
            }
            this.#client = client;
            resolve(client);
          },
          (err: unknown) => {
            client.end();
            reject(err);
          },
        );
      });

      client.on("error", (err: Error & { level?: string; code?: unknown }) => {
        if (ready) {
          this.#log({ level: "warn", msg: "ssh connection error", target: this.target, errorLevel: String(err.level ?? "") });
          return;
        }
        if (err.level === "client-authentication") authFailed = true;
        reject(this.#connectError(err, mismatch, authFailed));
      });

      client.on("close", () => {
        if (this.#client === client) {
          this.#client = undefined;
          this.#conn = undefined;
        }
        for (const stop of [...this.#running]) {
          stop(new CollectError("unreachable", `Connection to ${this.target} was lost while the command ran`));
        }
        if (!ready) reject(new CollectError("unreachable", `Connection to ${this.target} closed during the SSH handshake`));
      });

      const config: ConnectConfig = {
        host,
        port: this.#port,
        username,
        readyTimeout: this.#connectTimeoutMs,
        keepaliveInterval: SSH_KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: SSH_KEEPALIVE_COUNT_MAX,
        hostVerifier,
        ...(auth.kind === "key"
          ? {
            privateKey: typeof auth.privateKey === "string" ? auth.privateKey : Buffer.from(auth.privateKey),
            ...(auth.passphrase !== undefined ? { passphrase: auth.passphrase } : {}),
            authHandler: ["publickey"],
          }
          : { password: auth.password, tryKeyboard: true, authHandler: ["password", "keyboard-interactive"] }),
      };
      try {
        client.connect(config);
      } catch {
        // ssh2 throws synchronously when the private key cannot be parsed; its message is not passed on,
        // so nothing about the key material can reach a log.
        reject(new CollectError("auth_failed", `The private key for ${this.target} could not be read (unsupported format or wrong passphrase)`));
      }
    });
  }

  #connectError(err: Error & { level?: string; code?: unknown }, mismatch: CollectError | undefined, authFailed: boolean): CollectError {
    if (mismatch) return mismatch;
    if (authFailed) {
      return new CollectError("auth_failed", `${this.target} rejected the ${this.#o.auth.kind === "key" ? "key" : "password"} for ${this.#o.username}`);
    }
    if (err.level === "client-timeout") {
      return new CollectError("unreachable", `No SSH handshake with ${this.target} within ${this.#connectTimeoutMs} ms`, {
        connectTimeoutMs: this.#connectTimeoutMs,
      });
    }
    if (err.level === "client-socket" || err.level === "client-dns") {
      const code = typeof err.code === "string" ? err.code : "socket error";
      return new CollectError("unreachable", `Could not reach ${this.target}: ${code}`, { cause: code });
    }
    // Handshake/protocol failures (no common algorithm, bad packet): ssh2's message describes the protocol
    // state only, never credentials.
    return new CollectError("protocol", `SSH handshake with ${this.target} failed: ${err.message}`);
  }

  #exec(
    client: Client,
    line: string,
    stdin: string | undefined,
    timeoutMs: number,
    fullTimeoutMs: number,
    maxOutputBytes: number,
    signal: AbortSignal | undefined,
    started: number,
  ): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const output = new BoundedOutput(maxOutputBytes);
      let channel: ClientChannel | undefined;
      let failure: CollectError | undefined;
      let settled = false;
      let exitCode: number | undefined;
      let stopTimer: ReturnType<typeof setTimeout> | undefined;

      const finish = (result: RunResult | CollectError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(stopTimer);
        signal?.removeEventListener("abort", onAbort);
        this.#running.delete(stop);
        if (result instanceof CollectError) reject(result);
        else resolve(result);
      };

      const stop = (err: CollectError) => {
        if (failure || settled) return;
        failure = err;
        if (!channel) {
          finish(err);
          return;
        }
        try {
          channel.signal("KILL");
          channel.end(); // end-of-file on the lifeline: the remote watcher kills the process group
        } catch {
          // The channel or connection is already gone.
        }
        // sshd closes the channel once the group is gone; if it does not, stop waiting and close it ourselves.
        stopTimer = setTimeout(() => {
          try {
            channel?.close();
          } catch {
            // Already gone.
          }
          finish(err);
        }, SSH_STOP_WAIT_MS);
      };

      const onAbort = () => stop(abortedError(this.target));
      const timer = setTimeout(() => stop(timeoutError(this.target, fullTimeoutMs)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#running.add(stop);

      client.exec(line, (err, ch) => {
        if (settled) {
          // Stopped (timeout, abort, close) while the channel was opening: end the command it may start.
          if (!err) {
            try {
              ch.signal("KILL");
              ch.end();
              ch.close();
            } catch {
              // Already gone.
            }
          }
          return;
        }
        if (err) {
          finish(new CollectError("protocol", `${this.target} refused to open a command channel: ${err.message}`));
          return;
        }
        channel = ch;
        ch.on("data", (chunk: Buffer) => {
          if (!output.push("stdout", chunk)) stop(outputTooLargeError(this.target, maxOutputBytes));
        });
        ch.stderr.on("data", (chunk: Buffer) => {
          if (!output.push("stderr", chunk)) stop(outputTooLargeError(this.target, maxOutputBytes));
        });
        ch.on("exit", (code: number | null, signalName?: string) => {
          exitCode = typeof code === "number" ? code : signalName ? exitCodeForSignal(signalName) : 255;
          // The command is done: end-of-file lets the watcher end anything it left running (which would
          // otherwise hold the channel open).
          ch.end();
        });
        ch.on("close", () => {
          if (failure) {
            finish(failure);
            return;
          }
          if (exitCode === undefined) {
            finish(new CollectError("unreachable", `${this.target} closed the channel without reporting an exit status`));
            return;
          }
          finish({
            stdout: output.text("stdout"),
            stderr: output.text("stderr"),
            exitCode,
            durationMs: Math.round(this.#clock() - started),
          });
        });
        if (stdin !== undefined) ch.write(stdin);
      });
    });
  }
}

/** Races `p` against a deadline and an abort signal, mapping each to the caller's error. */
function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      done();
      reject(onAbort());
    };
    const t = setTimeout(() => {
      done();
      reject(onTimeout());
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}
