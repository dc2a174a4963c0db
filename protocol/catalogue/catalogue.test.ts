import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  builtinRules,
  catalogue,
  CATALOGUE_VERSION,
  CATEGORIES,
  CATEGORY_WEIGHTS,
  checkParams,
  CITATION_PATTERNS,
  controlKeysFor,
  controlsFor,
  FRAMEWORKS,
  getCheck,
  getControl,
  getOrderType,
  getRunbook,
  listChecks,
  listFacts,
  listOrderTypes,
  PLATFORMS,
  runbooksFor,
  validateOrderParams,
  validateParams,
  type Json,
  type Rule,
} from "./mod.ts";
import { selectRule } from "../rules.ts";

test("the shipped catalogue loads with at least 45 checks across appliance, Linux and Windows", () => {
  assert.type(CATALOGUE_VERSION, "string");
  assert.ok(listChecks().length >= 45, `only ${listChecks().length} checks`);
  for (const p of ["appliance", "linux", "windows"] as const) assert.ok(listChecks({ platform: p }).length >= 10, `${p} has too few checks`);
});

test("every check listed in issue 3 is in the catalogue", () => {
  const required = [
    // appliance (NixOS) self-checks
    "appliance.nixos_generation_age", "appliance.nixos_pinned_system", "appliance.av_service", "appliance.av_binary_integrity",
    "appliance.backup_freshness", "appliance.restore_test_age", "appliance.logging_services", "appliance.journal_canary",
    "appliance.firewall_baseline", "appliance.luks_volumes", "appliance.time_sync", "appliance.disk_space",
    // Linux hosts
    "linux.firewall_active", "linux.sshd_root_login", "linux.sshd_password_auth", "linux.failed_services", "linux.disk_space",
    "linux.audit_logging", "linux.time_sync", "linux.kernel_network_params", "linux.unattended_upgrades",
    "linux.account_file_permissions", "linux.cert_expiry", "linux.backup_status", "linux.disk_encryption",
    // Windows hosts
    "windows.firewall_profiles", "windows.defender_realtime", "windows.defender_signatures", "windows.defender_exclusions",
    "windows.update_service", "windows.patch_age", "windows.event_log_service", "windows.audit_policy", "windows.bitlocker",
    "windows.smb1_disabled", "windows.smb_signing", "windows.screen_lock", "windows.local_admins", "windows.guest_account",
    "windows.rdp_nla", "windows.password_policy", "windows.lockout_policy", "windows.dns_servers",
    // site-level "many hosts unreachable"
    "network.host_reachability",
  ];
  for (const id of required) assert.is(getCheck(id).id, id);
});

test("every rule's runbook addresses the rule's check on the rule's platform", () => {
  const rules = builtinRules();
  assert.ok(rules.length > 0);
  for (const rule of rules) {
    const rb = getRunbook(rule.runbook);
    assert.is(rb.check, rule.check, `${rule.id} → ${rb.id} fixes ${rb.check}`);
    assert.is(rb.platform, rule.platform, `${rule.id} → ${rb.id} runs on ${rb.platform}`);
    assert.is(getCheck(rule.check).platform, rule.platform, rule.id);
    assert.is(rule.source, "builtin");
  }
});

test("there is exactly one built-in rule per auto-fixable check, naming its remediation", () => {
  const fixable = listChecks().filter((c) => c.remediation !== null);
  assert.is(builtinRules().length, fixable.length);
  for (const c of fixable) {
    const rules = builtinRules().filter((r) => r.check === c.id);
    assert.is(rules.length, 1, c.id);
    assert.is(rules[0]?.runbook, c.remediation);
  }
});

/** Facts that satisfy a rule's (literal) conditions. */
function factsFor(rule: Rule): Record<string, Json> {
  const facts: Record<string, Json> = {};
  for (const c of rule.conditions) {
    const value: Json = c.op === "exists" ? "present" : c.op === "in" && Array.isArray(c.value) ? (c.value[0] ?? null) : c.value;
    const path = c.fact.split(".");
    let node: Record<string, Json> = facts;
    for (const seg of path.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, Json>;
    node[path.at(-1)!] = value;
  }
  return facts;
}

test("every auto-fix runbook is reachable: a failing check selects its remediation through the built-in rules", () => {
  for (const check of listChecks().filter((c) => c.remediation !== null)) {
    const rule = builtinRules().find((r) => r.check === check.id)!;
    const chosen = selectRule(builtinRules(), { check: check.id, platform: check.platform, facts: factsFor(rule) });
    assert.is(chosen?.runbook, check.remediation, check.id);
  }
});

test("every runbook is the remediation of its check, and runbooksFor finds it", () => {
  for (const rb of catalogue.listRunbooks()) {
    assert.is(getCheck(rb.check).remediation, rb.id, rb.id);
    assert.ok(runbooksFor(rb.check, rb.platform).includes(rb), rb.id);
    assert.is(rb.verify, "recheck");
  }
});

test("encryption checks are never auto-fixed: no remediation, no runbook, no rule", () => {
  const enc = listChecks({ category: "encryption" });
  assert.ok(enc.length >= 4);
  for (const c of enc) {
    assert.is(c.remediation, null, c.id);
    assert.is(runbooksFor(c.id, c.platform).length, 0, c.id);
    assert.not.ok(builtinRules().some((r) => r.check === c.id), c.id);
  }
  for (const id of ["appliance.luks_volumes", "linux.disk_encryption", "windows.bitlocker", "macos.filevault"]) assert.is(getCheck(id).category, "encryption");
});

test("every check maps to HIPAA, and every citation it makes is in the controls table", () => {
  for (const c of listChecks()) {
    assert.ok(c.controls.hipaa.length > 0, `${c.id} has no HIPAA mapping`);
    for (const fw of FRAMEWORKS) for (const id of c.controls[fw]) assert.is(getControl(fw, id).id, id);
  }
  assert.ok(listChecks().filter((c) => c.controls.soc2.length > 0).length >= 45, "SOC 2 mapped where it applies");
  assert.ok(listChecks().filter((c) => c.controls.glba.length > 0).length >= 30, "GLBA mapped where it applies");
});

test("the controls table holds the citations used, each cited by some check, with the right safeguard", () => {
  const required = ["164.308(a)(1)(ii)(D)", "164.308(a)(5)(ii)(B)", "164.308(a)(7)(ii)(A)", "164.310(d)(1)", "164.312(a)(1)", "164.312(a)(2)(iv)", "164.312(b)", "164.312(c)(1)", "164.312(d)", "164.312(e)(1)"];
  for (const id of required) assert.is(getControl("hipaa", id).framework, "hipaa");
  for (const ctl of catalogue.listControls()) {
    assert.ok(catalogue.checksForControl(ctl.framework, ctl.id).length > 0, `${ctl.framework}:${ctl.id} is cited by no check`);
    if (ctl.framework === "hipaa") {
      const section = ctl.id.slice(0, 7);
      assert.is(ctl.safeguard, { "164.308": "administrative", "164.310": "physical", "164.312": "technical" }[section]);
    }
  }
});

test("citation patterns accept CFR forms and reject look-alikes", () => {
  for (const ok of ["164.312(b)", "164.308(a)(1)(ii)(D)", "164.312(a)(2)(iv)", "164.310(d)(2)(iv)", "164.308(a)(8)"]) assert.ok(CITATION_PATTERNS.hipaa.test(ok), ok);
  for (const bad of ["164.312.b", "164.312(B)", "164.312(a)(2)(iv", "45 CFR 164.312(b)", "164.400(a)", "164.312(a)(2)(ii)(d)"]) assert.not.ok(CITATION_PATTERNS.hipaa.test(bad), bad);
  for (const ok of ["CC6.1", "CC7.2", "A1.2"]) assert.ok(CITATION_PATTERNS.soc2.test(ok), ok);
  for (const bad of ["CC6", "cc6.1", "CC6.1.1"]) assert.not.ok(CITATION_PATTERNS.soc2.test(bad), bad);
  for (const ok of ["314.4(c)(3)", "314.4(c)(1)(i)", "314.4(d)(2)"]) assert.ok(CITATION_PATTERNS.glba.test(ok), ok);
  for (const bad of ["314.4.c.3", "16 CFR 314.4(c)(3)", "314.5(c)"]) assert.not.ok(CITATION_PATTERNS.glba.test(bad), bad);
});

test("controlsFor and controlKeysFor give a check's controls per framework and as evidence keys", () => {
  assert.equal(controlsFor("windows.bitlocker", "hipaa").map((c) => c.id), ["164.312(a)(2)(iv)", "164.310(d)(1)"]);
  assert.equal(controlsFor("windows.defender_realtime", "glba"), []);
  const keys = controlKeysFor("appliance.time_sync");
  assert.equal(keys, [...keys].sort());
  assert.ok(keys.includes("hipaa:164.312(b)"));
});

test("the day-one runbooks of issue 3 exist with the required safety properties", () => {
  const nixos = getRunbook("appliance.nixos_switch_pinned");
  assert.ok(nixos.disruptive);
  assert.ok(nixos.steps.some((s) => s.action === "nixos.health_check"), "health check after the switch");
  assert.equal(nixos.rollback[0]?.params, { target: "previous" });
  assert.is(getRunbook("appliance.restart_av_service").steps[0]?.action, "systemd.restart");
  assert.ok(getRunbook("appliance.restart_logging").steps.every((s) => s.action === "systemd.restart"));
  assert.is(getRunbook("appliance.run_backup_job").steps[0]?.action, "systemd.start");
  assert.is(getRunbook("appliance.restore_firewall_baseline").steps[0]?.action, "nft.restore_baseline");
  assert.is(getRunbook("appliance.restore_test").steps[0]?.action, "restic.restore_test");
  assert.is(checkParams("appliance.restore_test_age").max_age_days, 30);
  for (const id of [
    "windows.enable_firewall_profiles",
    "windows.enable_defender_realtime",
    "windows.restart_windows_update",
    "windows.restart_event_log",
    "windows.disable_smb1",
    "windows.require_smb_signing",
    "windows.set_screen_lock",
  ]) {
    assert.is(getRunbook(id).platform, "windows");
  }
  assert.ok(getRunbook("windows.require_smb_signing").rollback.length > 0);
});

test("category weights are defined once, cover every category and sum to 100", () => {
  assert.equal(Object.keys(CATEGORY_WEIGHTS).sort(), [...CATEGORIES].sort());
  assert.is(Object.values(CATEGORY_WEIGHTS).reduce((a, b) => a + b, 0), 100);
  for (const c of listChecks()) assert.ok(CATEGORIES.includes(c.category));
  for (const cat of ["encryption", "access_control", "backup", "logging", "patching", "firewall", "antivirus", "services"] as const) {
    assert.ok(listChecks({ category: cat }).length > 0, `no ${cat} checks`);
  }
});

test("staff texts are plain language: no technical jargon", () => {
  const jargon = /\b(?:nixos|nftables|nft|luks|ntp|sshd?|smb\d?|rdp|nla|sysctl|registry|powershell|gpo|systemd|journald|auditd|restic|borg|sha-?\d*|hash|cve|tls|dns|uid|daemon|kernel|winrm|cli|api|json|sid)\b/i;
  for (const c of listChecks()) assert.not.ok(jargon.test(c.staff_text), `${c.id}: ${c.staff_text.match(jargon)?.[0]}`);
});

test("intervals and freshness follow the schedule: appliance 5 min, hosts 15 min", () => {
  for (const c of listChecks()) {
    assert.is(c.interval_s, c.platform === "appliance" ? 300 : 900, c.id);
    assert.ok(c.freshness_limit_hours * 3600 >= c.interval_s * 4, `${c.id}: freshness shorter than four cycles`);
  }
});

test("every platform with checks documents the facts its collector gathers", () => {
  for (const p of PLATFORMS) {
    const facts = listFacts(p);
    for (const c of listChecks({ platform: p })) for (const f of c.facts) assert.ok(facts.some((x) => x.name === f), `${c.id}: ${f}`);
  }
});

test("the order-type registry has every required type with a working parameter schema", () => {
  const required = ["force_scan", "approve_runbook", "run_runbook", "rotate_token", "rotate_keys", "update_credentials_now", "validate_credential", "discovery_scan", "set_healing_mode", "restart_service"];
  const types = listOrderTypes().map((o) => o.type);
  for (const t of required) assert.ok(types.includes(t), t);
  assert.ok(getOrderType("set_healing_mode").privileged);
  assert.is(getOrderType("run_runbook").default_ttl_s, 900, "healing orders expire after 15 minutes");
  assert.ok(validateParams(getOrderType("set_healing_mode").params_schema, { mode: "enforce" }).ok);
  assert.not.ok(validateParams(getOrderType("set_healing_mode").params_schema, { mode: "yolo" }).ok);
  assert.ok(validateOrderParams("discovery_scan", { cidr: "192.168.1.0/24" }).ok);
  assert.not.ok(validateOrderParams("discovery_scan", { cidr: "10.0.0.0/8" }).ok, "a /8 is too large to scan");
  assert.not.ok(validateOrderParams("format_disk", {}).ok);
});

test("validateOrderParams checks a runbook order's runbook and its parameters", () => {
  const ok = validateOrderParams("run_runbook", { runbook: "windows.set_screen_lock", host_id: "host_0123456789", runbook_params: { timeout_s: 300 } });
  assert.equal(ok.ok && ok.value, { runbook: "windows.set_screen_lock", host_id: "host_0123456789", runbook_params: { timeout_s: 300 }, dry_run: false, ignore_window: false });
  const withDefaults = validateOrderParams("approve_runbook", { runbook: "windows.set_screen_lock", host_id: "host_0123456789" });
  assert.equal(withDefaults.ok && withDefaults.value.runbook_params, { timeout_s: 600 });
  const bad = validateOrderParams("run_runbook", { runbook: "windows.set_screen_lock", host_id: "host_0123456789", runbook_params: { timeout_s: 5000 } });
  assert.not.ok(bad.ok);
  if (!bad.ok) {
    assert.is(bad.issues[0]?.field, "runbook_params.timeout_s");
    assert.match(bad.issues[0]?.message ?? "", /windows\.set_screen_lock: 'timeout_s' must be at most 900: current value is 5000/);
  }
  const unknown = validateOrderParams("run_runbook", { runbook: "windows.format_c", host_id: "host_0123456789" });
  assert.not.ok(unknown.ok);
  if (!unknown.ok) assert.is(unknown.issues[0]?.field, "runbook");
});

test("runbook parameter schemas validate L2 answers, naming the field", () => {
  const schema = getRunbook("appliance.restore_test").params_schema;
  assert.ok(validateParams(schema, { sample_files: 20 }).ok);
  const r = validateParams(schema, { sample_files: 0, script: "curl | sh" });
  assert.not.ok(r.ok);
  if (!r.ok) assert.equal(r.issues.map((i) => i.field).sort(), ["sample_files", "script"]);
});

test("checkParams applies site overrides over defaults and refuses invalid ones", () => {
  assert.equal(checkParams("appliance.disk_space"), { max_used_percent: 90 });
  assert.equal(checkParams("appliance.disk_space", { max_used_percent: 80 }), { max_used_percent: 80 });
  assert.throws(() => checkParams("appliance.disk_space", { max_used_percent: 120 }), /check appliance\.disk_space parameters: 'max_used_percent' must be at most 99/);
  assert.throws(() => checkParams("appliance.disk_space", { max_used: 80 }), /'max_used' is not a parameter here/);
});

test("accessors throw a RangeError naming an unknown id", () => {
  assert.throws(() => getCheck("linux.nope"), (e: Error) => e instanceof RangeError && e.message.includes('"linux.nope"') && e.message.includes(CATALOGUE_VERSION));
  assert.throws(() => getRunbook("x.y"), RangeError);
  assert.throws(() => getOrderType("reboot_everything"), /Unknown order type "reboot_everything"/);
  assert.throws(() => getControl("hipaa", "164.999(z)"), /Unknown hipaa control/);
  assert.is(catalogue.findCheck("linux.nope"), undefined);
});

test("the catalogue is immutable", () => {
  const check = getCheck("linux.sshd_root_login");
  assert.throws(() => {
    (check as { severity: string }).severity = "low";
  });
  assert.throws(() => {
    (builtinRules() as Rule[]).pop();
  });
  assert.is(getCheck("linux.sshd_root_login").severity, "high");
});

test("order types that name a host use the one host id format of protocol/ids.ts", async () => {
  const { HOST_ID_PATTERN } = await import("../ids.ts");
  let seen = 0;
  for (const o of listOrderTypes()) {
    const host = (o.params_schema.properties as Record<string, { pattern?: string }>)["host_id"];
    if (!host) continue;
    seen++;
    assert.is(host.pattern, HOST_ID_PATTERN.source, o.type);
  }
  assert.ok(seen >= 3);
});

test.run();
