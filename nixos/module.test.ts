/**
 * What CI can check of the NixOS parts without building NixOS (no nixpkgs, no network, no KVM here):
 * - every .nix file parses (Debian's nix-instantiate);
 * - the modules' options (evaluated with nixos/ci/stub-lib.nix instead of nixpkgs' lib) are documented and
 *   their defaults have their declared types; the appliance module's assertions are evaluated for real;
 * - the YAML the module generates (nixos/config.nix, evaluated live) equals the committed samples, and the
 *   appliance's own config loader accepts them; option names, defaults and enum values match the loader's
 *   schema through an explicit name table;
 * - the egress refresh script runs against a fake resolver and a fake nft (fail-closed rules);
 * - the package's bundle step produces a CLI that runs on plain Node;
 * - the shell scripts parse, the nixosTest scripts and the fault proxy compile as Python.
 * The nixosTests themselves (nixos/tests/) need a Nix builder with KVM and do not run here.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseConfig } from "../appliance/config/load.ts";
import { describeConfigOptions, type ConfigOption } from "../appliance/config/options.ts";
import { EgressHarness, elementsOf } from "./_test-egress.ts";
import { enumValues, evalCi, evalJson, filesUnder, isNixOptionList, NixError, nixInstantiate, NIX_INSTALL_HINT, ROOT, type NixOption } from "./_test-nix.ts";

/** services.osiris-appliance option → appliance YAML key (appliance/config/schema.ts). The one name table. */
const YAML_KEY_OF: Readonly<Record<string, string>> = {
  stateDir: "state_dir",
  database: "database",
  logLevel: "log_level",
  siteId: "site.id",
  siteName: "site.name",
  timezone: "site.timezone",
  healingMode: "site.healing_mode",
  maintenanceWindows: "site.maintenance_windows",
  "maintenanceWindows.*.rrule": "site.maintenance_windows[].rrule",
  "maintenanceWindows.*.duration": "site.maintenance_windows[].duration",
  "maintenanceWindows.*.tz": "site.maintenance_windows[].tz",
  allowDisruptiveOutsideWindow: "site.allow_disruptive_outside_window",
  deploymentMode: "site.deployment_mode",
  resellerId: "site.reseller_id",
  l2Enabled: "site.l2_enabled",
  relayUrl: "relay.url",
  relayPinSha256: "relay.pin_sha256",
  syncIntervalSec: "relay.sync_interval_s",
  orderTtlSec: "relay.order_ttl_s",
  claimCodeFile: "enrollment.claim_code_file",
  usbConfigGlob: "enrollment.usb_config_glob",
  targets: "targets",
  labSiteDir: "lab.site_dir",
  credentialsFile: "credentials_file",
  evidenceRetentionCount: "evidence.retention_count",
  evidenceRetentionDays: "evidence.retention_days",
  ntpMaxSkewSec: "ntp.max_skew_s",
  discoverySubnets: "discovery.subnets",
  discoveryPingPath: "discovery.ping_path",
  discoverySchedule: "discovery.schedule",
  discoveryNightlyAt: "discovery.nightly_at",
  discoveryDepth: "discovery.depth",
  discoveryConcurrency: "discovery.concurrency",
  discoveryRatePerSecond: "discovery.rate_per_second",
  discoveryConnectTimeoutMs: "discovery.connect_timeout_ms",
  discoveryNameTimeoutMs: "discovery.name_timeout_ms",
  discoveryLivenessProbes: "discovery.liveness_probes",
  discoveryDnsServers: "discovery.dns_servers",
  discoveryArpPath: "discovery.arp_path",
  discoveryExclude: "discovery.exclude",
  discoveryMaxDurationSec: "discovery.max_duration_s",
  statusPagePort: "status_page.port",
  statusPageBind: "status_page.bind",
  mdns: "status_page.mdns",
  mdnsName: "status_page.mdns_name",
  "syslogTarget.host": "reseller.syslog.host",
  "syslogTarget.port": "reseller.syslog.port",
  "syslogTarget.transport": "reseller.syslog.transport",
  webhookUrl: "reseller.webhook.url",
  webhookSecretFile: "reseller.webhook.secret_file",
  allowedEgressHosts: "egress.allowed_hosts",
};

/** Fields of a `targets` item (the schema describes targets as one union-typed list, without item names). */
const TARGET_KEY_OF: Readonly<Record<string, string>> = {
  id: "id", name: "name", collector: "collector", address: "address", port: "port", platform: "platform",
  credentialRef: "credential_ref", hostKeySha256: "host_key_sha256", https: "https", auth: "auth",
  certSha256: "cert_sha256", host: "host", intervalSec: "interval_s", timeoutSec: "timeout_s",
};

/** Options that shape the system around the daemon and never reach its YAML, with why. */
const MODULE_ONLY: Readonly<Record<string, string>> = {
  enable: "turns the module on",
  package: "what ExecStart runs",
  checkConfig: "build-time validation of the generated config",
  syslogTarget: "the nullable group of reseller.syslog.* (its fields are mapped)",
  redirectHttp: "nftables redirect of port 80 to the status page",
  lanInterfaces: "nftables: where the status page and mDNS are reachable",
  hostSubnets: "nftables: where SSH/WinRM may go",
  egressRefreshInterval: "timer of the egress set refresh",
  memoryMaxMiB: "systemd MemoryMax and the V8 heap cap",
  watchdogSec: "systemd WatchdogSec",
  journalMaxUse: "journald SystemMaxUse",
  managedUnits: "polkit: units the daemon may start/restart",
};

/** Schema keys whose enclosing mapping is optional: required inside it, nullable in the flat module. */
const IN_OPTIONAL_MAPPING = new Set(["lab.site_dir", "reseller.webhook.url", "reseller.webhook.secret_file"]);

/** Schema value types → the Nix types that carry them (after removing nullOr/listOf wrappers). */
const NIX_TYPES_FOR: Readonly<Record<string, readonly string[]>> = {
  string: ["str", "strMatching", "nonEmptyStr"],
  path: ["path", "str", "strMatching"],
  url: ["str"],
  integer: ["int", "positiveInt", "unsignedInt", "intBetween"],
  number: ["number", "positive", "numberBetween", "float"],
  boolean: ["bool"],
  enum: ["enum"],
};

const SAMPLES = { default: "nixos/config-sample.default.json", reseller: "nixos/config-sample.reseller.json" } as const;

function options(module: "appliance" | "relay"): NixOption[] {
  const value = evalCi(`${module}.options`);
  if (!isNixOptionList(value)) throw new TypeError(`nixos/ci/eval.nix ${module}.options is not a list of options`);
  return value;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(ROOT, path), "utf8"));
}

/** The innermost Nix type name: `nullOr (listOf (strMatching))` → `strMatching`. */
function baseType(type: string): string {
  let t = type.trim();
  for (;;) {
    const m = /^(?:nullOr|listOf|nonEmptyListOf) \((.*)\)$/.exec(t);
    if (!m) return t.split(" ")[0]!;
    t = m[1]!;
  }
}

function schemaBaseType(option: ConfigOption): string {
  return option.type.replace(/^list of /, "");
}

const schemaOptions = describeConfigOptions();
const schemaByName = new Map(schemaOptions.map((o) => [o.name, o]));
// Evaluated on first use, so a missing nix-instantiate fails tests with the install hint, not the import.
let applianceCache: NixOption[] | undefined;
const applianceOptions = (): NixOption[] => (applianceCache ??= options("appliance"));
const applianceOption = (name: string): NixOption | undefined => applianceOptions().find((o) => o.name === name);

// ---- parsing ----

test("nix-instantiate is available (CI installs Debian's nix-bin)", () => {
  try {
    nixInstantiate(["--version"]);
  } catch (e) {
    if (e instanceof NixError && e.message === NIX_INSTALL_HINT) assert.unreachable(NIX_INSTALL_HINT);
    throw e;
  }
});

test("every .nix file under nixos/ and iso/, and flake.nix, parses with nix-instantiate --parse", () => {
  const files = [...filesUnder(["nixos", "iso"], ".nix"), "flake.nix"];
  assert.ok(files.length >= 15, `found only ${files.length} .nix files: ${files.join(", ")}`);
  for (const file of files) {
    try {
      nixInstantiate(["--parse", file]);
    } catch (e) {
      assert.unreachable(`${file} does not parse: ${(e as Error).message}`);
    }
  }
});

test("every shell script under nixos/ and iso/ parses with bash -n", () => {
  for (const file of filesUnder(["nixos", "iso"], ".sh")) {
    const r = spawnSync("bash", ["-n", join(ROOT, file)], { encoding: "utf8" });
    assert.is(r.status, 0, `${file}: ${r.stderr}`);
  }
});

test("the scripts that must not abort half-way (egress refresh, USB provisioning, banner) never use set -e", () => {
  for (const file of ["nixos/egress-refresh.sh", "iso/provision-usb.sh", "iso/console-banner.sh"]) {
    const code = readFileSync(join(ROOT, file), "utf8").split("\n").filter((l) => !l.trim().startsWith("#")).join("\n");
    assert.not.match(code, /set\s+(-[a-z]*e|-o\s+errexit)/, `${file} uses errexit`);
  }
});

test("the nixosTest scripts and the fault proxy compile as Python", () => {
  const dir = mkdtempSync(join(tmpdir(), "osiris-pytest-"));
  try {
    const files = ["nixos/tests/fault-proxy.py"];
    for (const t of ["appliance-basics", "phase2-matrix", "provisioning"]) {
      const script = evalJson(`(import ./nixos/tests/${t}.nix { self = { }; }).testScript`);
      assert.type(script, "string");
      const out = join(dir, `${t}.py`);
      writeFileSync(out, script as string);
      files.push(out);
    }
    for (const f of files) {
      // compile() only: no __pycache__ is written next to the sources.
      const r = spawnSync("python3", ["-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", f], { encoding: "utf8", cwd: ROOT });
      if (r.error) assert.unreachable(`python3 is not installed (Debian package python3): ${r.error.message}`);
      assert.is(r.status, 0, `${f}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- options ----

test("every option of services.osiris-appliance and services.osiris-relay has a description", () => {
  const appliance = applianceOptions();
  const relay = options("relay");
  assert.ok(appliance.length > 40 && relay.length > 10, `only ${appliance.length} + ${relay.length} options found`);
  for (const o of [...appliance, ...relay]) {
    assert.ok(typeof o.description === "string" && o.description.trim().length >= 10, `option ${o.name} has no description`);
  }
});

test("every option default has the option's declared type", () => {
  for (const o of [...applianceOptions(), ...options("relay")]) {
    assert.ok(o.defaultHasType, `option ${o.name}: default ${JSON.stringify(o.default)} is not a ${o.type}`);
  }
});

test("the options check can fail: a misspelled mkOption attribute and a mistyped default are caught", () => {
  const stub = "let lib = import ./nixos/ci/stub-lib.nix; in";
  assert.throws(() => evalJson(`${stub} lib.mkOption { type = lib.types.str; descripton = "x"; }`), /unknown attribute/);
  assert.equal(evalJson(`${stub} (lib.types.float.check 5)`), false);
  assert.equal(evalJson(`${stub} (lib.types.number.check 5)`), true);
  assert.equal(evalJson(`${stub} (lib.types.port.check 70000)`), false);
  assert.equal(evalJson(`${stub} ((lib.types.strMatching "[a-z]+").check "ab1")`), false);
});

test("the module asserts evidence retention of at least 2190 days (6 years)", () => {
  assert.equal(evalJson("(import ./nixos/ci/eval.nix).failedAssertions { evidenceRetentionDays = 2190; }"), []);
  const failed = evalJson("(import ./nixos/ci/eval.nix).failedAssertions { evidenceRetentionDays = 2189; }");
  assert.ok(Array.isArray(failed) && failed.length === 1, JSON.stringify(failed));
  assert.match(String(failed[0]), /evidenceRetentionDays must be at least 2190 .* it is 2189/);
});

test("the module refuses reseller mode without a reseller id, reseller outputs in direct mode, and a privileged status port", () => {
  const failed = (settings: string) => evalJson(`(import ./nixos/ci/eval.nix).failedAssertions ${settings}`) as string[];
  assert.match(failed(`{ deploymentMode = "reseller"; }`).join("\n"), /resellerId is required/);
  assert.match(failed(`{ webhookUrl = "https://hooks.example"; webhookSecretFile = "/k"; }`).join("\n"), /are for deploymentMode "reseller"/);
  assert.match(failed(`{ deploymentMode = "reseller"; resellerId = "rsl_0123abcd"; webhookUrl = "https://h.example"; }`).join("\n"), /together/);
  assert.match(failed(`{ statusPagePort = 80; }`).join("\n"), /at least 1024/);
  assert.equal(failed("{ }"), []);
  assert.equal(failed("(import ./nixos/ci/reseller-settings.nix)"), []);
});

// ---- systemd units (evaluated from the modules) ----

function unit(module: "appliance" | "relay", settings: string): Record<string, unknown> {
  return evalJson(`(import ./nixos/ci/eval.nix).${module}.unit ${settings}`) as Record<string, unknown>;
}

test("the daemon runs as its own user with no capabilities, strict sandboxing, a memory limit and a watchdog", () => {
  const u = unit("appliance", "{ }");
  assert.equal(
    {
      User: u.User, Type: u.Type, NotifyAccess: u.NotifyAccess, WatchdogSec: u.WatchdogSec, Restart: u.Restart,
      CapabilityBoundingSet: u.CapabilityBoundingSet, AmbientCapabilities: u.AmbientCapabilities,
      NoNewPrivileges: u.NoNewPrivileges, ProtectSystem: u.ProtectSystem, ProtectHome: u.ProtectHome, PrivateTmp: u.PrivateTmp,
      RestrictAddressFamilies: u.RestrictAddressFamilies, MemoryMax: u.MemoryMax,
      StateDirectory: u.StateDirectory, StateDirectoryMode: u.StateDirectoryMode, UMask: u.UMask,
    },
    {
      User: "osiris", Type: "notify", NotifyAccess: "all", WatchdogSec: 120, Restart: "on-failure",
      // "" is written as `CapabilityBoundingSet=` (empty set); an empty list would write nothing at all.
      CapabilityBoundingSet: "", AmbientCapabilities: "",
      NoNewPrivileges: true, ProtectSystem: "strict", ProtectHome: true, PrivateTmp: true,
      RestrictAddressFamilies: ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"], MemoryMax: "512M",
      StateDirectory: "osiris", StateDirectoryMode: "0700", UMask: "0077",
    },
  );
  assert.ok(Array.isArray(u.SystemCallFilter) && u.SystemCallFilter[0] === "@system-service", JSON.stringify(u.SystemCallFilter));
  assert.equal(u.LoadCredential, []);
});

test("secret files reach the daemon through LoadCredential, never through the Nix store", () => {
  assert.equal(unit("appliance", "(import ./nixos/ci/reseller-settings.nix)").LoadCredential, [
    "webhook-secret:/etc/osiris/webhook-secret",
    "credentials:/etc/osiris/credentials.yaml",
  ]);
  const sample = readJson(SAMPLES.reseller) as { reseller: { webhook: { secret_file: string } }; credentials_file: string };
  assert.is(sample.reseller.webhook.secret_file, "/run/credentials/osiris-appliance.service/webhook-secret");
  assert.is(sample.credentials_file, "/run/credentials/osiris-appliance.service/credentials");
});

test("the relay gets CAP_NET_BIND_SERVICE only for a port below 1024, and no capability otherwise", () => {
  assert.is(unit("relay", "{ }").CapabilityBoundingSet, "");
  assert.is(unit("relay", "{ }").AmbientCapabilities, "");
  assert.equal(unit("relay", "{ port = 443; }").CapabilityBoundingSet, ["CAP_NET_BIND_SERVICE"]);
  assert.equal(unit("relay", "{ port = 443; }").AmbientCapabilities, ["CAP_NET_BIND_SERVICE"]);
});

test("the relay refuses to listen beyond loopback without TLS", () => {
  const failed = (settings: string) => evalJson(`(import ./nixos/ci/eval.nix).relay.failedAssertions ${settings}`) as string[];
  assert.equal(failed("{ }"), []);
  assert.match(failed(`{ listenAddress = "0.0.0.0"; }`).join("\n"), /without TLS/);
  assert.equal(failed(`{ listenAddress = "0.0.0.0"; tlsCertFile = "/k/cert.pem"; tlsKeyFile = "/k/key.pem"; }`), []);
  assert.match(failed(`{ tlsCertFile = "/k/cert.pem"; }`).join("\n"), /together/);
});

// ---- generated config vs the appliance's loader ----

for (const [name, file] of Object.entries(SAMPLES)) {
  test(`${file} is exactly what the module generates (${name === "default" ? "all defaults" : "nixos/ci/reseller-settings.nix"})`, () => {
    const live = evalCi(`samples.${name}`);
    // After a deliberate change: OSIRIS_UPDATE_SAMPLES=1 node --import tsx nixos/module.test.ts
    if (process.env.OSIRIS_UPDATE_SAMPLES === "1") writeFileSync(join(ROOT, file), `${JSON.stringify(live, null, 2)}\n`);
    assert.equal(live, readJson(file), `${file} is stale; regenerate it with OSIRIS_UPDATE_SAMPLES=1 node --import tsx nixos/module.test.ts`);
  });

  test(`the appliance's config loader accepts ${file}`, () => {
    parseConfig(readFileSync(join(ROOT, file), "utf8"), file);
  });
}

test("the module's default config means the same to the loader as an empty config (defaults agree)", () => {
  assert.equal(parseConfig(readFileSync(join(ROOT, SAMPLES.default), "utf8"), SAMPLES.default), parseConfig("{}", "empty.yaml"));
});

test("the reseller sample sets every YAML key the module can generate, and every target field", () => {
  const sample = readJson(SAMPLES.reseller) as Record<string, unknown>;
  // `a.b[].c`: some item of list a.b has c.
  const present = (value: unknown, segments: string[]): boolean => {
    if (segments.length === 0) return value !== undefined;
    if (value === null || typeof value !== "object") return false;
    const [seg, ...rest] = segments as [string, ...string[]];
    if (!seg.endsWith("[]")) return present((value as Record<string, unknown>)[seg], rest);
    const list = (value as Record<string, unknown>)[seg.slice(0, -2)];
    return Array.isArray(list) && list.some((item) => present(item, rest));
  };
  for (const key of Object.values(YAML_KEY_OF)) assert.ok(present(sample, key.split(".")), `the reseller sample does not set ${key}`);
  const targets = (sample.targets ?? []) as Record<string, unknown>[];
  for (const [option, key] of Object.entries(TARGET_KEY_OF)) {
    assert.ok(targets.some((t) => key in t), `no target in the reseller sample sets ${key} (targets.*.${option})`);
  }
});

// ---- option names, defaults, types vs the loader's schema ----

test("every appliance config key maps to exactly one module option, through the name table", () => {
  const mapped = Object.values(YAML_KEY_OF);
  assert.equal(new Set(mapped).size, mapped.length, "a YAML key appears twice in YAML_KEY_OF");
  for (const o of schemaOptions) assert.ok(mapped.includes(o.name), `config key ${o.name} has no module option (add it to the module and YAML_KEY_OF)`);
  for (const key of mapped) assert.ok(schemaByName.has(key), `YAML_KEY_OF names ${key}, which the config schema does not have`);
});

test("every module option is mapped to a config key, is a target field, or is module-only for a stated reason", () => {
  for (const o of applianceOptions()) {
    const known = o.name in YAML_KEY_OF || o.name in MODULE_ONLY || (o.name.startsWith("targets.*.") && o.name.slice(10) in TARGET_KEY_OF);
    assert.ok(known, `module option ${o.name} is neither mapped to a config key nor listed as module-only`);
  }
  for (const name of [...Object.keys(YAML_KEY_OF), ...Object.keys(MODULE_ONLY)]) {
    assert.ok(applianceOption(name), `the table names module option ${name}, which the module does not declare`);
  }
  for (const field of Object.keys(TARGET_KEY_OF)) assert.ok(applianceOption(`targets.*.${field}`), `targets.*.${field} is not declared`);
});

test("module option defaults equal the config schema's defaults", () => {
  const empty = parseConfig("{}", "empty.yaml") as unknown as Record<string, unknown>;
  const effective = (key: string): unknown => key.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], empty);
  for (const [name, key] of Object.entries(YAML_KEY_OF)) {
    const nix = applianceOption(name)!;
    const schema = schemaByName.get(key)!;
    const where = `${name} ↔ ${key}`;
    if (schema.default !== undefined) {
      assert.ok(nix.hasDefault, `${where}: the schema defaults to ${JSON.stringify(schema.default)}, the module has no default`);
      assert.equal(nix.default, schema.default, `${where}: module default ${JSON.stringify(nix.default)}, schema default ${JSON.stringify(schema.default)}`);
    } else if (schema.required && !IN_OPTIONAL_MAPPING.has(key)) {
      assert.not.ok(nix.hasDefault, `${where}: required in the schema, but the module has a default`);
    } else if (schema.default_text !== undefined || key.includes("[]")) {
      // Derived by the loader (database from state_dir, a window's tz from site.timezone): the module leaves it out.
      assert.is(nix.default, null, `${where}: the loader derives this (${schema.default_text ?? schema.doc}); the module default must be null`);
    } else {
      const loaderValue = effective(key);
      assert.equal(nix.default ?? undefined, loaderValue, `${where}: module default ${JSON.stringify(nix.default)}, loader gives ${JSON.stringify(loaderValue)} for an empty config`);
    }
  }
});

test("module option types carry the schema's value types, and enums offer the same values", () => {
  for (const [name, key] of Object.entries(YAML_KEY_OF)) {
    const nix = applianceOption(name)!;
    const schema = schemaByName.get(key)!;
    const where = `${name} (${nix.type}) ↔ ${key} (${schema.type})`;
    if (schema.type === "list of objects") {
      assert.match(nix.type, /^listOf \(submodule\)$/, where);
      continue;
    }
    if (schema.type.startsWith("list of ")) assert.match(nix.type, /^(nullOr \()?listOf /, where);
    const allowed = NIX_TYPES_FOR[schemaBaseType(schema)];
    assert.ok(allowed?.includes(baseType(nix.type)), `${where}: Nix type ${baseType(nix.type)} does not carry ${schemaBaseType(schema)}`);
    if (schema.values) assert.equal(enumValues(nix.type), schema.values, `${where}: enum values differ`);
  }
});

// ---- egress allow-list ----

test("the egress allow-list holds the relay (with its port), the webhook, the syslog receiver and the allowed hosts", () => {
  assert.equal(evalCi("egress.default"), []);
  assert.equal(evalCi("egress.reseller"), [
    { host: "203.0.113.7", port: 443, proto: "tcp", why: "allowed host" },
    { host: "hooks.reseller.example", port: 443, proto: "tcp", why: "reseller webhook" },
    { host: "relay.example-msp.com", port: 8443, proto: "tcp", why: "relay" },
    { host: "siem.reseller.example", port: 6514, proto: "tcp", why: "reseller syslog" },
    { host: "updates.example.com", port: 443, proto: "tcp", why: "allowed host" },
  ]);
});

test("a loopback relay adds no egress, and a udp syslog receiver is allowed on udp 514", () => {
  const entries = evalJson(`(import ./nixos/config.nix).egressEntries {
    relayUrl = "http://127.0.0.1:8080"; webhookUrl = null; allowedEgressHosts = [ ];
    syslogTarget = { host = "10.0.0.9"; port = null; transport = "udp"; };
  }`);
  assert.equal(entries, [{ host: "10.0.0.9", port: 514, proto: "udp", why: "reseller syslog" }]);
});

function withHarness(fn: (h: EgressHarness) => void): () => void {
  return () => {
    const h = new EgressHarness();
    try {
      fn(h);
    } finally {
      h.dispose();
    }
  };
}

const T0 = 1_800_000_000;

test("the egress refresh replaces both sets in one nft transaction and caches what it applied", withHarness((h) => {
  h.dns("relay.example.com", ["198.51.100.1", "198.51.100.2"], ["2001:db8::1"]);
  h.dns("updates.example.com", ["198.51.100.9"]);
  const r = h.run(["relay.example.com tcp 443", "updates.example.com tcp 443"], T0);
  assert.is(r.status, 0, r.stderr);
  const [tx, ...more] = h.transactions();
  assert.is(more.length, 0);
  assert.match(tx!, /^flush set inet osiris egress_v4\nflush set inet osiris egress_v6\n/);
  assert.equal(elementsOf(tx!), {
    v4: ["198.51.100.1 . tcp . 443", "198.51.100.2 . tcp . 443", "198.51.100.9 . tcp . 443"],
    v6: ["2001:db8::1 . tcp . 443"],
  });
  assert.equal(elementsOf(h.cached()!), elementsOf(tx!));
  assert.not.match(h.cached()!, /flush/);
}));

test("a host that does not resolve keeps its previous addresses; the others update; exit 3 names the host", withHarness((h) => {
  h.dns("relay.example.com", ["198.51.100.1"]);
  h.dns("updates.example.com", ["198.51.100.9"]);
  const entries = ["relay.example.com tcp 443", "updates.example.com tcp 443"];
  assert.is(h.run(entries, T0).status, 0);
  h.dnsDown("relay.example.com");
  h.dns("updates.example.com", ["198.51.100.10"]);
  const r = h.run(entries, T0 + 300);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /cannot resolve relay\.example\.com; keeping its 1 previous address/);
  const last = elementsOf(h.transactions().at(-1)!);
  // The relay keeps its address; the allowed host gains its new one and keeps the old within the keep window.
  assert.equal(last.v4, ["198.51.100.1 . tcp . 443", "198.51.100.10 . tcp . 443", "198.51.100.9 . tcp . 443"]);
}));

test("without any DNS nothing is added: the sets keep exactly the previous addresses", withHarness((h) => {
  h.dns("relay.example.com", ["198.51.100.1"]);
  assert.is(h.run(["relay.example.com tcp 443"], T0).status, 0);
  h.dnsDown("relay.example.com");
  const r = h.run(["relay.example.com tcp 443"], T0 + 60);
  assert.is(r.status, 3);
  assert.equal(elementsOf(h.transactions().at(-1)!).v4, ["198.51.100.1 . tcp . 443"]);
}));

test("a host never resolved contributes nothing (fail closed, not open)", withHarness((h) => {
  const r = h.run(["never.example.com tcp 443"], T0);
  assert.is(r.status, 3);
  assert.equal(elementsOf(h.transactions().at(-1)!), { v4: [], v6: [] });
}));

test("when nft refuses the update the refresh exits 1 and the cached elements stay as they were", withHarness((h) => {
  h.dns("relay.example.com", ["198.51.100.1"]);
  assert.is(h.run(["relay.example.com tcp 443"], T0).status, 0);
  const cached = h.cached();
  h.dns("relay.example.com", ["198.51.100.2"]);
  h.refuseNft(true);
  const r = h.run(["relay.example.com tcp 443"], T0 + 60);
  assert.is(r.status, 1);
  assert.match(r.stderr, /nft refused the update; the sets are unchanged/);
  assert.is(h.cached(), cached);
}));

test("addresses a host stopped answering with are dropped after the keep window (24 h)", withHarness((h) => {
  h.dns("cdn.example.com", ["198.51.100.1"]);
  assert.is(h.run(["cdn.example.com tcp 443"], T0).status, 0);
  h.dns("cdn.example.com", ["198.51.100.2"]);
  assert.is(h.run(["cdn.example.com tcp 443"], T0 + 3600).status, 0);
  assert.equal(elementsOf(h.transactions().at(-1)!).v4, ["198.51.100.1 . tcp . 443", "198.51.100.2 . tcp . 443"]);
  assert.is(h.run(["cdn.example.com tcp 443"], T0 + 86_400 + 1).status, 0);
  assert.equal(elementsOf(h.transactions().at(-1)!).v4, ["198.51.100.2 . tcp . 443"]);
}));

test("IP literals need no lookup, IPv4-mapped answers are never added, malformed entries are skipped", withHarness((h) => {
  h.dns("mixed.example.com", ["198.51.100.5"], ["::ffff:198.51.100.5", "2001:db8::5"]);
  const r = h.run(["203.0.113.7 udp 514", "2001:db8::9 tcp 443", "mixed.example.com tcp 443", "bad_host! tcp 443", "relay.example.com icmp 1", "x.example.com tcp 99999"], T0);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /skipping bad_host!/);
  assert.match(r.stderr, /malformed entry: relay\.example\.com icmp/);
  assert.equal(elementsOf(h.transactions().at(-1)!), {
    v4: ["198.51.100.5 . tcp . 443", "203.0.113.7 . udp . 514"],
    v6: ["2001:db8::5 . tcp . 443", "2001:db8::9 . tcp . 443"],
  });
}));

// ---- firewall ruleset (evaluated from the module, checked by the real nft) ----

/** `nft --check` of `text`; in a user+network namespace when the process may not use netlink itself. */
function nftCheck(text: string): { ok: boolean; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "osiris-nft-"));
  try {
    const file = join(dir, "ruleset.nft");
    writeFileSync(file, text);
    let r = spawnSync("nft", ["--check", "--file", file], { encoding: "utf8" });
    if (r.error) assert.unreachable(`nft is not installed (Debian package nftables): ${r.error.message}`);
    if (r.status !== 0 && /Operation not permitted/.test(r.stderr)) {
      r = spawnSync("unshare", ["--user", "--map-root-user", "--net", "nft", "--check", "--file", file], { encoding: "utf8" });
    }
    return { ok: r.status === 0, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ruleset(settings: string): string {
  const text = evalJson(`(import ./nixos/ci/eval.nix).ruleset ${settings}`);
  assert.type(text, "string");
  return text as string;
}

/** The lines of one chain of the generated table. */
function chain(text: string, name: string): string[] {
  const m = new RegExp(`\\n\\s*chain ${name} \\{\\n([\\s\\S]*?)\\n\\s*\\}`).exec(text);
  assert.ok(m, `no chain ${name}`);
  return m[1]!.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

const RULESET_CASES = {
  defaults: "{ }",
  reseller: "(import ./nixos/ci/reseller-settings.nix)",
  image: `{ lanInterfaces = [ "en*" "eth*" ]; hostSubnets = [ "10.0.0.0/8" "fd00::/8" ]; mdns = false; redirectHttp = false; }`,
};

for (const [name, settings] of Object.entries(RULESET_CASES)) {
  test(`the module's nftables ruleset passes nft --check (${name})`, () => {
    const r = nftCheck(ruleset(settings));
    assert.ok(r.ok, r.stderr);
  });
}

test("input, forward and output all default to drop, and drops are logged at a bounded rate", () => {
  const text = ruleset(RULESET_CASES.reseller);
  for (const name of ["input", "forward", "output"]) assert.ok(chain(text, name).some((l) => l.includes("policy drop;")), `chain ${name}`);
  for (const name of ["input", "output"]) {
    const last = chain(text, name).at(-1)!;
    assert.match(last, /^limit rate 10\/second burst 50 packets log prefix "osiris-drop-(in|out): "/);
  }
});

test("input accepts only established traffic, loopback, ND/DHCP replies, and the status page and mDNS from the LAN", () => {
  const allowed = [
    /^ct state established,related accept$/, /^iif lo accept$/, /^icmpv6 type \{[a-z-, ]+\} ip6 hoplimit 255 accept$/,
    /^udp sport 67 udp dport 68 accept$/, /^udp sport 547 udp dport 546 accept$/,
    /^iifname \{ "enp1s0" \} (tcp dport 8080|udp dport 5353|ip protocol igmp|icmpv6 type mld-listener-query) accept$/,
  ];
  for (const line of chain(ruleset(RULESET_CASES.reseller), "input").filter((l) => l.endsWith("accept"))) {
    assert.ok(allowed.some((re) => re.test(line)), `unexpected input rule: ${line}`);
  }
  assert.not.match(ruleset(RULESET_CASES.defaults), /dport 8080/, "no LAN interfaces: the status page is not reachable");
});

test("output accepts only established, loopback, DNS, NTP, DHCP, ND, the egress sets, site SSH/WinRM, discovery probes to the discovery subnets, and mDNS", () => {
  const allowed = [
    /^ct state established,related accept$/, /^oif lo accept$/, /^meta l4proto \{ tcp, udp \} th dport 53 accept$/,
    /^udp dport 123 accept$/, /^udp sport 68 udp dport 67 accept$/, /^udp sport 546 udp dport 547 accept$/,
    /^icmpv6 type \{[a-z0-9-, ]+\} accept$/, /^ip6? daddr \. meta l4proto \. th dport @egress_v[46] accept$/,
    /^ip daddr \{ 192\.168\.10\.0\/24 \} tcp dport \{ 22, 5985, 5986, 2222 \} accept$/,
    /^ip daddr \{ 192\.168\.10\.0\/24 \} (tcp flags & \(syn \| ack\) == syn|udp dport 137|icmp type echo-request) accept$/,
    /^oifname \{ "enp1s0" \} (ip daddr 224\.0\.0\.251 udp dport 5353|ip6 daddr ff02::fb udp dport 5353|ip protocol igmp) accept$/,
  ];
  for (const line of chain(ruleset(RULESET_CASES.reseller), "output").filter((l) => l.endsWith("accept"))) {
    assert.ok(allowed.some((re) => re.test(line)), `unexpected output rule: ${line}`);
  }
});

test("the egress refresh's transaction and cache are valid nft against the module's ruleset", withHarness((h) => {
  h.dns("relay.example.com", ["198.51.100.1"], ["2001:db8::1"]);
  assert.is(h.run(["relay.example.com tcp 8443", "203.0.113.7 udp 514"], T0).status, 0);
  const text = ruleset(RULESET_CASES.reseller).replace(/^include .*$/m, "");
  for (const extra of [h.transactions()[0]!, h.cached()!]) {
    const r = nftCheck(`${text}\n${extra}`);
    assert.ok(r.ok, `${extra}\n${r.stderr}`);
  }
}));

// ---- the package's build step ----

test("the package's bundle step produces an osiris CLI that runs on plain Node, without tsx", () => {
  const dir = mkdtempSync(join(tmpdir(), "osiris-bundle-"));
  try {
    const r = spawnSync("bash", [join(ROOT, "nixos/bundle-app.sh"), ROOT, join(dir, "dist")], { encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    const bundle = readFileSync(join(dir, "dist/osiris.mjs"), "utf8");
    assert.not.match(bundle, /from "tsx|require\("tsx/);
    copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    const run = spawnSync(process.execPath, [join(dir, "dist/osiris.mjs"), "version"], { encoding: "utf8", cwd: dir });
    assert.is(run.status, 0, run.stderr);
    assert.is(run.stdout.trim(), `osiris ${version}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
