/**
 * How the helper and its daemon-side client run programs: an argument vector (never a shell line), bounded in
 * time and output. Injected everywhere, so tests record the exact argv (there is no nixos-rebuild here) or
 * run the real program inside a network namespace they created.
 *
 * The production runner is the appliance's local transport (appliance/collect/local.ts): its own process
 * group per command, killed as a whole on timeout, output capped across both streams.
 */
import { createHash } from "node:crypto";
import { createLocalTransport } from "../collect/index.ts";
import { MAX_TIMEOUT_MS } from "../collect/transport.ts";

export interface CommandOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Runs `argv[0]` with `argv.slice(1)`; rejects only when the program could not be run to the end (timeout, abort). */
export type CommandRunner = (argv: readonly string[], opts: CommandOptions) => Promise<CommandResult>;

/** Output kept per command: `nft -j list ruleset` of a clinic appliance is tens of KiB; 8 MiB is far above it. */
export const COMMAND_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** Longest single command: a switch that downloads a closure; systemd stops the helper at 45 min anyway. */
export const COMMAND_MAX_TIMEOUT_MS = MAX_TIMEOUT_MS;
/** Characters of a command's last output line kept in a result (it goes into evidence). */
export const OUTPUT_TAIL_CHARS = 160;

/** The real runner (local transport, fixed PATH and locale, nothing inherited from the caller's environment). */
export function createCommandRunner(): CommandRunner {
  const local = createLocalTransport();
  return async (argv, opts) => {
    const [program, ...args] = argv;
    if (program === undefined) throw new TypeError("Cannot run a command: argv is empty");
    const timeoutMs = Math.max(1, Math.min(COMMAND_MAX_TIMEOUT_MS, Math.floor(opts.timeoutMs)));
    return local.run({ program, args }, { timeoutMs, maxOutputBytes: COMMAND_MAX_OUTPUT_BYTES, ...(opts.signal ? { signal: opts.signal } : {}) });
  };
}

/** What a result file keeps of one command: exit code, time, a digest and the last line of its output. */
export interface CommandRecord {
  argv: string[];
  exit_code: number;
  duration_ms: number;
  output_sha256: string;
  output_tail: string;
}

export function commandRecord(argv: readonly string[], r: CommandResult): CommandRecord {
  const output = `${r.stdout}${r.stderr}`;
  return {
    argv: argv.map((a) => clipLine(a, 200)),
    exit_code: r.exitCode,
    duration_ms: Math.max(0, Math.round(r.durationMs)),
    output_sha256: createHash("sha256").update(output).digest("hex"),
    output_tail: lastLine(output),
  };
}

/** The last non-empty line of `text`, without control characters, at most OUTPUT_TAIL_CHARS. */
export function lastLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? "";
  return clipLine(line, OUTPUT_TAIL_CHARS);
}

export function clipLine(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
