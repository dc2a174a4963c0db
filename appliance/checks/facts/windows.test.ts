/**
 * The Windows gatherer. No Windows host is reachable here: the transport below is a stand-in that returns what
 * powershell.exe prints for our wrapper around the reconstructed fixture (fixtures/facts/windows-pass.json),
 * and records the command it was sent.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { CollectError } from "../../collect/errors.ts";
import { wrapPowerShellJson } from "../../collect/powershell-json.ts";
import type { Command, RunOptions, RunResult, Transport } from "../../collect/transport.ts";
import { encodedPowerShellArgs, WINDOWS_MAX_COMMAND_LINE } from "../../collect/winrm.ts";
import type { TargetRef } from "../../engine/types.ts";
import { createWindowsGatherer, isPublicIpv4, WINDOWS_SCRIPT } from "./windows.ts";

const target: TargetRef = { id: "ws-1", name: "WS-1", platform: "windows", collector: "winrm", simulated: false };
const fixture = JSON.parse(readFileSync(new URL("../../../fixtures/facts/windows-pass.json", import.meta.url), "utf8")) as { output: Record<string, unknown> };

/** Stand-in for a WinRM transport: answers every command with `stdout`, and keeps what it was asked to run. */
function standIn(stdout: string, exitCode = 0): Transport & { sent: Command[] } {
  const sent: Command[] = [];
  return {
    kind: "winrm",
    target: "winrm https://ws-1:5986",
    sent,
    async run(cmd: Command, _opts: RunOptions): Promise<RunResult> {
      sent.push(cmd);
      return { stdout, stderr: "", exitCode, durationMs: 5 };
    },
    async close() {},
  };
}

test("the wrapped, encoded scan script fits Windows' command-line limit with room to spare", () => {
  const line = ["powershell.exe", ...encodedPowerShellArgs(wrapPowerShellJson(WINDOWS_SCRIPT))].join(" ");
  assert.ok(line.length < WINDOWS_MAX_COMMAND_LINE * 0.6, `${line.length} characters`);
});

test("the gatherer runs the scan script once as PowerShell and measures clock offset at the round-trip midpoint", async () => {
  let t = 1_000_000;
  const clock = { now: () => (t += 1_000) };
  const hostNow = 1_001_500 + 2_000; // host is 2 s ahead of the midpoint (1 001 500)
  const transport = standIn(`<OSIRIS-JSON>${JSON.stringify({ ...fixture.output, now_ms: hostNow })}</OSIRIS-JSON>`);
  const { facts } = await createWindowsGatherer(transport, { clock })(target, { timeoutMs: 30_000 });
  assert.is(transport.sent.length, 1);
  assert.ok("script" in transport.sent[0]! && transport.sent[0].shell === "powershell" && transport.sent[0].script.includes("Get-MpComputerStatus"));
  assert.is((facts["time"] as Record<string, unknown>)["offset_ms_abs"], 2_000);
  assert.is((facts["firewall"] as Record<string, unknown>)["public_enabled"], true);
});

test("a script that threw is a command_failed CollectError with PowerShell's message", async () => {
  const transport = standIn("<OSIRIS-ERROR>Access is denied.</OSIRIS-ERROR>", 1);
  try {
    await createWindowsGatherer(transport, { clock: { now: () => 0 } })(target, { timeoutMs: 30_000 });
    assert.unreachable("accepted a failed script");
  } catch (err) {
    assert.ok(err instanceof CollectError && err.code === "command_failed");
    assert.match((err as Error).message, /Access is denied/);
  }
});

test("output of another program is a protocol error, not facts", async () => {
  const transport = standIn(`<OSIRIS-JSON>${JSON.stringify({ schema: "something-else" })}</OSIRIS-JSON>`);
  try {
    await createWindowsGatherer(transport, { clock: { now: () => 0 } })(target, { timeoutMs: 30_000 });
    assert.unreachable("accepted foreign JSON");
  } catch (err) {
    assert.ok(err instanceof CollectError && err.code === "protocol");
    assert.match((err as Error).message, /schema is "something-else"/);
  }
});

test("Defender missing (Get-MpComputerStatus threw) reports the Defender facts as null, as the catalogue says", async () => {
  const { defender: _d, ...rest } = fixture.output;
  const transport = standIn(`<OSIRIS-JSON>${JSON.stringify({ ...rest, errors: { defender: "Invalid class" } })}</OSIRIS-JSON>`);
  const { facts } = await createWindowsGatherer(transport, { clock: { now: () => Number(rest["now_ms"]) } })(target, { timeoutMs: 30_000 });
  assert.equal(facts["defender"], { running_mode: null, realtime_enabled: null, antivirus_enabled: null, signature_age_days: null, exclusions: [] });
});

test("public DNS servers exclude private, loopback, link-local and malformed addresses", () => {
  for (const a of ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.1.1", "0.0.0.0", "300.1.1.1", "fe80::1"]) assert.is(isPublicIpv4(a), false, a);
  for (const a of ["1.1.1.1", "172.32.0.1", "8.8.8.8", "203.0.113.53"]) assert.is(isPublicIpv4(a), true, a);
});

test.run();
