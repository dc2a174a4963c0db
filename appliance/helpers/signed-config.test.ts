/** The signed appliance config and the helper's read-only view of the store, on real temp libSQL files. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chown, lstat, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createSigner, generateKeyPair, keyId } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { IntegrityError } from "../../protocol/errors.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { rulesetSha256 } from "../checks/mod.ts";
import { openStore } from "../store/index.ts";
import { APPLIANCE_ID, NOW, storePath, testAppliance } from "./_test-appliance.ts";
import { HelperError } from "./errors.ts";
import { acceptApplianceConfig, APPLIANCE_CONFIG_KV_KEY, APPLIANCE_CONFIG_SCHEMA, applianceContextOf, readApplianceConfig, signApplianceConfig, verifyApplianceConfig, type ApplianceConfigPayload } from "./signed-config.ts";
import { readSignedState } from "./store-reader.ts";

const BASELINE: { nftables: JsonObject[] } = {
  nftables: [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "inet", name: "osiris", handle: 1 } },
    { chain: { family: "inet", table: "osiris", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
  ],
};

const payload = (over: Partial<ApplianceConfigPayload> = {}): ApplianceConfigPayload => ({
  schema: APPLIANCE_CONFIG_SCHEMA,
  appliance_id: APPLIANCE_ID,
  version: 1,
  issued_at: isoTime(NOW),
  pinned_system: storePath("pinned"),
  av_binary_sha256: "c".repeat(64),
  firewall_baseline: BASELINE,
  ...over,
});

async function rejectsWith(p: Promise<unknown>, pred: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(pred(e), `${what}: got ${String(e)}`);
    return;
  }
  assert.unreachable(`expected ${what}`);
}

test("a config signed by a pinned relay key verifies and yields the gatherer's context (baseline hashed like the fact)", async () => {
  const app = await testAppliance();
  try {
    await app.pin(payload());
    const stored = await readApplianceConfig(app.store, { relayKeys: await keysOf(app.dbPath), applianceId: APPLIANCE_ID });
    assert.is(stored.status, "verified");
    assert.equal(applianceContextOf(stored), {
      pinnedSystem: storePath("pinned"),
      expectedAvSha256: "c".repeat(64),
      firewallBaselineSha256: rulesetSha256(BASELINE) as string,
      firewallBaselineSignatureValid: true,
    });
  } finally {
    await app.close();
  }
});

/** The pinned relay keys as the helper reads them from the store. */
async function keysOf(dbPath: string) {
  const state = await readSignedState(dbPath, { trustFile: join(dirname(dbPath), "..", "helper", "trust.json") });
  assert.is(state.applianceId, APPLIANCE_ID);
  const store = await openStore(dbPath, { log: { info: () => undefined } });
  try {
    const row = (await store.execute("SELECT relay_keys FROM identity WHERE id = 1")).rows[0]!;
    return (JSON.parse(String(row["relay_keys"])) as { key_id: string; public_key: string }[]).map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
  } finally {
    store.close();
  }
}

test("verifyApplianceConfig refuses another appliance's config, an unknown key, and an older version", async () => {
  const relay = generateKeyPair(new Uint8Array(32).fill(11));
  const signer = createSigner(relay.secretKey);
  const relayKeys = [{ key_id: keyId(signer.publicKey), publicKey: signer.publicKey }];
  const env = await signApplianceConfig(payload({ appliance_id: "app_someoneelse1" }), signer);
  await rejectsWith(verifyApplianceConfig(env, { relayKeys, applianceId: APPLIANCE_ID }), (e) => e instanceof IntegrityError && e.code === "wrong_target", "wrong_target");
  const stranger = createSigner(generateKeyPair(new Uint8Array(32).fill(5)).secretKey);
  await rejectsWith(verifyApplianceConfig(await signApplianceConfig(payload(), stranger), { relayKeys, applianceId: APPLIANCE_ID }), (e) => e instanceof IntegrityError && e.code === "unknown_key", "unknown_key");
  const v3 = await signApplianceConfig(payload({ version: 3 }), signer);
  await rejectsWith(verifyApplianceConfig(v3, { relayKeys, applianceId: APPLIANCE_ID, currentVersion: 3 }), (e) => e instanceof IntegrityError && e.code === "stale_version", "stale_version");
});

test("acceptApplianceConfig keeps the newer config and refuses a replayed older one, changing nothing", async () => {
  const app = await testAppliance();
  try {
    const relayKeys = await keysOf(app.dbPath);
    await app.pin(payload({ version: 5, pinned_system: storePath("five") }));
    const old = await signApplianceConfig(payload({ version: 4, pinned_system: storePath("four") }), app.relay);
    await rejectsWith(acceptApplianceConfig(app.store, old, { relayKeys, applianceId: APPLIANCE_ID, now: NOW }), (e) => e instanceof IntegrityError && e.code === "stale_version", "stale_version");
    const stored = await readApplianceConfig(app.store, { relayKeys, applianceId: APPLIANCE_ID });
    assert.is(stored.status === "verified" ? stored.config.payload.pinned_system : null, storePath("five"));
  } finally {
    await app.close();
  }
});

test("acceptApplianceConfig refuses an older config even after the stored one stopped verifying", async () => {
  const app = await testAppliance();
  try {
    const relayKeys = await keysOf(app.dbPath);
    await app.pin(payload({ version: 5, pinned_system: storePath("five") }));
    // The stored envelope is damaged (or was signed by a key no longer pinned): it no longer says "version 5".
    await app.store.execute({ sql: "UPDATE kv SET value = '{}' WHERE key = ?", args: [APPLIANCE_CONFIG_KV_KEY] });
    assert.is((await readApplianceConfig(app.store, { relayKeys, applianceId: APPLIANCE_ID })).status, "invalid");
    const old = await signApplianceConfig(payload({ version: 4, pinned_system: storePath("four") }), app.relay);
    await rejectsWith(acceptApplianceConfig(app.store, old, { relayKeys, applianceId: APPLIANCE_ID, now: NOW }), (e) => e instanceof IntegrityError && e.code === "stale_version" && /version 5/.test(String(e)), "stale_version against the highest accepted");
    const newer = await signApplianceConfig(payload({ version: 6, pinned_system: storePath("six") }), app.relay);
    await acceptApplianceConfig(app.store, newer, { relayKeys, applianceId: APPLIANCE_ID, now: NOW });
    const stored = await readApplianceConfig(app.store, { relayKeys, applianceId: APPLIANCE_ID });
    assert.is(stored.status === "verified" ? stored.config.payload.pinned_system : null, storePath("six"), "a newer one replaces it");
  } finally {
    await app.close();
  }
});

test("signApplianceConfig refuses a baseline that is not an nft ruleset and a pin that is not a store path", async () => {
  const signer = createSigner(generateKeyPair(new Uint8Array(32).fill(11)).secretKey);
  await rejectsWith(signApplianceConfig(payload({ firewall_baseline: { nftables: [{ chain: { name: "x" } }] } }), signer), (e) => /nft -j list ruleset/.test(String(e)), "not an nft ruleset");
  await rejectsWith(signApplianceConfig(payload({ pinned_system: "/etc/passwd" }), signer), (e) => /Nix store path/.test(String(e)), "not a store path");
});

test("applianceContextOf: nothing stored or an invalid config gives no pin and an invalid baseline signature", () => {
  const none = { pinnedSystem: null, expectedAvSha256: null, firewallBaselineSha256: null, firewallBaselineSignatureValid: false };
  assert.equal(applianceContextOf({ status: "none" }), none);
  assert.equal(applianceContextOf({ status: "invalid", reason: "bad" }), none);
});

test("readSignedState refuses an unenrolled store and a missing one, naming why", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-helper-state-"));
  try {
    await rejectsWith(readSignedState(join(dir, "none.db"), { trustFile: join(dir, "trust.json") }), (e) => e instanceof HelperError && e.code === "store" && /does not exist/.test(e.message), "missing store");
    const store = await openStore(join(dir, "a.db"), { log: { info: () => undefined } });
    store.close();
    await rejectsWith(readSignedState(join(dir, "a.db"), { trustFile: join(dir, "trust.json") }), (e) => e instanceof HelperError && e.code === "store" && /not enrolled/.test(e.message), "unenrolled store");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("readSignedState reads without writing and gives any -wal/-shm it created back to the database's owner", async () => {
  const app = await testAppliance();
  try {
    await app.pin(payload());
    app.store.close(); // the daemon is stopped: SQLite removes its -wal/-shm on close
    const nobody = 65534;
    await chown(app.dbPath, nobody, nobody);
    const before = await stat(app.dbPath);
    const state = await readSignedState(app.dbPath, { trustFile: app.trustFile });
    assert.is(state.config.status, "verified");
    assert.is(state.rulesetProblem, "no signed rule set has been received");
    for (const f of await readdir(app.stateDir)) {
      if (!f.startsWith("appliance.db")) continue;
      const st = await lstat(join(app.stateDir, f));
      assert.is(st.uid, nobody, `${f} belongs to the daemon's user`);
    }
    const after = await stat(app.dbPath);
    assert.is(after.mtimeMs, before.mtimeMs, "the database file was not written");
  } finally {
    await app.close().catch(() => undefined);
  }
});

test.run();
