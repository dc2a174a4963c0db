/**
 * `local` transport: commands on the appliance itself.
 *
 * Programs run through `child_process.spawn` with `shell: false` — the same primitive `execFile` wraps, used
 * directly so output can be capped across both streams as it arrives and the whole process group killed
 * (`execFile`'s maxBuffer and timeout kill only the direct child, leaving its children running). Scripts for
 * `sh` go to `/bin/sh -s` over stdin, so no data is ever part of a command line a shell parses.
 *
 * Each command starts in its own session and process group (`detached`); on timeout, abort or overflow the
 * group gets SIGTERM, then SIGKILL after KILL_GRACE_MS. When a command exits, whatever it left running in
 * its group is killed, so no run leaves stray processes behind. A missing program yields exit code 127 and an
 * unexecutable one 126, as a shell (and so the ssh transport) would report them.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { BoundedOutput } from "./_output.ts";
import { CollectError } from "./errors.ts";
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

/** Time a process group gets to exit after SIGTERM before SIGKILL: enough for a tool to drop a lock file. */
export const KILL_GRACE_MS = 2_000;
/** After SIGKILL, how long to wait for the pipes to close (a grandchild that left the group may hold them). */
export const CLOSE_WAIT_MS = 1_000;

/**
 * Environment every command gets unless the caller passes one: a fixed PATH (NixOS and FHS locations) and a
 * fixed locale so tools print parseable English. The daemon's own environment is deliberately not inherited.
 */
export const DEFAULT_LOCAL_ENV: Readonly<Record<string, string>> = {
  PATH: "/run/wrappers/bin:/run/current-system/sw/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LC_ALL: "C.UTF-8",
  LANG: "C.UTF-8",
};

export interface LocalTransportOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** The POSIX shell that reads `{script, shell: "sh"}` from stdin. */
  readonly shellPath?: string;
  readonly clock?: Clock;
  readonly log?: TransportLog;
}

export function createLocalTransport(options: LocalTransportOptions = {}): Transport {
  return new LocalTransport(options);
}

class LocalTransport implements Transport {
  readonly kind = "local";
  readonly target = "local appliance";
  readonly #env: Readonly<Record<string, string>>;
  readonly #cwd: string | undefined;
  readonly #shellPath: string;
  readonly #clock: Clock;
  readonly #log: TransportLog;
  /** Stop functions of the commands now running, so close() can end them. */
  readonly #running = new Set<(err: CollectError) => void>();
  #closed = false;

  constructor(o: LocalTransportOptions) {
    this.#env = o.env ?? DEFAULT_LOCAL_ENV;
    this.#cwd = o.cwd;
    this.#shellPath = o.shellPath ?? "/bin/sh";
    this.#clock = o.clock ?? defaultClock;
    this.#log = o.log ?? silentLog;
  }

  async run(cmd: Command, opts: RunOptions): Promise<RunResult> {
    checkCommand(cmd);
    const { timeoutMs, maxOutputBytes } = checkRunOptions(opts);
    if (this.#closed) throw new CollectError("closed", `Transport to ${this.target} is closed`);
    if ("script" in cmd && cmd.shell !== "sh") {
      throw new CollectError("unsupported", `The local transport runs sh scripts only, not ${cmd.shell}`);
    }
    if (opts.signal?.aborted) throw abortedError(this.target);
    const file = "program" in cmd ? cmd.program : this.#shellPath;
    const args = "program" in cmd ? [...cmd.args] : ["-s"];
    const stdin = "script" in cmd ? cmd.script : undefined;
    return await this.#spawn(file, args, stdin, timeoutMs, maxOutputBytes, opts.signal);
  }

  #spawn(
    file: string,
    args: string[],
    stdin: string | undefined,
    timeoutMs: number,
    maxOutputBytes: number,
    signal: AbortSignal | undefined,
  ): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const started = this.#clock();
      const output = new BoundedOutput(maxOutputBytes);
      let child: ChildProcess;
      try {
        child = spawn(file, args, {
          cwd: this.#cwd,
          env: { ...this.#env },
          detached: true,
          shell: false,
          windowsHide: true,
          stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
      } catch (err) {
        reject(new CollectError("protocol", `Could not start ${JSON.stringify(file)}: ${errorCode(err)}`));
        return;
      }

      let failure: CollectError | undefined;
      let settled = false;
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      let closeTimer: ReturnType<typeof setTimeout> | undefined;

      const finish = (result: RunResult | CollectError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        clearTimeout(closeTimer);
        signal?.removeEventListener("abort", onAbort);
        this.#running.delete(stop);
        if (result instanceof CollectError) reject(result);
        else resolve(result);
      };

      const killGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // ESRCH: the group is already gone.
        }
      };

      // Stops the whole group: TERM, then KILL after the grace period, then stop waiting for the pipes.
      const stop = (err: CollectError) => {
        if (failure || settled) return;
        failure = err;
        killGroup("SIGTERM");
        killTimer = setTimeout(() => {
          killGroup("SIGKILL");
          closeTimer = setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            finish(err);
          }, CLOSE_WAIT_MS);
        }, KILL_GRACE_MS);
      };

      const onAbort = () => stop(abortedError(this.target));
      const timer = setTimeout(() => stop(timeoutError(this.target, timeoutMs)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#running.add(stop);

      const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        if (!output.push(stream, chunk)) stop(outputTooLargeError(this.target, maxOutputBytes));
      };
      child.stdout?.on("data", onData("stdout"));
      child.stderr?.on("data", onData("stderr"));

      if (stdin !== undefined && child.stdin) {
        child.stdin.on("error", () => {
          // EPIPE: the shell exited before reading the whole script; its exit status tells what happened.
        });
        child.stdin.end(stdin);
      }

      child.on("error", (err) => {
        const code = errorCode(err);
        if (code === "ENOENT" || code === "EACCES") {
          // As a shell reports it: 127 not found, 126 found but not executable.
          finish({
            stdout: "",
            stderr: `${file}: ${code === "ENOENT" ? "not found" : "permission denied"}\n`,
            exitCode: code === "ENOENT" ? 127 : 126,
            durationMs: Math.round(this.#clock() - started),
          });
          return;
        }
        finish(new CollectError("protocol", `Could not run ${JSON.stringify(file)}: ${code}`));
      });

      // The command is its direct child; anything it left running in the background (holding our pipes open)
      // is a stray, ended with the rest of the group so the run finishes and nothing outlives it.
      child.on("exit", () => killGroup("SIGKILL"));

      child.on("close", (code, sig) => {
        if (failure) {
          finish(failure);
          return;
        }
        finish({
          stdout: output.text("stdout"),
          stderr: output.text("stderr"),
          exitCode: code ?? (sig ? exitCodeForSignal(sig) : 255),
          durationMs: Math.round(this.#clock() - started),
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const n = this.#running.size;
    for (const stop of [...this.#running]) stop(new CollectError("closed", `Transport to ${this.target} was closed while the command ran`));
    if (n > 0) this.#log({ level: "info", msg: "closed local transport with commands running", target: this.target, stopped: n });
  }
}

function errorCode(err: unknown): string {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") return err.code;
  return "unknown error";
}
