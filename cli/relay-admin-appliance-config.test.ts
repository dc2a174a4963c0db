/**
 * `osiris relay admin appliance-config`: against the database and key file of a real relay (temp libSQL file),
 * the signed config it stores is what the enrolled appliance's next pull carries and verifies.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalize } from "../protocol/canonical.ts";
import { fromHex } from "../protocol/encoding.ts";
import { parsePullResponse, PULL_SCHEMA } from "../protocol/sync.ts";
import { verifyApplianceConfig } from "../appliance/helpers/signed-config.ts";
import { count, enrolledAppliance, testRelay, type TestAppliance, type TestRelay } from "../relay/_testing.ts";
import { memoryLog } from "../relay/log.ts";
import { runWith, type Io } from "./relay-admin.ts";

const PINNED = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-nixos-system-osiris-25.05";
const BASELINE = {
  nftables: [
    { metainfo: { version: "1.0.9", release_name: "Old Doc Yak #3", json_schema_version: 1 } },
    { table: { family: "inet", name: "filter", handle: 1 } },
    { chain: { family: "inet", table: "filter", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
  ],
};

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => void lines.push(l), err: (l) => void errors.push(l), log: memoryLog().log };
}

interface World {
  relay: TestRelay;
  a: TestAppliance;
  keyFile: string;
  admin(...args: string[]): Promise<{ code: number; json: Record<string, unknown>; errors: string }>;
}

/** A relay (whose key is in its key file, as `osiris relay serve` keeps it) with one enrolled appliance. */
async function withRelay(fn: (w: World) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    const keyFile = join(relay.dir, "relay.key");
    const a = await enrolledAppliance(relay);
    const admin = async (...args: string[]) => {
      const io = capture();
      const code = await runWith([...args, "--db", join(relay.dir, "relay.db"), "--key-file", keyFile, "--json"], io);
      return { code, json: code === 0 ? (JSON.parse(io.lines[0]!) as Record<string, unknown>) : {}, errors: io.errors.join("\n") };
    };
    await fn({ relay, a, keyFile, admin });
  } finally {
    await relay.close();
  }
}

async function pulledConfig(a: TestAppliance) {
  const res = await a.request("POST", "/api/sync/pull", { schema: PULL_SCHEMA, appliance_id: a.id, ruleset_version: null, since: null, appliance_config_version: null });
  const pulled = parsePullResponse(await res.json());
  const keys = a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
  return verifyApplianceConfig(pulled.appliance_config, { relayKeys: keys, applianceId: a.id });
}

test("admin appliance-config signs a pinned system and a firewall baseline file with the relay's key; the appliance's pull verifies it", async () => {
  await withRelay(async ({ relay, a, admin }) => {
    const file = join(relay.dir, "baseline.json");
    await writeFile(file, JSON.stringify(BASELINE, null, 2));
    const r = await admin("appliance-config", "--appliance", a.id, "--pinned-system", PINNED, "--firewall-baseline-file", file, "--by", "ops");
    assert.is(r.code, 0, r.errors);
    assert.is(r.json["version"], 1);
    assert.is(r.json["changed"], true);
    assert.is(r.json["pinned_system"], PINNED);
    assert.match(String(r.json["baseline_sha256"]), /^[0-9a-f]{64}$/);
    const verified = await pulledConfig(a);
    assert.is(verified.payload.pinned_system, PINNED);
    assert.is(canonicalize(verified.payload.firewall_baseline), canonicalize(BASELINE), "the file's ruleset, as signed");
    assert.is(verified.baselineSha256, r.json["baseline_sha256"]);
    const row = await relay.db.execute({ sql: "SELECT issued_by FROM appliance_configs WHERE appliance_id = ?", args: [a.id] });
    assert.is(row.rows[0]?.["issued_by"], "cli:ops");
  });
});

test("admin appliance-config: `none` clears a field as a new version; repeating a change signs nothing", async () => {
  await withRelay(async ({ relay, a, admin }) => {
    assert.is((await admin("appliance-config", "--appliance", a.id, "--pinned-system", PINNED, "--av-binary-sha256", "c".repeat(64))).json["version"], 1);
    const same = await admin("appliance-config", "--appliance", a.id, "--pinned-system", PINNED);
    assert.is(same.json["changed"], false);
    assert.is(same.json["version"], 1);
    const cleared = await admin("appliance-config", "--appliance", a.id, "--av-binary-sha256", "none");
    assert.is(cleared.json["version"], 2);
    assert.is(cleared.json["av_binary_sha256"], null);
    assert.is(cleared.json["pinned_system"], PINNED, "kept");
    assert.is((await pulledConfig(a)).payload.av_binary_sha256, null);
    assert.is(await count(relay.db, "appliance_configs"), 2);
  });
});

test("admin appliance-config refusals: exit 2 for malformed values or without --appliance, 1 for an unknown appliance, with the reason; nothing is stored", async () => {
  await withRelay(async ({ relay, a, admin }) => {
    const notJson = join(relay.dir, "ruleset.txt");
    await writeFile(notJson, "table inet filter { }\n");
    const cases: [string[], RegExp, number][] = [
      [["--appliance", a.id], /give at least one of --pinned-system, --av-binary-sha256, --firewall-baseline-file/, 2],
      [["--appliance", a.id, "--pinned-system", "/run/current-system"], /pinned_system: expected a Nix store path/, 2],
      [["--appliance", a.id, "--av-binary-sha256", "xyz"], /av_binary_sha256: expected lower-case hex SHA-256/, 2],
      [["--appliance", a.id, "--firewall-baseline-file", notJson], /is not JSON \(expected `nft -j list ruleset` output\)/, 2],
      [["--appliance", a.id, "--firewall-baseline-file", join(relay.dir, "missing.json")], /cannot be read: ENOENT/, 2],
      [["--appliance", "app_unknown000", "--pinned-system", PINNED], /No appliance "app_unknown000"/, 1],
    ];
    for (const [args, re, code] of cases) {
      const r = await admin("appliance-config", ...args);
      assert.is(r.code, code, args.join(" "));
      assert.match(r.errors, re);
    }
    const usage = await admin("appliance-config", "--pinned-system", PINNED);
    assert.is(usage.code, 2);
    assert.match(usage.errors, /missing --appliance/);
    assert.is(await count(relay.db, "appliance_configs"), 0);
  });
});

test.run();
