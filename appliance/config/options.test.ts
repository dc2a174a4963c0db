import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseConfig } from "./load.ts";
import { describeConfigOptions } from "./options.ts";

/** Settings issue 8 says the NixOS module must expose; each must exist here under this name. */
const NIXOS_OPTIONS = [
  "state_dir", "relay.url", "relay.sync_interval_s", "relay.order_ttl_s", "enrollment.claim_code_file", "enrollment.usb_config_glob",
  "site.deployment_mode", "site.reseller_id", "reseller.syslog.host", "reseller.syslog.port", "reseller.syslog.transport",
  "reseller.webhook.url", "reseller.webhook.secret_file", "site.maintenance_windows", "site.maintenance_windows[].rrule",
  "site.maintenance_windows[].duration", "site.maintenance_windows[].tz", "site.allow_disruptive_outside_window", "site.healing_mode",
  "evidence.retention_count", "evidence.retention_days", "ntp.max_skew_s", "status_page.port", "status_page.bind", "status_page.mdns",
  "egress.allowed_hosts",
];

function at(value: unknown, name: string): unknown {
  let v = value;
  for (const key of name.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

test("the option list is JSON, names are unique and every option is documented", () => {
  const options = describeConfigOptions();
  assert.equal(JSON.parse(JSON.stringify(options)), options);
  const names = options.map((o) => o.name);
  assert.is(new Set(names).size, names.length);
  for (const o of options) assert.ok(o.doc.length > 10, `${o.name} has no doc`);
});

test("every option the NixOS module maps is described", () => {
  const names = new Set(describeConfigOptions().map((o) => o.name));
  for (const n of NIXOS_OPTIONS) assert.ok(names.has(n), `missing ${n}`);
});

test("described defaults are the defaults the loader applies", () => {
  const loaded = parseConfig("{}", "defaults.yaml");
  let checked = 0;
  for (const o of describeConfigOptions()) {
    if (o.default === undefined || o.name.includes("[]")) continue;
    // Options of an optional section (reseller.syslog) apply their defaults once the section is present.
    const parent = o.name.split(".").slice(0, -1).join(".");
    if (parent !== "" && at(loaded, parent) === undefined) continue;
    assert.equal(at(loaded, o.name), o.default, o.name);
    checked++;
  }
  assert.ok(checked >= 15, `only ${checked} defaults checked`);
  const healing = describeConfigOptions().find((o) => o.name === "site.healing_mode");
  assert.equal(healing, { name: "site.healing_mode", type: "enum", values: ["observe", "advise", "enforce"], default: "observe", required: false, doc: healing!.doc });
  const database = describeConfigOptions().find((o) => o.name === "database");
  assert.is(database?.default_text, "<state_dir>/appliance.db");
  assert.is(at(loaded, "database"), "/var/lib/osiris/appliance.db");
});

test.run();
