/** The macOS gatherer's script and parser (fixtures are reconstructed: no Mac is reachable here). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { macosScript, parseMacosDoc } from "./macos.ts";

type Probe = { rc: number; size: number; out: string };
const pass = (JSON.parse(readFileSync(new URL("../../../fixtures/facts/macos-pass.json", import.meta.url), "utf8")) as { output: Record<string, Probe> }).output;
const p = (out: string, rc = 0): Probe => ({ rc, size: out.length, out });
const facts = (edit: Record<string, Probe | undefined>) => {
  const doc: Record<string, unknown> = { ...pass, ...edit };
  for (const [k, v] of Object.entries(edit)) if (v === undefined) delete doc[k];
  return parseMacosDoc(doc, "mac-1");
};

test("the macOS script is valid POSIX sh", () => {
  execFileSync("dash", ["-n"], { input: macosScript() });
});

test("the screen locks at the sooner of the screen saver and display sleep; 0 means never", () => {
  assert.is((facts({ idle: p("1200"), displaysleep: p("10") }).facts["screenlock"] as Record<string, unknown>)["idle_s"], 600);
  assert.is((facts({ idle: p("0"), displaysleep: p("5") }).facts["screenlock"] as Record<string, unknown>)["idle_s"], 300);
  assert.is((facts({ idle: p("0"), displaysleep: p("0") }).facts["screenlock"] as Record<string, unknown>)["idle_s"], null);
});

test("a managed (MDM) preference takes precedence over the local one", () => {
  assert.is((facts({ idle_managed: p("300"), idle: p("1800") }).facts["screenlock"] as Record<string, unknown>)["idle_s"], 300);
  assert.is((facts({ su_check_managed: p("0") }).facts["autoupdate"] as Record<string, unknown>)["enabled"], false);
});

test("a password delay in seconds is read; an unreadable screen-lock status leaves the fact unavailable", () => {
  assert.is((facts({ screenlock: p("screenLock delay is 5 seconds") }).facts["screenlock"] as Record<string, unknown>)["password_delay_s"], 5);
  const g = facts({ screenlock: p("no console user", 2) });
  assert.match(g.unavailable["screenlock.password_delay_s"] ?? "", /screenlock exited 2: no console user/);
});

test.run();
