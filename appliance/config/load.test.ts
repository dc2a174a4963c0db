import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError, type ConfigErrorCode } from "./errors.ts";
import { loadConfig, MAX_CONFIG_BYTES, parseConfig } from "./load.ts";
import { editDistance, suggest } from "./suggest.ts";

const FULL = `
state_dir: /var/lib/osiris
log_level: debug
site:
  id: site_0123abcd
  name: Lakeside Family Clinic
  timezone: America/New_York
  healing_mode: enforce
  maintenance_windows:
    - rrule: FREQ=WEEKLY;BYDAY=SA;BYHOUR=22
      duration: PT4H
    - rrule: |
        DTSTART:20260103T020000
        RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1
      duration: PT2H
      tz: Europe/Berlin
  allow_disruptive_outside_window: false
  deployment_mode: reseller
  reseller_id: rsl_0123abcd
  l2_enabled: true
relay:
  url: https://relay.example.com
  pin_sha256: ${"ab".repeat(32)}
  sync_interval_s: 120
  order_ttl_s: 600
enrollment:
  claim_code_file: /run/osiris/claim-code
  usb_config_glob: /media/*/osiris.yaml
targets:
  - { id: appliance, collector: local }
  - { id: fs01, name: File server, collector: ssh, address: 10.0.0.5, credential_ref: linux-key }
  - { id: dc01, collector: winrm, address: dc01.clinic.lan, credential_ref: clinic-admin, https: false }
  - { id: lab-pc1, collector: lab, platform: windows }
lab:
  site_dir: /opt/osiris/fixtures/lab/lakeside
credentials_file: /etc/osiris/credentials.yaml
evidence: { retention_count: 500, retention_days: 2555 }
ntp: { max_skew_s: 2.5 }
status_page: { port: 80, bind: [192.168.1.10, "::"], mdns: false, mdns_name: osiris-lakeside }
reseller:
  syslog: { host: siem.reseller.example, transport: tls }
  webhook: { url: https://hooks.reseller.example/osiris, secret_file: /run/keys/webhook }
egress:
  allowed_hosts: [updates.example.com, 203.0.113.7]
`;

function fails(text: string, code: ConfigErrorCode, message: RegExp, baseDir?: string): ConfigError {
  try {
    parseConfig(text, "appliance.yaml", baseDir === undefined ? {} : { baseDir });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    assert.is(e.code, code, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.unreachable(`accepted: ${text}`);
  throw new Error("unreachable");
}

test("an empty mapping gives every default", () => {
  const c = parseConfig("{}", "appliance.yaml");
  assert.is(c.state_dir, "/var/lib/osiris");
  assert.is(c.database, "/var/lib/osiris/appliance.db");
  assert.is(c.log_level, "info");
  assert.equal(c.site, { timezone: "UTC", healing_mode: "observe", maintenance_windows: [], allow_disruptive_outside_window: false, deployment_mode: "direct", l2_enabled: false });
  assert.equal(c.relay, { sync_interval_s: 60, order_ttl_s: 900 });
  assert.equal(c.evidence, { retention_count: 200, retention_days: 2190 });
  assert.equal(c.ntp, { max_skew_s: 5 });
  assert.equal(c.status_page, { port: 8080, bind: ["0.0.0.0"], mdns: true, mdns_name: "osiriscare-appliance" });
  assert.equal(c.targets, []);
  assert.equal(c.egress, { allowed_hosts: [] });
  assert.is(c.lab, undefined);
  assert.is(c.credentials_file, undefined);
});

test("a config using every section loads, with per-collector and per-transport defaults filled in", () => {
  const c = parseConfig(FULL, "appliance.yaml");
  assert.is(c.site.healing_mode, "enforce");
  assert.equal(c.site.maintenance_windows.map((w) => w.tz), ["America/New_York", "Europe/Berlin"]);
  assert.is(c.relay.url, "https://relay.example.com");
  const [local, ssh, winrm, lab] = c.targets;
  assert.equal(local, { id: "appliance", collector: "local", platform: "appliance", interval_s: 300, timeout_s: 30 });
  assert.ok(ssh?.collector === "ssh" && ssh.port === 22 && ssh.platform === "linux" && ssh.interval_s === 900);
  assert.ok(winrm?.collector === "winrm" && winrm.port === 5985 && winrm.auth === "ntlm" && winrm.platform === "windows");
  assert.ok(lab?.collector === "lab" && lab.platform === "windows");
  assert.equal(c.reseller.syslog, { host: "siem.reseller.example", transport: "tls", port: 6514 });
  assert.is(c.database, "/var/lib/osiris/appliance.db");
  assert.is(c.ntp.max_skew_s, 2.5);
});

test("loadConfig resolves relative paths against the config file's directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-config-"));
  try {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "state_dir: state\ncredentials_file: ./creds.yaml\nlab: {site_dir: ../lab/site}\n");
    const c = await loadConfig(file);
    assert.is(c.state_dir, join(dir, "state"));
    assert.is(c.database, join(dir, "state", "appliance.db"));
    assert.is(c.credentials_file, join(dir, "creds.yaml"));
    assert.is(c.lab?.site_dir, join(dir, "..", "lab", "site"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("relative paths without a file location are refused", () => {
  fails("state_dir: state", "invalid_value", /appliance\.yaml: state_dir: must be an absolute path .*saw "state"/);
  assert.is(parseConfig("state_dir: state", "x", { baseDir: "/etc/osiris" }).state_dir, "/etc/osiris/state");
});

test("unknown keys are rejected with a did-you-mean when close", () => {
  fails("site: {helaing_mode: enforce}", "unknown_key", /site\.helaing_mode: unknown key "helaing_mode" \(did you mean "healing_mode"\?\)/);
  fails("retention_days: 3000", "unknown_key", /retention_days: unknown key "retention_days"; known keys here: .*evidence/);
  fails("evidence: {retention_day: 3000}", "unknown_key", /did you mean "retention_days"/);
  // Inside a target, the suggestion comes from that collector's keys.
  const e = fails("relay: {url: 'https://r.example'}\ntargets: [{id: fs01, collector: ssh, adress: 10.0.0.5, credential_ref: k}]", "unknown_key", /^appliance\.yaml: targets\[0\]\.adress: unknown key "adress" \(did you mean "address"\?\)$/);
  assert.equal(e.details.issues, [{ code: "unknown_key", path: "targets[0].adress", message: 'unknown key "adress" (did you mean "address"?)', suggestion: "address" }]);
  fails("targets: [{id: pc1, collector: local, address: 10.0.0.5}]", "unknown_key", /targets\[0\]\.address: unknown key "address"; known keys here: collector, id, interval_s, name, platform, timeout_s/);
});

test("bad values name the key path, the expectation and the value seen", () => {
  fails("site: {healing_mode: enforced}", "invalid_value", /site\.healing_mode: expected one of observe \| advise \| enforce; saw "enforced" \(did you mean "enforce"\?\)/);
  fails("site: {timezone: Mars/Olympus}", "invalid_value", /site\.timezone: unknown time zone "Mars\/Olympus"/);
  fails("relay: {sync_interval_s: fast}", "invalid_value", /relay\.sync_interval_s: expected number; saw string "fast"/);
  fails("site:\n", "invalid_value", /site: expected object; saw null \(an empty value\)/);
  fails("relay: {sync_interval_s: 1}", "invalid_value", /relay\.sync_interval_s: must be at least 10; saw 1/);
  fails("status_page: {port: 99999}", "invalid_value", /status_page\.port: must be at most 65535; saw 99999/);
  fails("site: {name: \"\"}", "invalid_value", /site\.name: must not be empty; saw ""/);
  fails("status_page: {bind: [lan0]}", "invalid_value", /status_page\.bind\[0\]: must be an IP address; saw "lan0"/);
  fails("targets: [{id: pc1, collector: sssh}]", "invalid_value", /targets\[0\]\.collector: expected one of local \| ssh \| winrm \| lab; saw "sssh" \(did you mean "ssh"\?\)/);
  fails("targets: [{id: pc1}]", "missing_key", /targets\[0\]\.collector: expected one of/);
  fails("lab: {}", "missing_key", /lab\.site_dir: is required \(string\); saw nothing/);
  fails("site: {id: clinic-1}", "invalid_value", /site\.id: must be an id like site_0123abcd .*saw "clinic-1"/);
  fails("egress: {allowed_hosts: ['*.example.com']}", "invalid_value", /egress\.allowed_hosts\[0\]: must be a host name or IP address; saw "\*\.example\.com"/);
});

test("evidence retention below six years is refused", () => {
  fails("evidence: {retention_days: 365}", "invalid_value", /evidence\.retention_days: must be at least 2190 days \(6 years, HIPAA §164\.316\(b\)\(2\)\); saw 365/);
  fails("evidence: {retention_days: 2189}", "invalid_value", /saw 2189/);
  assert.is(parseConfig("evidence: {retention_days: 2190}", "x").evidence.retention_days, 2190);
});

test("the relay URL must be https unless it is loopback, and carries no credentials", () => {
  fails("relay: {url: 'http://relay.example.com'}", "invalid_value", /relay\.url: must use https \(http only to a loopback address\); saw "http:\/\/relay\.example\.com"/);
  fails("relay: {url: 'https://user:pw@relay.example.com'}", "invalid_value", /must not contain a user name or password/);
  fails("relay: {url: 'not a url'}", "invalid_value", /must be an absolute URL/);
  for (const url of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) assert.is(parseConfig(`relay: {url: '${url}'}`, "x").relay.url, url);
});

test("maintenance windows are checked with the window parser and reported at the right key", () => {
  fails("site: {maintenance_windows: [{rrule: 'FREQ=WEEKLY', duration: PT4H}]}", "invalid_value", /site\.maintenance_windows\[0\]\.rrule: FREQ=WEEKLY without DTSTART needs BYDAY/);
  fails("site: {maintenance_windows: [{rrule: 'FREQ=DAILY', duration: 4h}]}", "invalid_value", /site\.maintenance_windows\[0\]\.duration: duration must be ISO 8601.*saw "4h"/);
  fails("site: {maintenance_windows: [{rrule: 'FREQ=DAILY', duration: PT1H, tz: Nowhere/X}]}", "invalid_value", /site\.maintenance_windows\[0\]\.tz: unknown time zone "Nowhere\/X"/);
});

test("cross-field rules: reseller mode, lab targets, credential sources, duplicate ids", () => {
  fails("site: {deployment_mode: reseller}", "invalid_value", /site\.reseller_id: is required when deployment_mode is reseller/);
  fails("site: {reseller_id: rsl_0123abcd}", "invalid_value", /site\.reseller_id: must not be set when deployment_mode is direct/);
  fails("reseller: {syslog: {host: siem.example}}", "invalid_value", /reseller: outputs are set but site\.deployment_mode is "direct"/);
  fails("targets: [{id: pc1, collector: lab, platform: linux}]", "invalid_value", /targets\[0\]\.collector: is lab but the config has no lab\.site_dir/);
  fails("targets: [{id: fs01, collector: ssh, address: 10.0.0.5, credential_ref: k}]", "invalid_value", /targets\[0\]\.credential_ref: has no source: set relay\.url or credentials_file; saw credential_ref "k"/);
  fails("targets: [{id: a, collector: local}, {id: a, collector: local}]", "invalid_value", /targets\[1\]\.id: duplicates targets\[0\]\.id; saw "a"/);
});

test("several problems are all reported, structured in details", () => {
  const e = fails("site: {healing_mode: x}\nntp: {max_skew_s: 0}\nfoo: 1", "invalid_value", /appliance\.yaml: 3 problems: /);
  assert.equal(e.details.issues.map((i) => i.path).sort(), ["foo", "ntp.max_skew_s", "site.healing_mode"]);
  assert.is(e.details.source, "appliance.yaml");
});

test("YAML that is not a mapping, malformed or has duplicate keys is refused with a position", () => {
  fails("", "not_a_mapping", /saw an empty document/);
  fails("- a\n- b", "not_a_mapping", /saw a list/);
  fails("just text", "not_a_mapping", /saw string "just text"/);
  fails("site: [\n", "yaml_syntax", /appliance\.yaml:\d+:\d+: YAML syntax error: /);
  fails("log_level: info\nlog_level: debug", "yaml_syntax", /appliance\.yaml:2:1: YAML syntax error: Map keys must be unique$/);
  fails("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]", "yaml_syntax", /alias/i);
});

test("loadConfig reports unreadable and oversized files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-config-"));
  try {
    try {
      await loadConfig(join(dir, "missing.yaml"));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as ConfigError).code, "read_failed");
      assert.match((e as Error).message, /missing\.yaml: cannot read: ENOENT/);
    }
    const big = join(dir, "big.yaml");
    await writeFile(big, `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    try {
      await loadConfig(big);
      assert.unreachable();
    } catch (e) {
      assert.is((e as ConfigError).code, "too_large");
      assert.match((e as Error).message, /the limit is 1048576/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("suggest finds typos and ignores unrelated words", () => {
  assert.is(editDistance("helaing", "healing"), 1);
  assert.is(suggest("helaing_mode", ["healing_mode", "timezone"]), "healing_mode");
  assert.is(suggest("Timezone", ["timezone"]), "timezone");
  assert.is(suggest("zzz", ["healing_mode", "timezone"]), undefined);
});


test("every catalogue order type's default lifetime is accepted by an appliance with the default order_ttl_s", async () => {
  const { listOrderTypes } = await import("../../protocol/catalogue/mod.ts");
  const c = parseConfig("state_dir: /var/lib/osiris\n", "/etc/osiris/appliance.yaml");
  for (const o of listOrderTypes()) {
    assert.ok(o.default_ttl_s <= c.relay.order_ttl_s, `${o.type}: default_ttl_s ${o.default_ttl_s} > the appliance's default order_ttl_s ${c.relay.order_ttl_s} (it would refuse the order as lifetime_too_long)`);
  }
});

test.run();
