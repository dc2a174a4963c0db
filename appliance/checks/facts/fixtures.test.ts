/**
 * Every catalogue check on real-host fixtures (fixtures/facts/README.md says which are recorded, derived or
 * reconstructed): each must pass on a pass fixture of its platform and fail on a fail fixture, parsed by the
 * real parsers. Also: garbage, huge and incomplete output give clear errors or `error` results, never `pass`.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { catalogue } from "../../../protocol/catalogue/mod.ts";
import { CollectError } from "../../collect/errors.ts";
import { evaluateFacts } from "../scan.ts";
import { MAX_RAW_BYTES, parseProbes } from "./_raw.ts";
import { loadFactsFixture, type LoadedFixture } from "./fixture.ts";
import { LINUX_RAW_SCHEMA, parseLinuxDoc, parseLinuxOutput } from "./linux.ts";
import { parseWindowsDoc } from "./windows.ts";

const dir = new URL("../../../fixtures/facts/", import.meta.url);
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, dir), "utf8"));
const load = (name: string): LoadedFixture => loadFactsFixture(read(name), name);

/** Per platform: the fixtures of passing hosts and of failing hosts. */
const FIXTURES = {
  appliance: { pass: ["appliance-pass.json"], fail: ["appliance-fail.json"] },
  linux: { pass: ["linux-pass.json"], fail: ["linux-fail.json"] },
  windows: { pass: ["windows-pass.json", "windows-dc-pass.json"], fail: ["windows-fail.json", "windows-dc-fail.json"] },
  macos: { pass: ["macos-pass.json"], fail: ["macos-fail.json"] },
} as const;

function statuses(name: string): Map<string, { status: string; reason: string | null }> {
  const f = load(name);
  return new Map(evaluateFacts(f.platform, f.gathered, { catalogue }).map((r) => [r.check, { status: r.status, reason: r.reason }]));
}

for (const [platform, sets] of Object.entries(FIXTURES)) {
  const checks = catalogue.listChecks({ platform: platform as keyof typeof FIXTURES });
  test(`every ${platform} check (${checks.length}) passes on a ${platform} pass fixture and is pass or not_applicable on the others`, () => {
    const seen = new Set<string>();
    for (const name of sets.pass) {
      for (const [check, r] of statuses(name)) {
        assert.ok(r.status === "pass" || r.status === "not_applicable", `${check} on ${name}: ${r.status} (${r.reason})`);
        if (r.status === "pass") seen.add(check);
      }
    }
    for (const c of checks) assert.ok(seen.has(c.id), `${c.id} passes on none of ${sets.pass.join(", ")}`);
  });

  test(`every ${platform} check fails on a ${platform} fail fixture and never passes on one`, () => {
    const seen = new Set<string>();
    for (const name of sets.fail) {
      for (const [check, r] of statuses(name)) {
        assert.ok(r.status === "fail" || r.status === "not_applicable", `${check} on ${name}: ${r.status} (${r.reason})`);
        if (r.status === "fail") seen.add(check);
      }
    }
    for (const c of checks) assert.ok(seen.has(c.id), `${c.id} fails on none of ${sets.fail.join(", ")}`);
  });

  test(`${platform} fixtures collect every documented ${platform} fact`, () => {
    for (const name of [...sets.pass, ...sets.fail]) {
      const f = load(name);
      assert.equal(f.gathered.unavailable, {}, name);
      const missing = catalogue.listFacts(platform as keyof typeof FIXTURES).filter((fact) => !hasPath(f.gathered.facts, fact.name));
      assert.equal(missing.map((m) => m.name), [], name);
    }
  });
}

function hasPath(facts: unknown, name: string): boolean {
  let v = facts;
  for (const seg of name.split(".")) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, seg)) return false;
    v = (v as Record<string, unknown>)[seg];
  }
  return true;
}

test("the recorded Debian host gives real answers and error (not pass) for what it cannot show", () => {
  const r = statuses("linux-debian.json");
  assert.is(r.get("linux.disk_space")?.status, "pass");
  assert.is(r.get("linux.cert_expiry")?.status, "pass");
  assert.is(r.get("linux.firewall_active")?.status, "fail");
  assert.is(r.get("linux.sshd_password_auth")?.status, "fail");
  assert.is(r.get("linux.failed_services")?.status, "error");
  assert.match(r.get("linux.failed_services")?.reason ?? "", /systemd is not running/);
  assert.is(r.get("linux.time_sync")?.status, "error");
});

test("the raw recording parses byte for byte like its fixture wrapper", () => {
  const raw = readFileSync(new URL("linux-debian-raw.txt", dir), "utf8");
  const now = Date.parse((read("linux-debian.json") as { now: string }).now);
  const fromText = parseLinuxOutput(raw, "recording", { now, role: "server" });
  assert.equal(fromText, load("linux-debian.json").gathered);
  const sshd = fromText.facts["sshd"] as Record<string, unknown>;
  assert.is(sshd["permit_root_login"], "prohibit-password", "sshd -T said without-password, reported under its current name");
});

test("garbage output is a protocol CollectError naming the problem", () => {
  for (const [stdout, pattern] of [
    ["", /no output at all/],
    ["Welcome to Ubuntu!\nlast login: never\n", /no osiris\.linux-raw\/v1 object \(output starts "Welcome to Ubuntu!"\)/],
    [`{"schema":"${LINUX_RAW_SCHEMA}","now":{"rc":0,"size":1,`, /not valid JSON/],
    [`{"schema":"${LINUX_RAW_SCHEMA}","now":{"rc":"zero","size":1,"out":""}}`, /probe now: rc must be an exit status/],
    [`{"schema":"${LINUX_RAW_SCHEMA}","Bad Key":{"rc":0,"size":1,"out":""}}`, /probe name "Bad Key"/],
  ] as const) {
    try {
      parseLinuxOutput(stdout, "host-a", { now: 0 });
      assert.unreachable(`accepted ${JSON.stringify(stdout.slice(0, 30))}`);
    } catch (err) {
      assert.ok(err instanceof CollectError && err.code === "protocol", String(err));
      assert.match((err as Error).message, pattern);
      assert.match((err as Error).message, /on host-a/);
    }
  }
});

test("huge output is output_too_large, not parsed", () => {
  const huge = `{"schema":"${LINUX_RAW_SCHEMA}","x":{"rc":0,"size":1,"out":"${"a".repeat(MAX_RAW_BYTES)}"}}`;
  try {
    parseProbes(huge, LINUX_RAW_SCHEMA, "The Linux fact script", "host-b");
    assert.unreachable("accepted huge output");
  } catch (err) {
    assert.ok(err instanceof CollectError && err.code === "output_too_large", String(err));
  }
});

test("a probe that did not run leaves its facts missing, so the check is error with the reason, not pass", () => {
  const doc = structuredClone((read("linux-pass.json") as { output: Record<string, unknown> }).output);
  delete doc["mode_passwd"];
  delete doc["syncookies"];
  const gathered = parseLinuxDoc(doc, "host-c", { now: Date.parse("2026-11-27T23:15:00Z"), role: "server" });
  const results = new Map(evaluateFacts("linux", gathered, { catalogue }).map((r) => [r.check, r]));
  assert.is(results.get("linux.account_file_permissions")?.status, "error");
  assert.match(results.get("linux.account_file_permissions")?.reason ?? "", /files\.passwd_mode \(mode_passwd did not run\)/);
  assert.is(results.get("linux.kernel_network_params")?.status, "error");
  assert.is(results.get("linux.firewall_active")?.status, "pass", "unrelated checks still evaluate");
});

test("ill-typed Windows values become missing facts and error results, never pass", () => {
  const doc = structuredClone((read("windows-pass.json") as { output: Record<string, unknown> }).output);
  doc["smb"] = { v1: "no", server_signing: true, client_signing: true };
  doc["errors"] = { firewall: "Access is denied." };
  delete doc["firewall"];
  const gathered = parseWindowsDoc(doc, "ws-1", { now: Date.parse("2026-11-27T15:00:00Z"), midpointMs: Date.parse("2026-11-27T15:00:00Z") });
  const results = new Map(evaluateFacts("windows", gathered, { catalogue }).map((r) => [r.check, r]));
  assert.is(results.get("windows.smb1_disabled")?.status, "error");
  assert.is(results.get("windows.firewall_profiles")?.status, "error");
  assert.match(results.get("windows.firewall_profiles")?.reason ?? "", /firewall failed: Access is denied\./);
  assert.is(results.get("windows.smb_signing")?.status, "pass");
});

test("a fixture with an unknown member or platform is refused with the field named", () => {
  const bad = { ...(read("macos-pass.json") as object), platform: "solaris" };
  try {
    loadFactsFixture(bad, "bad.json");
    assert.unreachable("accepted a bad fixture");
  } catch (err) {
    assert.ok(err instanceof TypeError);
    assert.match((err as Error).message, /bad\.json is invalid: platform/);
  }
});

test.run();
