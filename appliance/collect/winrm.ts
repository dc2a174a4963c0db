/**
 * `winrm` transport: Windows hosts over WS-Management (MS-WSMV Windows Remote Shell), HTTPS 5986 by default.
 *
 * Each run: Create shell → Command → Receive until Done → Signal terminate → Delete shell (winrm-soap.ts),
 * over one authenticated, certificate-pinned connection (winrm-http.ts). One command at a time per host: a
 * Receive is a long poll that holds the connection (NTLM binds auth to it).
 *
 * What runs on the host:
 * - `{script, shell: "powershell"}`: `powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 of
 *   the UTF-16LE script>`. The script is data the whole way (base64 has no metacharacters) and progress
 *   records are silenced so they do not arrive as CLIXML noise on stderr.
 * - `{program, args}`: the program itself, with a command line quoted by the rules Windows programs parse
 *   (CommandLineToArgvW), and WINRS_SKIP_CMD_SHELL so cmd.exe never interprets it. Not PowerShell's `&`:
 *   Windows PowerShell 5.1 re-quotes arguments to native programs wrongly when they contain quotes.
 * - `{script, shell: "sh"}`: refused (`unsupported`).
 *
 * Security choices (also refused at construction, with `unsupported`):
 * - Basic over plain HTTP sends the password in clear text: only with `allowUnencrypted`.
 * - NTLM over plain HTTP: Windows requires NTLM message encryption (sealing) on HTTP unless the listener has
 *   AllowUnencrypted=true. We do not implement sealing, so NTLM needs HTTPS, or `allowUnencrypted` for a host
 *   explicitly configured that way. HTTPS is the supported path: use port 5986.
 * - NTLM channel binding (CBT) is not sent; Windows' default CbtHardeningLevel "Relaxed" accepts that. The
 *   certificate pin is what stops a man in the middle.
 */

import { Limiter } from "./_limiter.ts";
import { BoundedOutput } from "./_output.ts";
import { CollectError } from "./errors.ts";
import type { PinStore } from "./pins.ts";
import {
  abortedError,
  checkCommand,
  checkRunOptions,
  type Clock,
  type Command,
  defaultClock,
  outputTooLargeError,
  type RunOptions,
  type RunResult,
  silentLog,
  timeoutError,
  type Transport,
  type TransportLog,
} from "./transport.ts";
import { type HttpAnswer, WinrmHttp, type WinrmAuth } from "./winrm-http.ts";
import {
  ACTION,
  COMMAND_OPTIONS,
  commandBody,
  CREATE_SHELL_OPTIONS,
  createShellBody,
  envelope,
  faultOf,
  isOperationTimeout,
  type ParsedEnvelope,
  parseCommandId,
  parseEnvelope,
  parseReceive,
  parseShellId,
  RECEIVE_OPTIONS,
  receiveBody,
  signalBody,
  type SoapFault,
} from "./winrm-soap.ts";

export type { WinrmAuth } from "./winrm-http.ts";

export const WINRM_HTTPS_PORT = 5986;
export const WINRM_HTTP_PORT = 5985;
/** TCP + TLS on a clinic LAN take milliseconds; 10 s tolerates a busy host. */
export const WINRM_CONNECT_TIMEOUT_MS = 10_000;
/** How long one Receive may wait for output on the host (Windows' own default is 60 s; shorter keeps us responsive). */
export const RECEIVE_OPERATION_TIMEOUT_S = 20;
/** OperationTimeout for Create, Command, Signal, Delete: they answer at once unless the host is in trouble. */
export const CONTROL_OPERATION_TIMEOUT_S = 60;
/** Extra HTTP wait beyond OperationTimeout, for the host to send its TimedOut fault. */
export const HTTP_SLACK_MS = 5_000;
/** Signal and Delete after a failure: best effort, each bounded so cleanup cannot hang a scan. */
export const CLEANUP_TIMEOUT_MS = 5_000;
/** CreateProcess's limit on a command line, in UTF-16 units. */
export const WINDOWS_MAX_COMMAND_LINE = 32_767;
/** Commands waiting for this host's one slot. */
export const WINRM_MAX_QUEUED = 64;
/** Receive rounds per command: at one per second at worst, more than MAX_TIMEOUT_MS allows. */
const MAX_RECEIVE_ROUNDS = 10_000;

export interface WinrmTransportOptions {
  readonly host: string;
  /** Default true (port 5986). */
  readonly https?: boolean;
  readonly port?: number;
  readonly path?: string;
  /** Held in memory only; never logged, never in an error. */
  readonly auth: WinrmAuth;
  /** HTTPS certificate pins (trust on first use). */
  readonly pins: PinStore;
  /** Permit credentials over plain HTTP (the host must be configured AllowUnencrypted=true). */
  readonly allowUnencrypted?: boolean;
  readonly connectTimeoutMs?: number;
  readonly clock?: Clock;
  readonly log?: TransportLog;
  /** Message ids; injected for reproducible tests. */
  readonly uuid?: () => string;
}

export function createWinrmTransport(options: WinrmTransportOptions): Transport {
  return new WinrmTransport(options);
}

/** Quotes one argument so CommandLineToArgvW (and the MSVC runtime) gives it back unchanged. */
export function quoteWindowsArg(arg: string): string {
  if (arg.length > 0 && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    out += ch === '"' ? "\\".repeat(backslashes * 2 + 1) + '"' : "\\".repeat(backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

/** Arguments for `powershell.exe` to run `script`, passed as base64 of its UTF-16LE bytes. */
export function encodedPowerShellArgs(script: string): string[] {
  const full = `$ProgressPreference = 'SilentlyContinue'\n${script}`;
  return ["-NoProfile", "-NonInteractive", "-EncodedCommand", Buffer.from(full, "utf16le").toString("base64")];
}

class WinrmTransport implements Transport {
  readonly kind = "winrm";
  readonly target: string;
  readonly #url: URL;
  readonly #http: WinrmHttp;
  readonly #clock: Clock;
  readonly #log: TransportLog;
  readonly #uuid: () => string;
  readonly #limiter: Limiter;
  readonly #running = new Set<AbortController>();
  #closed = false;

  constructor(o: WinrmTransportOptions) {
    if (!o.host) throw new TypeError("Cannot create WinRM transport as 'host' is empty");
    if (!o.auth.username) throw new TypeError("Cannot create WinRM transport as the username is empty");
    const https = o.https ?? true;
    const port = o.port ?? (https ? WINRM_HTTPS_PORT : WINRM_HTTP_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot create WinRM transport as 'port' must be 1-65535: current value is ${o.port}`);
    }
    const host = o.host.includes(":") && !o.host.startsWith("[") ? `[${o.host}]` : o.host;
    this.#url = new URL(`${https ? "https" : "http"}://${host}:${port}${o.path ?? "/wsman"}`);
    this.target = `winrm ${o.auth.username}@${o.host}:${port}`;
    if (!https && !o.allowUnencrypted) {
      throw new CollectError(
        "unsupported",
        o.auth.kind === "ntlm"
          ? `Refusing NTLM over plain HTTP to ${this.target}: Windows requires message encryption there, which this client does not implement. Use HTTPS (port ${WINRM_HTTPS_PORT}), or set allowUnencrypted for a host configured with AllowUnencrypted=true.`
          : `Refusing Basic authentication over plain HTTP to ${this.target}: the password would cross the network in clear text. Use HTTPS (port ${WINRM_HTTPS_PORT}), or set allowUnencrypted deliberately.`,
      );
    }
    this.#clock = o.clock ?? defaultClock;
    this.#log = o.log ?? silentLog;
    this.#uuid = o.uuid ?? (() => crypto.randomUUID());
    this.#limiter = new Limiter(1, WINRM_MAX_QUEUED, this.target);
    this.#http = new WinrmHttp({
      url: this.#url,
      auth: o.auth,
      pins: o.pins,
      target: this.target,
      connectTimeoutMs: o.connectTimeoutMs ?? WINRM_CONNECT_TIMEOUT_MS,
      log: this.#log,
    });
  }

  async run(cmd: Command, opts: RunOptions): Promise<RunResult> {
    checkCommand(cmd);
    const { timeoutMs, maxOutputBytes } = checkRunOptions(opts);
    if (this.#closed) throw new CollectError("closed", `Transport to ${this.target} is closed`);
    if ("script" in cmd && cmd.shell !== "powershell") {
      throw new CollectError("unsupported", `The WinRM transport runs PowerShell scripts only, not ${cmd.shell}`);
    }
    const [program, args] = "program" in cmd
      ? [quoteWindowsArg(cmd.program), cmd.args.map(quoteWindowsArg)]
      : ["powershell.exe", encodedPowerShellArgs(cmd.script)];
    const length = [program, ...args].join(" ").length;
    if (length > WINDOWS_MAX_COMMAND_LINE) {
      throw new RangeError(`Cannot run command on ${this.target} as its command line is ${length} characters, over Windows' limit of ${WINDOWS_MAX_COMMAND_LINE}`);
    }
    if (opts.signal?.aborted) throw abortedError(this.target);
    return await this.#limiter.run(() => this.#runInShell(program, args, timeoutMs, maxOutputBytes, opts.signal), opts.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#limiter.close();
    for (const ac of this.#running) ac.abort();
    this.#http.close();
  }

  async #runInShell(program: string, args: string[], timeoutMs: number, maxOutputBytes: number, signal?: AbortSignal): Promise<RunResult> {
    const started = this.#clock();
    const remaining = () => timeoutMs - (this.#clock() - started);
    // One controller per run: the caller's signal and close() both end the in-flight HTTP request.
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#running.add(ac);
    let shellId: string | undefined;
    let commandId: string | undefined;
    try {
      shellId = parseShellId(await this.#control(ACTION.create, createShellBody(), { options: CREATE_SHELL_OPTIONS }, remaining, ac.signal));
      commandId = parseCommandId(
        await this.#control(ACTION.command, commandBody(program, args), { shellId, options: COMMAND_OPTIONS }, remaining, ac.signal),
      );
      const output = new BoundedOutput(maxOutputBytes);
      let exitCode: number | undefined;
      for (let round = 0; exitCode === undefined; round++) {
        if (round >= MAX_RECEIVE_ROUNDS || remaining() <= 0) throw timeoutError(this.target, timeoutMs);
        const env = await this.#call(ACTION.receive, receiveBody(commandId), { shellId, options: RECEIVE_OPTIONS, receive: true }, remaining, ac.signal);
        if (env === "no_output_yet") continue;
        const chunk = parseReceive(env, commandId);
        for (const c of chunk.stdout) if (!output.push("stdout", c)) throw outputTooLargeError(this.target, maxOutputBytes);
        for (const c of chunk.stderr) if (!output.push("stderr", c)) throw outputTooLargeError(this.target, maxOutputBytes);
        if (chunk.done) {
          if (chunk.exitCode === undefined) throw new CollectError("protocol", `${this.target} reported the command done without an exit code`);
          exitCode = chunk.exitCode;
        }
      }
      const result: RunResult = {
        stdout: output.text("stdout"),
        stderr: output.text("stderr"),
        exitCode,
        durationMs: Math.round(this.#clock() - started),
      };
      await this.#cleanup(shellId, commandId);
      return result;
    } catch (err) {
      await this.#cleanup(shellId, commandId);
      if (ac.signal.aborted) {
        throw this.#closed ? new CollectError("closed", `Transport to ${this.target} was closed while the command ran`) : abortedError(this.target);
      }
      if (err instanceof CollectError && err.code === "timeout") throw timeoutError(this.target, timeoutMs);
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#running.delete(ac);
    }
  }

  /** Signal terminate (if a command started) and Delete the shell; failures are logged, never thrown. */
  async #cleanup(shellId: string | undefined, commandId: string | undefined): Promise<void> {
    if (shellId === undefined || this.#closed) return;
    const budget = () => CLEANUP_TIMEOUT_MS;
    const steps: [string, string, string][] = [];
    if (commandId !== undefined) steps.push(["signal", ACTION.signal, signalBody(commandId)]);
    steps.push(["delete", ACTION.delete, ""]);
    for (const [name, action, body] of steps) {
      try {
        await this.#control(action, body, { shellId }, budget);
      } catch (err) {
        this.#log({
          level: "warn",
          msg: `winrm ${name} during cleanup failed`,
          target: this.target,
          code: err instanceof CollectError ? err.code : "error",
        });
      }
    }
  }

  /** A request whose answer is never "no output yet" (anything but Receive). */
  async #control(
    action: string,
    body: string,
    h: { shellId?: string; options?: Readonly<Record<string, string>> },
    remaining: () => number,
    signal?: AbortSignal,
  ): Promise<ParsedEnvelope> {
    const env = await this.#call(action, body, h, remaining, signal);
    if (env === "no_output_yet") throw new CollectError("protocol", `${this.target} answered ${actionName(action)} with a Receive timeout`);
    return env;
  }

  /**
   * One request/answer. Checks HTTP status, content type, that the answer relates to this request and has the
   * expected action, and maps SOAP faults. A Receive's "no output yet" fault is returned as `no_output_yet`.
   */
  async #call(
    action: string,
    body: string,
    h: { shellId?: string; options?: Readonly<Record<string, string>>; receive?: boolean },
    remaining: () => number,
    signal?: AbortSignal,
  ): Promise<ParsedEnvelope | "no_output_yet"> {
    const left = remaining();
    if (left <= 0) throw new CollectError("timeout", `No time left for ${this.target}`);
    const maxOp = h.receive ? RECEIVE_OPERATION_TIMEOUT_S : CONTROL_OPERATION_TIMEOUT_S;
    const operationTimeoutS = Math.max(1, Math.min(maxOp, Math.floor(left / 1000)));
    const messageId = `uuid:${this.#uuid().toUpperCase()}`;
    const xml = envelope(
      { to: this.#url.href, action, messageId, operationTimeoutS, ...(h.shellId ? { shellId: h.shellId } : {}), ...(h.options ? { options: h.options } : {}) },
      body,
    );
    const answer: HttpAnswer = await this.#http.post(xml, Math.min(left, operationTimeoutS * 1000 + HTTP_SLACK_MS), signal);
    if (answer.status !== 200 && answer.status !== 500) {
      throw new CollectError("protocol", `${this.target} answered HTTP ${answer.status} to ${actionName(action)}`, { status: answer.status });
    }
    if (!/^application\/soap\+xml\b/i.test(answer.contentType)) {
      throw new CollectError("protocol", `${this.target} answered ${actionName(action)} with content type "${answer.contentType.slice(0, 80)}", not SOAP`);
    }
    const env = parseEnvelope(answer.body);
    if (env.relatesTo !== undefined && env.relatesTo !== messageId) {
      throw new CollectError("protocol", `${this.target} answered a different request than ${actionName(action)} (RelatesTo mismatch)`);
    }
    const fault = faultOf(env);
    if (fault) {
      if (h.receive && isOperationTimeout(fault)) return "no_output_yet";
      throw this.#faultError(fault, action);
    }
    if (answer.status !== 200) throw new CollectError("protocol", `${this.target} answered HTTP ${answer.status} without a SOAP fault`);
    if (env.relatesTo === undefined) throw new CollectError("protocol", `${this.target} answered ${actionName(action)} without RelatesTo`);
    if (env.action !== `${action}Response`) {
      throw new CollectError("protocol", `${this.target} answered ${actionName(action)} with action ${env.action.slice(0, 120)}`);
    }
    return env;
  }

  #faultError(f: SoapFault, action: string): CollectError {
    const details = { subcode: f.subcode, ...(f.wsmanCode ? { wsmanCode: f.wsmanCode } : {}) };
    if (/(^|:)AccessDenied$/.test(f.subcode) || f.wsmanCode === "5") {
      return new CollectError("auth_failed", `${this.target} denied access to ${actionName(action)}: ${f.reason || "access is denied"}`, details);
    }
    return new CollectError(
      "remote_fault",
      `${this.target} answered ${actionName(action)} with fault ${f.subcode || f.code}${f.wsmanCode ? ` (${f.wsmanCode})` : ""}: ${f.reason}`,
      details,
    );
  }
}

function actionName(action: string): string {
  return action.slice(action.lastIndexOf("/") + 1);
}
