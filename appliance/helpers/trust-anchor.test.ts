/**
 * The root helper trusts its own anchor, not the daemon's store: a daemon (running as `osiris`) that rewrites
 * its pinned relay keys, or puts back an older signed config, gets nothing past the helper. Real enrolled
 * store on a libSQL file, real signatures; the "compromised daemon" is this test writing into that store.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createSigner, generateKeyPair, keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { signRotation } from "../../protocol/key-rotation.ts";
import { RELAY_KEY_ROTATIONS_KV_KEY } from "../sync/relay-keys.ts";
import { APPLIANCE_ID, NOW, storePath, testAppliance, type TestAppliance } from "./_test-appliance.ts";
import { HelperError } from "./errors.ts";
import { APPLIANCE_CONFIG_KV_KEY, APPLIANCE_CONFIG_SCHEMA, signApplianceConfig, type ApplianceConfigPayload } from "./signed-config.ts";
import { mergeAnchors, readSignedState } from "./store-reader.ts";
import { firstAnchor, loadTrustAnchor } from "./trust-anchor.ts";

const signerOf = (fill: number) => createSigner(generateKeyPair(new Uint8Array(32).fill(fill)).secretKey);
const pinOf = (s: ReturnType<typeof signerOf>) => ({ key_id: keyId(s.publicKey), public_key: toHex(s.publicKey), name: `osiriscare.relay/${keyId(s.publicKey)}` });

async function withApp(fn: (app: TestAppliance) => Promise<void>): Promise<void> {
  const app = await testAppliance();
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

const read = (app: TestAppliance) => readSignedState(app.dbPath, { trustFile: app.trustFile });

/** What a tampered store holds: any envelope, written over the daemon's kv row. */
async function plant(app: TestAppliance, key: string, value: unknown): Promise<void> {
  await app.store.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", args: [key, JSON.stringify(value), isoTime(NOW)] });
}

const config = (version: number, pinned: string): ApplianceConfigPayload => ({ schema: APPLIANCE_CONFIG_SCHEMA, appliance_id: APPLIANCE_ID, version, issued_at: isoTime(NOW), pinned_system: storePath(pinned), av_binary_sha256: null, firewall_baseline: null });

test("the first read pins the store's relay keys in a root-only file, with the versions it accepted", async () => {
  await withApp(async (app) => {
    await app.pin({ version: 3 });
    await app.rules([], 7);
    assert.is(await loadTrustAnchor(app.trustFile), null);
    const state = await read(app);
    assert.is(state.config.status, "verified");
    const anchor = (await loadTrustAnchor(app.trustFile))!;
    assert.equal(anchor.relay_keys.map((k) => k.key_id), [keyId(app.relay.publicKey)]);
    assert.equal([anchor.appliance_id, anchor.config_version, anchor.ruleset_version], [APPLIANCE_ID, 3, 7]);
    assert.is((await stat(app.trustFile)).mode & 0o777, 0o600);
  });
});

test("a daemon that pins its own key and signs a config with it gets nothing: the helper verifies with its anchor", async () => {
  await withApp(async (app) => {
    await app.pin({ version: 1 });
    await read(app); // the anchor is made
    const evil = signerOf(66);
    await app.store.execute({ sql: "UPDATE identity SET relay_keys = ? WHERE id = 1", args: [JSON.stringify([pinOf(evil)])] });
    await plant(app, APPLIANCE_CONFIG_KV_KEY, await signApplianceConfig(config(2, "evil"), evil));
    const state = await read(app);
    assert.is(state.config.status, "invalid");
    assert.match(state.config.status === "invalid" ? state.config.reason : "", /does not verify/);
    assert.equal((await loadTrustAnchor(app.trustFile))!.relay_keys.map((k) => k.key_id), [keyId(app.relay.publicKey)], "the anchor did not move");
  });
});

test("a relay key rotation signed by the anchored key is followed; a 'rotation' the daemon signed itself is not", async () => {
  await withApp(async (app) => {
    await app.pin({ version: 1 });
    await read(app);
    const next = signerOf(77);
    const evil = signerOf(66);
    await plant(app, RELAY_KEY_ROTATIONS_KV_KEY, [await signRotation(next.publicKey, app.relay, NOW), await signRotation(evil.publicKey, evil, NOW)]);
    await plant(app, APPLIANCE_CONFIG_KV_KEY, await signApplianceConfig(config(2, "next"), next));
    const state = await read(app);
    assert.is(state.config.status === "verified" ? state.config.config.payload.pinned_system : JSON.stringify(state.config), storePath("next"));
    assert.equal((await loadTrustAnchor(app.trustFile))!.relay_keys.map((k) => k.key_id), [keyId(app.relay.publicKey), keyId(next.publicKey)]);

    await plant(app, APPLIANCE_CONFIG_KV_KEY, await signApplianceConfig(config(3, "evil"), evil));
    assert.is((await read(app)).config.status, "invalid", "the self-signed key was never trusted");
  });
});

test("an older signed config or rule set put back into the store is refused as a rollback", async () => {
  await withApp(async (app) => {
    await app.pin({ version: 4, pinned_system: storePath("four") });
    await app.rules([], 5);
    await read(app);
    await plant(app, APPLIANCE_CONFIG_KV_KEY, await signApplianceConfig(config(3, "three"), app.relay));
    await app.rules([], 4);
    const state = await read(app);
    assert.is(state.config.status, "invalid");
    assert.match(state.config.status === "invalid" ? state.config.reason : "", /version 3, older than version 4 the helper already accepted \(a rollback is refused\)/);
    assert.is(state.ruleset, null);
    assert.match(state.rulesetProblem ?? "", /version 4, older than version 5/);
    const anchor = (await loadTrustAnchor(app.trustFile))!;
    assert.equal([anchor.config_version, anchor.ruleset_version], [4, 5], "versions never go down");
  });
});

test("a store enrolled as another appliance, or a damaged anchor, is refused with what to do", async () => {
  await withApp(async (app) => {
    await app.pin({ version: 1 });
    await read(app);
    await app.store.execute({ sql: "UPDATE identity SET appliance_id = 'app_someoneelse1' WHERE id = 1" });
    try {
      await read(app);
      assert.unreachable("a re-enrolled store must not be trusted silently");
    } catch (e) {
      assert.instance(e, HelperError);
      assert.match((e as Error).message, /enrolled as app_someoneelse1, but the helper trusts appliance app_helpertest01 .*remove that file/);
    }
    await writeFile(app.trustFile, "{ not json");
    try {
      await read(app);
      assert.unreachable("a damaged anchor must not be replaced silently");
    } catch (e) {
      assert.match((e as Error).message, /trust file .* is not JSON/);
    }
    assert.is(await readFile(app.trustFile, "utf8"), "{ not json", "left as it was");
  });
});

test("two helper steps at once: the anchor written last keeps the other's keys and higher versions", () => {
  const [k1, k2] = [signerOf(11), signerOf(77)];
  const older = { ...firstAnchor(APPLIANCE_ID, [pinOf(k1)]), config_version: 4, ruleset_version: 9 };
  const newer = { ...firstAnchor(APPLIANCE_ID, [pinOf(k1), pinOf(k2)]), config_version: 5, ruleset_version: 8 };
  const merged = mergeAnchors(newer, older);
  assert.equal(merged.relay_keys.map((k) => k.key_id), [keyId(k1.publicKey), keyId(k2.publicKey)]);
  assert.equal([merged.config_version, merged.ruleset_version], [5, 9]);
});

test.run();
