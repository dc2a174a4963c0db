import { test } from "uvu";
import * as assert from "uvu/assert";
import { evaluateCheck as evaluateRaw, readFact } from "./evaluate.ts";
import { selectRule } from "../rules.ts";
import { builtinRules, evaluateCheck, getCheck, type Check, type Rule } from "./mod.ts";

test("readFact() follows dotted paths through own properties only", () => {
  const facts = { sshd: { permit_root_login: "no", nothing: null } };
  assert.equal(readFact(facts, "sshd.permit_root_login"), { found: true, value: "no" });
  assert.equal(readFact(facts, "sshd.nothing"), { found: true, value: null });
  assert.equal(readFact(facts, "sshd.missing"), { found: false });
  assert.equal(readFact(facts, "sshd.permit_root_login.x"), { found: false });
  assert.equal(readFact(facts, "sshd.toString"), { found: false });
});

test("a check passes when every condition holds, and reports expected and actual", () => {
  const r = evaluateCheck("linux.sshd_root_login", { sshd: { installed: true, permit_root_login: "no" } });
  assert.equal(r, {
    status: "pass",
    expected: ['sshd.permit_root_login in ["no"]'],
    actual: { "sshd.installed": true, "sshd.permit_root_login": "no" },
    reason: null,
  });
});

test("a check fails when a condition does not hold, naming it", () => {
  const r = evaluateCheck("linux.sshd_root_login", { sshd: { installed: true, permit_root_login: "yes" } });
  assert.is(r.status, "fail");
  assert.is(r.reason, 'not met: sshd.permit_root_login in ["no"]');
});

test("site overrides change thresholds and allowed values", () => {
  const facts = { sshd: { installed: true, permit_root_login: "prohibit-password" } };
  assert.is(evaluateCheck("linux.sshd_root_login", facts).status, "fail");
  assert.is(evaluateCheck("linux.sshd_root_login", facts, { allowed_values: ["no", "prohibit-password"] }).status, "pass");
  assert.is(evaluateCheck("appliance.disk_space", { disk: { max_used_percent: 85, fullest_mount: "/" } }, { max_used_percent: 80 }).status, "fail");
  assert.throws(() => evaluateCheck("appliance.disk_space", {}, { max_used_percent: "80" }), /'max_used_percent' must be an integer/);
});

test("not_applicable_when is evaluated first", () => {
  const r = evaluateCheck("linux.sshd_password_auth", { sshd: { installed: false, password_authentication: null, kbd_interactive_authentication: null } });
  assert.is(r.status, "not_applicable");
  assert.is(r.reason, "not applicable: sshd.installed eq false");
});

test("a missing fact makes the result error, never pass", () => {
  const r = evaluateCheck("windows.firewall_profiles", { firewall: { domain_enabled: true, private_enabled: true } });
  assert.is(r.status, "error");
  assert.is(r.reason, "facts not collected: firewall.public_enabled");
  assert.is(evaluateCheck("windows.firewall_profiles", {}).status, "error");
  assert.is(evaluateCheck("windows.firewall_profiles", null).status, "error");
  assert.is(evaluateCheck("windows.firewall_profiles", [1]).status, "error");
});

test("a failing condition wins over a missing fact", () => {
  const r = evaluateCheck("windows.firewall_profiles", { firewall: { domain_enabled: false } });
  assert.is(r.status, "fail");
  assert.is(r.reason, "not met: firewall.domain_enabled eq true");
});

test("ill-typed facts make the result error, naming the fact", () => {
  const r = evaluateCheck("appliance.disk_space", { disk: { max_used_percent: "85%", fullest_mount: "/" } });
  assert.is(r.status, "error");
  assert.match(r.reason ?? "", /disk\.max_used_percent should be number, got "85%"/);
  const n = evaluateCheck("windows.firewall_profiles", { firewall: { domain_enabled: null, private_enabled: true, public_enabled: true } });
  assert.match(n.reason ?? "", /firewall\.domain_enabled should be boolean, got null/);
  const i = evaluateCheck("windows.defender_signatures", { defender: { running_mode: "Normal", signature_age_days: 1.5 } });
  assert.is(i.status, "error", "integer facts must be integers");
});

test("null means 'looked and found none': ordering fails, equality compares it", () => {
  assert.is(evaluateCheck("appliance.backup_freshness", { backup: { last_success_age_hours: null, repository_reachable: true } }).status, "fail");
  const gshadowAbsent = { files: { passwd_mode: "644", group_mode: "644", shadow_mode: "640", gshadow_mode: null } };
  assert.is(evaluateCheck("linux.account_file_permissions", gshadowAbsent).status, "pass");
  assert.is(evaluateCheck("windows.screen_lock", { screenlock: { timeout_s: null } }).status, "fail");
});

test("exists holds on presence and is never unknown", () => {
  const noPin = { nixos: { current_system: "/nix/store/abc-nixos-system", pinned_system: null } };
  assert.is(evaluateCheck("appliance.nixos_pinned_system", noPin).status, "not_applicable");
  const drift = { nixos: { current_system: "/nix/store/abc-nixos-system", pinned_system: "/nix/store/def-nixos-system" } };
  assert.is(evaluateCheck("appliance.nixos_pinned_system", drift).status, "fail");
  assert.is(evaluateCheck("appliance.nixos_pinned_system", { nixos: { ...drift.nixos, current_system: drift.nixos.pinned_system } }).status, "pass");
});

test("value_fact compares two facts; a missing one is unknown", () => {
  const base = { nftables_active: true, baseline_signature_valid: true, baseline_sha256: "a".repeat(64) };
  assert.is(evaluateCheck("appliance.firewall_baseline", { firewall: { ...base, ruleset_sha256: "a".repeat(64) } }).status, "pass");
  const r = evaluateCheck("appliance.firewall_baseline", { firewall: { ...base, ruleset_sha256: "b".repeat(64) } });
  assert.is(r.reason, "not met: firewall.ruleset_sha256 eq firewall.baseline_sha256");
  assert.is(evaluateCheck("appliance.firewall_baseline", { firewall: { ...base } }).status, "error");
});

test("an any-group holds when one member holds", () => {
  assert.is(evaluateCheck("linux.audit_logging", { audit: { auditd_active: false }, journal: { persistent: true } }).status, "pass");
  assert.is(evaluateCheck("linux.audit_logging", { audit: { auditd_active: false }, journal: { persistent: false } }).status, "fail");
  assert.is(evaluateCheck("linux.audit_logging", { audit: { auditd_active: false } }).status, "error");
  assert.is(evaluateCheck("linux.audit_logging", { audit: { auditd_active: true } }).status, "pass");
});

test("subset_of passes lists within the allowed list, including the empty list", () => {
  const check = "windows.local_admins";
  assert.is(evaluateCheck(check, { host: { is_domain_controller: false }, admins: { members: [] } }).status, "pass");
  assert.is(evaluateCheck(check, { host: { is_domain_controller: false }, admins: { members: ["Administrator", "Domain Admins"] } }).status, "pass");
  assert.is(evaluateCheck(check, { host: { is_domain_controller: false }, admins: { members: ["Administrator", "frontdesk"] } }).status, "fail");
  assert.is(evaluateCheck(check, { host: { is_domain_controller: false }, admins: { members: ["frontdesk"] } }, { allowed_admins: ["frontdesk"] }).status, "pass");
  assert.is(evaluateCheck(check, { host: { is_domain_controller: true } }).status, "not_applicable");
});

test("eq on lists compares items in order and does not coerce types", () => {
  assert.is(evaluateCheck("linux.uid0_accounts", { accounts: { uid0: ["root"] } }).status, "pass");
  assert.is(evaluateCheck("linux.uid0_accounts", { accounts: { uid0: ["root", "toor"] } }).status, "fail");
  assert.is(evaluateCheck("linux.kernel_network_params", { kernel: { tcp_syncookies: 1, accept_redirects: 0, accept_source_route: 0 } }).status, "pass");
});

test("regex, contains, ne and not_in follow the documented semantics", () => {
  const check: Check = {
    ...getCheck("linux.firewall_active"),
    facts: ["firewall.backend", "firewall.active"],
    evaluation: {
      pass_when: [
        { fact: "firewall.backend", op: "regex", value: "^(?:nft|ufw)" },
        { fact: "firewall.backend", op: "contains", value: "tab" },
        { fact: "firewall.backend", op: "ne", value: "iptables" },
        { fact: "firewall.backend", op: "not_in", value: ["none", null] },
      ],
      not_applicable_when: [],
    },
  };
  const doc = () => ({ type: "string" as const, nullable: true });
  assert.is(evaluateRaw(check, doc, { firewall: { backend: "nftables" } }, {}).status, "pass");
  assert.is(evaluateRaw(check, doc, { firewall: { backend: "ufw" } }, {}).status, "fail");
  assert.is(evaluateRaw(check, doc, { firewall: { backend: null } }, {}).status, "fail");
});

test("rule conditions match only when every condition holds; missing facts never match", () => {
  const rule = builtinRules().find((r) => r.id === "builtin.appliance.backup_freshness")!;
  const at = (facts: Record<string, unknown>) => selectRule([rule], { check: rule.check, platform: rule.platform, facts })?.id ?? null;
  assert.is(at({ backup: { repository_reachable: true } }), rule.id);
  assert.is(at({ backup: { repository_reachable: false } }), null);
  assert.is(at({}), null);
  assert.is(selectRule([{ ...rule, conditions: [] }], { check: rule.check, platform: rule.platform, facts: {} })?.id, rule.id);
});

test("selectRule() picks the first matching rule by priority desc, then id", () => {
  const base: Rule = { id: "b", check: "linux.time_sync", platform: "linux", conditions: [], runbook: "linux.enable_time_sync", params: {}, priority: 10, source: "promoted" };
  const rules: Rule[] = [
    base,
    { ...base, id: "a" },
    { ...base, id: "z", priority: 50, conditions: [{ fact: "time.synchronized", op: "eq", value: "never" }] },
    { ...base, id: "other-platform", platform: "windows", priority: 99 },
  ];
  assert.is(selectRule(rules, { check: "linux.time_sync", platform: "linux", facts: { time: { synchronized: false } } })?.id, "a");
  assert.is(selectRule(rules, { check: "linux.time_sync", platform: "linux", facts: { time: { synchronized: "never" } } })?.id, "z");
  assert.is(selectRule(rules, { check: "linux.disk_space", platform: "linux", facts: {} }), null);
});

test.run();
