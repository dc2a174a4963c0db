/**
 * The one interface every collector speaks: run a command on a target, get its output and exit code, close.
 * `local` (the appliance itself), `ssh` (Linux/macOS), `winrm` (Windows) and `lab` (simulated clinic)
 * implement it, so checks and runbook steps are written once against `Transport`.
 *
 * Contract every implementation keeps:
 * - Data is never interpolated into a shell line. `{program, args}` runs one program with an argument vector
 *   (quoted per the target's rules where the wire only carries a string); `{script, shell}` sends the script
 *   as data — over stdin to `sh -s`, or as `-EncodedCommand` to PowerShell.
 * - A non-zero exit code is a result, not an error. Errors are `CollectError`s with a code (errors.ts).
 * - Each run is bounded: `timeoutMs` (stop the command, `timeout`), output cap (`output_too_large`),
 *   `signal` (`aborted`). After any of these the remote or local process has been told to stop.
 * - Secrets given to a transport stay in memory and never appear in errors or log entries.
 */

import { CollectError } from "./errors.ts";

export type TransportKind = "local" | "ssh" | "winrm" | "lab";

/** One program and its argument vector, or a whole script handed to a shell as data. */
export type Command =
  | { readonly program: string; readonly args: readonly string[] }
  | { readonly script: string; readonly shell: "sh" | "powershell" };

export interface RunOptions {
  /** Wall-clock limit for this command, 1 ms … MAX_TIMEOUT_MS. */
  readonly timeoutMs: number;
  /** Stops the command early; the run rejects with `aborted`. */
  readonly signal?: AbortSignal;
  /** Cap on stdout + stderr bytes together; defaults to DEFAULT_MAX_OUTPUT_BYTES. */
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  /** UTF-8 decoded (invalid sequences become U+FFFD). */
  readonly stdout: string;
  readonly stderr: string;
  /** The process's exit status; 128 + signal number when a signal ended it (shell convention). */
  readonly exitCode: number;
  readonly durationMs: number;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Who this talks to, for logs and errors: `ssh root@10.0.0.5:22`. Never contains a secret. */
  readonly target: string;
  run(cmd: Command, opts: RunOptions): Promise<RunResult>;
  /** Ends connections and cancels queued work; later runs reject with `closed`. Idempotent. */
  close(): Promise<void>;
}

/** A log sink for transport events (TOFU pins, reconnects, cleanup failures). Entries carry no secrets. */
export type TransportLog = (entry: {
  readonly level: "debug" | "info" | "warn";
  readonly msg: string;
  readonly target: string;
  readonly [field: string]: string | number | boolean;
}) => void;

/** Monotonic milliseconds; injected so tests can control durations. */
export type Clock = () => number;

/** Checks and runbook steps print small structured output; 4 MiB is generous and still bounds memory. */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** Hard ceiling on any one cap, so a misconfigured caller cannot ask for unbounded buffering. */
export const MAX_OUTPUT_BYTES_LIMIT = 64 * 1024 * 1024;
/** A runbook step (e.g. a NixOS switch) may take long, but nothing legitimately runs for over 30 minutes. */
export const MAX_TIMEOUT_MS = 30 * 60_000;
/** Scripts travel as data; 1 MiB is far above any catalogue script and keeps a bad caller bounded. */
export const MAX_SCRIPT_BYTES = 1024 * 1024;
/** Argument vectors likewise (Linux ARG_MAX is 2 MiB; Windows command lines are 32 767 chars). */
export const MAX_ARGS_BYTES = 256 * 1024;

export const defaultClock: Clock = () => performance.now();
export const silentLog: TransportLog = () => {};

/** Validates options up front (Deno-std style messages) and fills in the output cap. */
export function checkRunOptions(opts: RunOptions): { timeoutMs: number; maxOutputBytes: number } {
  const { timeoutMs } = opts;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `Cannot run command as 'timeoutMs' must be an integer from 1 to ${MAX_TIMEOUT_MS}: current value is ${timeoutMs}`,
    );
  }
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 1 || maxOutputBytes > MAX_OUTPUT_BYTES_LIMIT) {
    throw new RangeError(
      `Cannot run command as 'maxOutputBytes' must be an integer from 1 to ${MAX_OUTPUT_BYTES_LIMIT}: current value is ${maxOutputBytes}`,
    );
  }
  return { timeoutMs, maxOutputBytes };
}

/** Rejects NUL bytes (no OS can pass them) and oversized commands before anything is sent. */
export function checkCommand(cmd: Command): void {
  if ("program" in cmd) {
    if (typeof cmd.program !== "string" || cmd.program.length === 0) {
      throw new TypeError("Cannot run command as 'program' must be a non-empty string");
    }
    let size = cmd.program.length;
    for (const [i, a] of [cmd.program, ...cmd.args].entries()) {
      if (typeof a !== "string") throw new TypeError(`Cannot run command as argument ${i - 1} is not a string`);
      if (a.includes("\0")) throw new TypeError(`Cannot run command as ${i === 0 ? "'program'" : `argument ${i - 1}`} contains a NUL byte`);
      size += a.length;
    }
    if (size > MAX_ARGS_BYTES) {
      throw new RangeError(`Cannot run command as its arguments total ${size} characters, over the limit of ${MAX_ARGS_BYTES}`);
    }
    return;
  }
  if (cmd.shell !== "sh" && cmd.shell !== "powershell") {
    throw new TypeError(`Cannot run script as 'shell' must be "sh" or "powershell": current value is ${String(cmd.shell)}`);
  }
  if (typeof cmd.script !== "string") throw new TypeError("Cannot run script as 'script' must be a string");
  if (cmd.script.includes("\0")) throw new TypeError("Cannot run script as it contains a NUL byte");
  // Each UTF-16 unit encodes to at least one byte, so a long string is rejected before encoding it.
  const bytes = cmd.script.length > MAX_SCRIPT_BYTES ? cmd.script.length : new TextEncoder().encode(cmd.script).byteLength;
  if (bytes > MAX_SCRIPT_BYTES) {
    throw new RangeError(`Cannot run script as it is ${bytes} bytes, over the limit of ${MAX_SCRIPT_BYTES}`);
  }
}

/** The error a transport throws when the caller's signal has fired. */
export function abortedError(target: string): CollectError {
  return new CollectError("aborted", `Command on ${target} was aborted by the caller`);
}

/** The error a transport throws when the command overran its time limit. */
export function timeoutError(target: string, timeoutMs: number): CollectError {
  return new CollectError("timeout", `Command on ${target} did not finish within ${timeoutMs} ms and was stopped`, {
    timeoutMs,
  });
}

/** The error a transport throws when the command printed more than its cap. */
export function outputTooLargeError(target: string, maxOutputBytes: number): CollectError {
  return new CollectError(
    "output_too_large",
    `Command on ${target} printed more than ${maxOutputBytes} bytes and was stopped`,
    { maxOutputBytes },
  );
}

/** Signal numbers shared by Linux and macOS (the portable POSIX set), for the 128 + n exit convention. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, FPE: 8, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15,
};

/** `128 + n` for a signal name with or without the `SIG` prefix; 255 when the name is unknown. */
export function exitCodeForSignal(signal: string): number {
  const n = SIGNAL_NUMBERS[signal.replace(/^SIG/, "")];
  return n === undefined ? 255 : 128 + n;
}
