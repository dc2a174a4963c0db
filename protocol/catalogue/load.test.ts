import { test } from "uvu";
import * as assert from "uvu/assert";
import { ValidationError } from "../errors.ts";
import { loadCatalogue, type RawCatalogue } from "./load.ts";
import { rawCatalogue } from "./mod.ts";

type Entry = Record<string, unknown>;

/** A fresh copy of the shipped data, to break on purpose. */
function copy(): { [K in keyof RawCatalogue]: Entry[] } {
  return rawCatalogue() as { [K in keyof RawCatalogue]: Entry[] };
}

function find(list: Entry[], key: string, id: string): Entry {
  const e = list.find((x) => x[key] === id);
  if (!e) throw new Error(`no ${id} in the test data`);
  return e;
}

/** Loads `raw` expecting failure; returns the error message. */
function rejects(raw: RawCatalogue): string {
  try {
    loadCatalogue(raw, "test");
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.is((e as ValidationError).code, "schema");
    return (e as Error).message;
  }
  throw new Error("loadCatalogue accepted broken data");
}

test("loadCatalogue() accepts the shipped data", () => {
  assert.is(loadCatalogue(copy(), "test").version, "test");
});

test("loadCatalogue() rejects a duplicate check id, naming it", () => {
  const raw = copy();
  raw.checks.push(structuredClone(find(raw.checks, "id", "linux.time_sync")));
  assert.match(rejects(raw), /checks \(linux\.time_sync\): duplicate id/);
});

test("loadCatalogue() rejects duplicate runbook, rule, order type and control ids", () => {
  const raw = copy();
  raw.runbooks.push(structuredClone(find(raw.runbooks, "id", "linux.enable_time_sync")));
  raw.order_types.push(structuredClone(find(raw.order_types, "type", "force_scan")));
  raw.controls.push(structuredClone(find(raw.controls, "id", "164.312(b)")));
  const msg = rejects(raw);
  assert.match(msg, /runbooks \(linux\.enable_time_sync\): duplicate id/);
  assert.match(msg, /order_types \(force_scan\): duplicate id/);
  assert.match(msg, /controls \(hipaa:164\.312\(b\)\): duplicate id/);
});

test("loadCatalogue() rejects a remediation naming an unknown runbook", () => {
  const raw = copy();
  find(raw.checks, "id", "windows.screen_lock").remediation = "windows.no_such_runbook";
  assert.match(rejects(raw), /checks \(windows\.screen_lock\): remediation: unknown runbook windows\.no_such_runbook/);
});

test("loadCatalogue() rejects a citation not in CFR form, naming the entry and field", () => {
  const raw = copy();
  (find(raw.checks, "id", "linux.audit_logging").controls as { hipaa: string[] }).hipaa[0] = "164.312.b";
  const msg = rejects(raw);
  assert.match(msg, /checks\[\d+\] \(linux\.audit_logging\): controls\.hipaa\[0\]: expected a HIPAA citation like 164\.312\(b\) \(got "164\.312\.b"\)/);
});

test("loadCatalogue() rejects a citation missing from the controls table", () => {
  const raw = copy();
  (find(raw.checks, "id", "linux.audit_logging").controls as { soc2: string[] }).soc2.push("CC9.9");
  assert.match(rejects(raw), /checks \(linux\.audit_logging\): controls\.soc2: CC9\.9 is not in the controls table/);
});

test("loadCatalogue() rejects a check without a HIPAA mapping", () => {
  const raw = copy();
  (find(raw.checks, "id", "macos.gatekeeper").controls as { hipaa: string[] }).hipaa = [];
  assert.match(rejects(raw), /\(macos\.gatekeeper\): controls\.hipaa: every check maps to at least one HIPAA citation/);
});

test("loadCatalogue() rejects a rule whose runbook addresses another check", () => {
  const raw = copy();
  find(raw.rules, "id", "builtin.windows.smb_signing").runbook = "windows.disable_smb1";
  const msg = rejects(raw);
  assert.match(msg, /rules \(builtin\.windows\.smb_signing\): runbook: windows\.disable_smb1 addresses windows\.smb1_disabled on windows, not windows\.smb_signing on windows/);
});

test("loadCatalogue() rejects a rule naming an unknown runbook or a check on another platform", () => {
  const raw = copy();
  find(raw.rules, "id", "builtin.linux.time_sync").runbook = "linux.nope";
  find(raw.rules, "id", "builtin.windows.time_sync").platform = "linux";
  const msg = rejects(raw);
  assert.match(msg, /rules \(builtin\.linux\.time_sync\): runbook: unknown runbook linux\.nope/);
  assert.match(msg, /rules \(builtin\.windows\.time_sync\): platform: windows\.time_sync runs on windows, the rule says linux/);
});

test("loadCatalogue() checks rule conditions against the check's facts and their types", () => {
  const raw = copy();
  find(raw.rules, "id", "builtin.appliance.backup_freshness").conditions = [
    { fact: "backup.repository_reachable", op: "gt", value: 1 },
    { fact: "disk.max_used_percent", op: "lt", value: 99 },
  ];
  const msg = rejects(raw);
  assert.match(msg, /rules \(builtin\.appliance\.backup_freshness\): conditions: backup\.repository_reachable gt: backup\.repository_reachable is a boolean, ordering needs a number/);
  assert.match(msg, /condition reads disk\.max_used_percent, which is not in the check's facts/);
});

test("loadCatalogue() requires one built-in rule per auto-fixable check", () => {
  const raw = copy();
  raw.rules = raw.rules.filter((r) => r.id !== "builtin.appliance.av_service");
  assert.match(rejects(raw), /checks \(appliance\.av_service\): has a remediation, so needs exactly one built-in rule; found 0/);
});

test("loadCatalogue() refuses to auto-fix an encryption check", () => {
  const raw = copy();
  find(raw.checks, "id", "windows.bitlocker").remediation = "windows.enable_firewall_profiles";
  assert.match(rejects(raw), /checks \(windows\.bitlocker\): remediation: encryption is never auto-fixed/);
});

test("loadCatalogue() rejects unknown step actions, bad step params and dangling $param references", () => {
  const raw = copy();
  const steps = find(raw.runbooks, "id", "linux.disk_cleanup").steps as Entry[];
  steps[1]!.action = "shell.run";
  const restart = find(raw.runbooks, "id", "appliance.restart_logging").steps as Entry[];
  restart[0]!.params = { unit: "journald; rm -rf /" };
  const lock = find(raw.runbooks, "id", "windows.set_screen_lock").steps as Entry[];
  lock[1]!.params = { script: "screenlock.set_timeout", timeout_s: { $param: "minutes" } };
  const msg = rejects(raw);
  assert.match(msg, /runbooks \(linux\.disk_cleanup\): step clean_cache: action 'shell\.run' is not a linux step action/);
  assert.match(msg, /runbooks \(appliance\.restart_logging\): step journald \(systemd\.restart\): 'unit' must match/);
  assert.match(msg, /runbooks \(windows\.set_screen_lock\): step set: params\.timeout_s refers to \$param minutes, which is not in the runbook's params_schema/);
});

test("loadCatalogue() rejects a PowerShell step naming a script that does not exist", () => {
  const raw = copy();
  (find(raw.runbooks, "id", "windows.disable_smb1").steps as Entry[])[1]!.params = { script: "Invoke-Expression" };
  assert.match(rejects(raw), /runbooks \(windows\.disable_smb1\): step disable: powershell\.script needs 'script' naming one of/);
});

test("loadCatalogue() checks conditions: listed facts, parameters and operators that fit the fact type", () => {
  const raw = copy();
  const ev = find(raw.checks, "id", "linux.time_sync").evaluation as { pass_when: Entry[] };
  ev.pass_when.push({ fact: "disk.max_used_percent", op: "lte", value: 90 });
  ev.pass_when.push({ fact: "time.synchronized", op: "gt", value: 1 });
  ev.pass_when.push({ fact: "time.synchronized", op: "eq", value_param: "nope" });
  const msg = rejects(raw);
  assert.match(msg, /checks \(linux\.time_sync\): evaluation\.pass_when: condition reads disk\.max_used_percent, which is not in the check's facts/);
  assert.match(msg, /time\.synchronized gt: time\.synchronized is a boolean, ordering needs a number/);
  assert.match(msg, /parameter nope is not in params_schema/);
});

test("loadCatalogue() rejects a check reading an undocumented fact, and a documented fact nobody reads", () => {
  const raw = copy();
  (find(raw.checks, "id", "macos.sip").facts as string[]).push("sip.mystery");
  raw.facts.push({ platform: "macos", name: "unused.thing", type: "boolean", nullable: false, description: "nobody reads this", source: "nowhere at all" });
  const msg = rejects(raw);
  assert.match(msg, /checks \(macos\.sip\): fact sip\.mystery is not documented for platform macos/);
  assert.match(msg, /facts \(macos:unused\.thing\): documented but no check reads it/);
});

test("loadCatalogue() reports schema problems with the entry index, id, field and the value seen", () => {
  const raw = copy();
  find(raw.checks, "id", "linux.disk_space").severity = "catastrophic";
  const rb = find(raw.runbooks, "id", "linux.disk_cleanup");
  delete rb.timeout_s;
  const msg = rejects(raw);
  assert.match(msg, /checks\[\d+\] \(linux\.disk_space\): severity: .*\(got "catastrophic"\)/);
  assert.match(msg, /runbooks\[\d+\] \(linux\.disk_cleanup\): timeout_s: .*\(got nothing\)/);
});

test("loadCatalogue() lists every problem in details and caps the message", () => {
  const raw = copy();
  for (const c of raw.checks) c.severity = "nope";
  try {
    loadCatalogue(raw, "test");
    assert.unreachable();
  } catch (e) {
    const err = e as ValidationError;
    const problems = (err.details as { problems: string[] }).problems;
    assert.is(problems.length, raw.checks.length);
    assert.match(err.message, new RegExp(`Catalogue test is invalid \\(${raw.checks.length} problems\\)`));
    assert.match(err.message, /… and \d+ more/);
  }
});

test.run();
