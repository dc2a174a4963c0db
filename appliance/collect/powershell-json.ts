/**
 * PowerShell that returns JSON: the way Windows checks collect facts.
 *
 * `wrapPowerShellJson(script)` runs the script inside a script block with `$ErrorActionPreference = 'Stop'`,
 * serialises what it outputs with `ConvertTo-Json -Compress -Depth 5`, and writes it between markers:
 * `<OSIRIS-JSON>…</OSIRIS-JSON>`, or `<OSIRIS-ERROR>message</OSIRIS-ERROR>` and exit 1 when the script
 * throws. Markers make the result unambiguous even when the script also prints (Write-Host goes to stdout
 * in a non-interactive powershell.exe).
 *
 * `parsePowerShellJson(result)` turns a run's output into a value or a clear error: `command_failed` (the
 * script threw; its message), `output_too_large` (JSON over the cap), `protocol` (no markers, garbage, invalid
 * JSON — with the exit code and the first line of PowerShell's error stream, decoded from CLIXML).
 *
 * PowerShell semantics to know when writing a script: one output object is returned as that object, several
 * as an array (return `,@(...)` to force an array); nesting deeper than 5 levels is flattened to strings by
 * ConvertTo-Json; the script runs inside a script block, so `using` statements are not available.
 */

import { XMLParser } from "fast-xml-parser";
import { CollectError } from "./errors.ts";
import type { RunOptions, RunResult, Transport } from "./transport.ts";

/** Facts from one check script are a few KiB; 1 MiB of JSON means something is wrong. */
export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;
/** Room on top of the JSON cap for markers, stray prints and stderr. */
const OUTPUT_OVERHEAD_BYTES = 64 * 1024;
/** Error texts are for an operator's eyes: one sentence, not a dump. */
const MAX_MESSAGE_CHARS = 300;

const OK_OPEN = "<OSIRIS-JSON>";
const OK_CLOSE = "</OSIRIS-JSON>";
const ERR_OPEN = "<OSIRIS-ERROR>";
const ERR_CLOSE = "</OSIRIS-ERROR>";

/** The script wrapped to print its output as compact JSON between markers (see the header). */
export function wrapPowerShellJson(script: string): string {
  // The script goes in verbatim on its own lines, not indented, so its here-strings keep working.
  return [
    "$ErrorActionPreference = 'Stop'",
    "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }",
    "try {",
    "$osirisValue = & {",
    script,
    "}",
    "$osirisJson = ConvertTo-Json -InputObject $osirisValue -Compress -Depth 5",
    `[Console]::Out.Write('${OK_OPEN}' + $osirisJson + '${OK_CLOSE}')`,
    "} catch {",
    `[Console]::Out.Write('${ERR_OPEN}' + ($_.Exception.Message -replace '[\\r\\n]+', ' ') + '${ERR_CLOSE}')`,
    "exit 1",
    "}",
  ].join("\n");
}

/** Runs `script` on `transport` through the wrapper and returns the parsed value. */
export async function runPowerShellJson(
  transport: Transport,
  script: string,
  opts: RunOptions & { readonly maxJsonBytes?: number },
): Promise<unknown> {
  const maxJsonBytes = opts.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  const result = await transport.run(
    { script: wrapPowerShellJson(script), shell: "powershell" },
    { timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes ?? maxJsonBytes + OUTPUT_OVERHEAD_BYTES, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  return parsePowerShellJson(result, transport.target, maxJsonBytes);
}

export function parsePowerShellJson(result: RunResult, target: string, maxJsonBytes: number = DEFAULT_MAX_JSON_BYTES): unknown {
  const out = result.stdout.replace(/^\uFEFF/, "");
  const errAt = out.lastIndexOf(ERR_OPEN);
  if (errAt >= 0) {
    const end = out.indexOf(ERR_CLOSE, errAt);
    const message = out.slice(errAt + ERR_OPEN.length, end < 0 ? undefined : end).trim().slice(0, MAX_MESSAGE_CHARS);
    throw new CollectError("command_failed", `PowerShell script on ${target} failed: ${message || "(no message)"}`, {
      exitCode: result.exitCode,
    });
  }
  const start = out.indexOf(OK_OPEN);
  const end = out.lastIndexOf(OK_CLOSE);
  if (start < 0 || end < start || result.exitCode !== 0) {
    const reason = firstErrorLine(result.stderr);
    throw new CollectError(
      "protocol",
      `PowerShell on ${target} returned no JSON result (exit code ${result.exitCode}, ${byteLength(out)} bytes of output)` +
        (reason ? `: ${reason}` : ""),
      { exitCode: result.exitCode },
    );
  }
  const json = out.slice(start + OK_OPEN.length, end);
  const size = byteLength(json);
  if (size > maxJsonBytes) {
    throw new CollectError("output_too_large", `PowerShell on ${target} returned ${size} bytes of JSON, over the limit of ${maxJsonBytes}`, {
      maxJsonBytes,
    });
  }
  try {
    return JSON.parse(json) as unknown;
  } catch {
    // JSON.parse's message quotes the input; output is not repeated into errors.
    throw new CollectError("protocol", `PowerShell on ${target} returned ${size} bytes that are not valid JSON`);
  }
}

/**
 * The first error line of a PowerShell error stream. Non-interactive powershell.exe writes error records as
 * CLIXML (`#< CLIXML` then `<Objs>` with `<S S="Error">` lines, `_x000D__x000A_` for newlines).
 */
export function firstErrorLine(stderr: string): string {
  let text = stderr;
  const marker = stderr.indexOf("#< CLIXML");
  if (marker >= 0) {
    const xml = stderr.slice(stderr.indexOf("<", marker + 2));
    try {
      const doc: unknown = new XMLParser({
        ignoreAttributes: false,
        attributeNamePrefix: "@",
        parseTagValue: false,
        trimValues: false,
        isArray: (name) => name === "S",
      }).parse(xml);
      const objs = typeof doc === "object" && doc !== null && "Objs" in doc ? doc.Objs : undefined;
      const lines = typeof objs === "object" && objs !== null && "S" in objs && Array.isArray(objs.S) ? objs.S : [];
      text = lines
        .filter((s: unknown) => typeof s === "object" && s !== null && "@S" in s && s["@S"] === "Error")
        .map((s: unknown) => (typeof s === "object" && s !== null && "#text" in s && typeof s["#text"] === "string" ? s["#text"] : ""))
        .join("")
        .replace(/_x([0-9A-Fa-f]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    } catch {
      text = "";
    }
  }
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  return line.slice(0, MAX_MESSAGE_CHARS);
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}
