import { test } from "uvu";
import * as assert from "uvu/assert";
import { CollectError } from "./errors.ts";
import { DEFAULT_MAX_JSON_BYTES, firstErrorLine, parsePowerShellJson, runPowerShellJson, wrapPowerShellJson } from "./powershell-json.ts";
import type { Command, RunOptions, RunResult, Transport } from "./transport.ts";

const result = (stdout: string, exitCode = 0, stderr = ""): RunResult => ({ stdout, stderr, exitCode, durationMs: 5 });

function throwsCode(fn: () => unknown, code: string, message?: RegExp): CollectError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CollectError);
    assert.is((err as CollectError).code, code);
    if (message) assert.match((err as CollectError).message, message);
    return err as CollectError;
  }
  throw new Error("expected a CollectError");
}

/** Real powershell.exe error output when a script fails before our wrapper can catch it (a parse error). */
const CLIXML_STDERR = "#< CLIXML\r\n" +
  '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">At line:5 char:14_x000D__x000A_</S>' +
  '<S S="Error">+ $x = @{ a = _x000D__x000A_</S><S S="Error">Missing statement block after &apos;=&apos;._x000D__x000A_</S></Objs>';

test("wrapPowerShellJson() embeds the script verbatim, unindented, and serialises its output with ConvertTo-Json -Compress -Depth 5", () => {
  const script = "$text = @'\nline\n'@\n$text";
  const wrapped = wrapPowerShellJson(script);
  assert.ok(wrapped.includes(`\n${script}\n`), "script embedded verbatim on its own lines (here-strings keep working)");
  assert.match(wrapped, /^\$ErrorActionPreference = 'Stop'/);
  assert.match(wrapped, /ConvertTo-Json -InputObject \$osirisValue -Compress -Depth 5/);
  assert.match(wrapped, /'<OSIRIS-JSON>' \+ \$osirisJson \+ '<\/OSIRIS-JSON>'/);
  assert.match(wrapped, /'<OSIRIS-ERROR>' \+ \(\$_\.Exception\.Message -replace '\[\\r\\n\]\+', ' '\) \+ '<\/OSIRIS-ERROR>'\)\nexit 1/);
});

test("parsePowerShellJson() returns the value between the markers, ignoring other output and a BOM", () => {
  assert.equal(parsePowerShellJson(result('\uFEFFhost chatter\r\n<OSIRIS-JSON>{"a":[1,true,null,"ü"]}</OSIRIS-JSON>'), "t"), { a: [1, true, null, "ü"] });
  assert.is(parsePowerShellJson(result("<OSIRIS-JSON>null</OSIRIS-JSON>"), "t"), null);
  assert.is(parsePowerShellJson(result('<OSIRIS-JSON>"\\u003cb\\u003e"</OSIRIS-JSON>'), "t"), "<b>");
});

test("parsePowerShellJson() turns the wrapper's error marker into command_failed with the script's message", () => {
  const err = throwsCode(
    () => parsePowerShellJson(result("<OSIRIS-ERROR>Cannot find path 'C:\\nope' because it does not exist.</OSIRIS-ERROR>", 1), "winrm x@h:5986"),
    "command_failed",
    /PowerShell script on winrm x@h:5986 failed: Cannot find path 'C:\\nope' because it does not exist\./,
  );
  assert.equal(err.details, { exitCode: 1 });
});

test("parsePowerShellJson() reports garbage, missing markers and non-zero exits as protocol errors with PowerShell's first error line", () => {
  throwsCode(() => parsePowerShellJson(result("<OSIRIS-JSON>{not json</OSIRIS-JSON>"), "t"), "protocol", /9 bytes that are not valid JSON$/);
  throwsCode(() => parsePowerShellJson(result("random text"), "t"), "protocol", /no JSON result \(exit code 0, 11 bytes of output\)$/);
  throwsCode(() => parsePowerShellJson(result("", 1, CLIXML_STDERR), "t"), "protocol", /no JSON result \(exit code 1, 0 bytes of output\): At line:5 char:14$/);
  throwsCode(() => parsePowerShellJson(result("<OSIRIS-JSON>1</OSIRIS-JSON>", 3), "t"), "protocol", /exit code 3/);
  const secretish = "<OSIRIS-JSON>{\"x\": SECRET-LOOKING-OUTPUT</OSIRIS-JSON>";
  const err = throwsCode(() => parsePowerShellJson(result(secretish), "t"), "protocol");
  assert.not.match(err.message, /SECRET-LOOKING-OUTPUT/, "output is never copied into the error");
});

test("parsePowerShellJson() refuses JSON over the cap with output_too_large", () => {
  const big = `<OSIRIS-JSON>"${"x".repeat(2_000)}"</OSIRIS-JSON>`;
  throwsCode(() => parsePowerShellJson(result(big), "t", 1_000), "output_too_large", /2002 bytes of JSON, over the limit of 1000/);
});

test("firstErrorLine() decodes CLIXML error records and passes plain text through", () => {
  assert.is(firstErrorLine(CLIXML_STDERR), "At line:5 char:14");
  assert.is(firstErrorLine("\n  plain failure \nsecond"), "plain failure");
  assert.is(firstErrorLine("#< CLIXML\r\n<Objs><broken"), "");
});

test("runPowerShellJson() runs the wrapped script as PowerShell with an output cap derived from the JSON cap", async () => {
  const seen: { cmd: Command; opts: RunOptions }[] = [];
  const fake: Transport = {
    kind: "lab",
    target: "lab host",
    run: async (cmd, opts) => {
      seen.push({ cmd, opts });
      return result('<OSIRIS-JSON>{"ok":true}</OSIRIS-JSON>');
    },
    close: async () => {},
  };
  assert.equal(await runPowerShellJson(fake, "Get-Thing", { timeoutMs: 9_000 }), { ok: true });
  const first = seen[0];
  assert.ok(first && "script" in first.cmd && first.cmd.shell === "powershell");
  assert.ok(first && "script" in first.cmd && first.cmd.script === wrapPowerShellJson("Get-Thing"));
  assert.is(first?.opts.timeoutMs, 9_000);
  assert.ok((first?.opts.maxOutputBytes ?? 0) > DEFAULT_MAX_JSON_BYTES);
});

test.run();
