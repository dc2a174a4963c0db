/**
 * The WinRM StepRunner. No Windows host is reachable here: the transport is a stand-in that records the
 * PowerShell it is sent and answers as powershell.exe would through our JSON wrapper.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { catalogue } from "../../../protocol/catalogue/mod.ts";
import { WINDOWS_SCRIPTS } from "../../../protocol/catalogue/actions.ts";
import type { Json } from "../../../protocol/catalogue/schema.ts";
import type { Command, Transport } from "../../collect/transport.ts";
import { encodedPowerShellArgs, WINDOWS_MAX_COMMAND_LINE } from "../../collect/winrm.ts";
import { wrapPowerShellJson } from "../../collect/powershell-json.ts";
import type { TargetRef } from "../../engine/types.ts";
import { WINDOWS_SCRIPT_BODIES, WINDOWS_SERVICE_ACTIONS } from "./winrm-actions.ts";
import { createWinrmStepRunner, windowsStepScript } from "./winrm-runner.ts";

const ws: TargetRef = { id: "ws-1", name: "WS-1", platform: "windows", collector: "winrm", simulated: false };

function standIn(stdout: string, exitCode = 0): Transport & { sent: Command[] } {
  const sent: Command[] = [];
  return { kind: "winrm", target: "winrm https://ws-1:5986", sent, async run(cmd) { sent.push(cmd); return { stdout, stderr: "", exitCode, durationMs: 3 }; }, async close() {} };
}
const answer = (v: unknown) => `<OSIRIS-JSON>${JSON.stringify(v)}</OSIRIS-JSON>`;

test("every Windows action and script of the catalogue has PowerShell, and every one fits the command line", () => {
  for (const rb of catalogue.listRunbooks().filter((r) => r.platform === "windows")) {
    for (const s of [...rb.steps, ...rb.rollback]) {
      if (s.action === "powershell.script") assert.ok(WINDOWS_SCRIPT_BODIES[String(s.params["script"])], `${rb.id}: ${String(s.params["script"])}`);
      else assert.ok(WINDOWS_SERVICE_ACTIONS[s.action], `${rb.id}: ${s.action}`);
    }
  }
  for (const id of Object.keys(WINDOWS_SCRIPTS)) {
    const params: Record<string, Json> = id === "screenlock.set_timeout" ? { script: id, timeout_s: 600 } : { script: id };
    const line = ["powershell.exe", ...encodedPowerShellArgs(wrapPowerShellJson(windowsStepScript({ action: "powershell.script", params })))].join(" ");
    assert.ok(line.length < WINDOWS_MAX_COMMAND_LINE, `${id}: ${line.length}`);
  }
});

test("parameters reach the script only as a base64 JSON document decoded into $P", async () => {
  const t = standIn(answer({ ok: true, detail: "machine inactivity limit set to 600 s" }));
  const out = await createWinrmStepRunner({ transportFor: () => t }).runStep(ws, { action: "powershell.script", params: { script: "screenlock.set_timeout", timeout_s: 600 }, timeoutMs: 30_000 });
  assert.equal(out, { ok: true, detail: "machine inactivity limit set to 600 s" });
  const cmd = t.sent[0]!;
  assert.ok("script" in cmd && cmd.shell === "powershell");
  const b64 = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(cmd.script)?.[1];
  assert.ok(b64, "the parameter document is base64");
  assert.equal(JSON.parse(Buffer.from(b64, "base64").toString("utf8")), { script: "screenlock.set_timeout", timeout_s: 600 });
  assert.ok(cmd.script.includes(WINDOWS_SCRIPT_BODIES["screenlock.set_timeout"]!));
});

test("invalid parameters and unknown scripts are refused before anything is sent", async () => {
  const t = standIn(answer({ ok: true, detail: "x" }));
  const r = createWinrmStepRunner({ transportFor: () => t });
  const bad: Record<string, Json>[] = [{ script: "screenlock.set_timeout", timeout_s: 5 }, { script: "format.c_drive" }, { script: "firewall.enable_all_profiles", extra: "'; Remove-Item C:\\ -Recurse #" }];
  for (const params of bad) {
    const out = await r.runStep(ws, { action: "powershell.script", params, timeoutMs: 1000 });
    assert.is(out.ok, false);
    assert.match(out.detail, /^refused: /);
  }
  const svc = await r.runStep(ws, { action: "windows.service_stop", params: { service: "LanmanServer" }, timeoutMs: 1000 });
  assert.is(svc.ok, false);
  assert.is(t.sent.length, 0);
});

test("a script that reports failure, throws, or answers nonsense is ok:false with the reason", async () => {
  const run = async (stdout: string, exit = 0) => createWinrmStepRunner({ transportFor: () => standIn(stdout, exit) }).runStep(ws, { action: "powershell.script", params: { script: "smb.restore_snapshot" }, timeoutMs: 1000 });
  assert.equal(await run(answer({ ok: false, detail: "still off" })), { ok: false, detail: "powershell.script failed: still off" });
  const thrown = await run("<OSIRIS-ERROR>no smb snapshot was taken on this host; nothing to restore</OSIRIS-ERROR>", 1);
  assert.is(thrown.ok, false);
  assert.match(thrown.detail, /command_failed: .*no smb snapshot was taken/);
  assert.equal(await run(answer("yes")), { ok: false, detail: "powershell.script answered without {ok, detail}" });
});

test("simulated or non-Windows targets are refused", async () => {
  const t = standIn(answer({ ok: true, detail: "x" }));
  const out = await createWinrmStepRunner({ transportFor: () => t }).runStep({ ...ws, simulated: true, collector: "lab" }, { action: "windows.service_restart", params: { service: "W32Time" }, timeoutMs: 1000 });
  assert.is(out.ok, false);
  assert.is(t.sent.length, 0);
});

test.run();
