import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmod, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applianceOrigin, verifyCosignature } from "../../protocol/checkpoint.ts";
import { keyId } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { verifyRotation } from "../../protocol/key-rotation.ts";
import { parsePushAck } from "../../protocol/sync.ts";
import { createRelayApp } from "../app.ts";
import { openRelayDb } from "../db/index.ts";
import { enrolledAppliance, inProcess, random, testRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { createRelayKeyFile, currentRelayKey, listRelayKeys, loadRelayKey, publishedRelayKeys, readRelayKeyFile, rotateRelayKey } from "./index.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.instance(e, RelayError);
    return (e as RelayError).code;
  }
}

test("loadRelayKey() on a relay without keys creates a 0600 key file and stores only its public key and file name", async () => {
  const relay = await testRelay();
  try {
    const db = await openRelayDb(join(relay.dir, "fresh.db"), { log: relay.log, clock: relay.clock });
    try {
      const path = join(relay.dir, "sub", "relay.key");
      const key = await loadRelayKey(db, path, { clock: relay.clock, random, log: relay.log });
      assert.is(((await stat(path)).mode & 0o777).toString(8), "600");
      const secret = (await readRelayKeyFile(path))!;
      assert.equal(toHex(key.signer.publicKey), toHex((await loadRelayKey(db, path, { clock: relay.clock, random, log: relay.log })).signer.publicKey), "a second start reuses the file");
      const [row] = (await db.execute("SELECT * FROM relay_keys")).rows;
      assert.is(row?.["key_id"], key.keyId);
      assert.is(row?.["key_file"], path);
      for (const v of Object.values(row!)) assert.not.ok(typeof v === "string" && v.includes(toHex(secret)), "the private key is never in the database");
      assert.is(await codeOf(createRelayKeyFile(path, random)), "config", "an existing key file is never overwritten");
    } finally {
      db.close();
    }
  } finally {
    await relay.close();
  }
});

test("loadRelayKey() refuses a missing key file when the relay already has keys, and a key it does not know", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random, log: relay.log };
    assert.is(await codeOf(loadRelayKey(relay.db, join(relay.dir, "missing.key"), env)), "config");
    const stranger = join(relay.dir, "stranger.key");
    await createRelayKeyFile(stranger, random);
    assert.is(await codeOf(loadRelayKey(relay.db, stranger, env)), "relay_key_state");
    const own = join(relay.dir, "own.key");
    await writeFile(own, relay.relaySecret, { mode: 0o600 });
    assert.is((await loadRelayKey(relay.db, own, env)).keyId, relay.relayKey.keyId);
  } finally {
    await relay.close();
  }
});

test("currentRelayKey() (commands that sign exports) takes only the relay's current key file, and never creates or registers one", async () => {
  const relay = await testRelay();
  try {
    assert.is((await currentRelayKey(relay.db, join(relay.dir, "relay.key"))).keyId, relay.relayKey.keyId);
    assert.is(await codeOf(currentRelayKey(relay.db, join(relay.dir, "missing.key"))), "config");
    const stranger = join(relay.dir, "stranger.key");
    await createRelayKeyFile(stranger, random);
    assert.is(await codeOf(currentRelayKey(relay.db, stranger)), "relay_key_state");
    const nextPath = join(relay.dir, "next.key");
    await rotateRelayKey(relay.db, { currentSecretKey: relay.relaySecret, nextSecretKey: await createRelayKeyFile(nextPath, random), nextKeyFile: nextPath }, relay.clock);
    assert.is(await codeOf(currentRelayKey(relay.db, join(relay.dir, "relay.key"))), "relay_key_state", "a rotated-out key signs nothing more");
    assert.equal((await listRelayKeys(relay.db)).length, 2, "nothing registered");
    const empty = await openRelayDb(join(relay.dir, "empty.db"), { log: relay.log, clock: relay.clock });
    try {
      assert.is(await codeOf(currentRelayKey(empty, nextPath)), "relay_key_state");
      assert.equal(await listRelayKeys(empty), [], "a relay without keys gets none from an export");
    } finally {
      empty.close();
    }
  } finally {
    await relay.close();
  }
});

test("a key file other users can read is refused", async () => {
  const relay = await testRelay();
  try {
    const path = join(relay.dir, "loose.key");
    await writeFile(path, relay.relaySecret);
    await chmod(path, 0o644);
    assert.is(await codeOf(readRelayKeyFile(path)), "config");
  } finally {
    await relay.close();
  }
});

test("rotation: the new key is announced with a statement the old key signed, and the old key may no longer sign", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const nextPath = join(relay.dir, "next.key");
    const next = await createRelayKeyFile(nextPath, random);
    const rotated = await rotateRelayKey(relay.db, { currentSecretKey: relay.relaySecret, nextSecretKey: next, nextKeyFile: nextPath }, relay.clock);
    assert.is(rotated.replaces, relay.relayKey.keyId);

    const pinned = a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
    const res = await a.request("GET", "/api/sync/key-rotations");
    assert.is(res.status, 200);
    const { statements } = (await res.json()) as { statements: unknown[] };
    assert.is(statements.length, 1);
    const newKey = await verifyRotation(statements[0], pinned);
    assert.is(newKey.key_id, rotated.key_id);

    const published = await publishedRelayKeys(relay.db);
    assert.equal(published.map((k) => k.key_id).sort(), [relay.relayKey.keyId, rotated.key_id].sort(), "both keys are published");
    const env = { clock: relay.clock, random, log: relay.log };
    const oldPath = join(relay.dir, "old.key");
    await writeFile(oldPath, relay.relaySecret, { mode: 0o600 });
    assert.is(await codeOf(loadRelayKey(relay.db, oldPath, env)), "relay_key_state");
    assert.is(await codeOf(rotateRelayKey(relay.db, { currentSecretKey: relay.relaySecret, nextSecretKey: random(32), nextKeyFile: "x" }, relay.clock)), "relay_key_state");

    // The rotated relay countersigns with the new key, under the new witness name.
    const newRelayKey = await loadRelayKey(relay.db, nextPath, env);
    a.transport = inProcess(createRelayApp({ ...relay.deps, relayKey: newRelayKey }));
    const ack = parsePushAck(await (await a.push(a.entries(await a.makeBundles(2)), await a.checkpoint())).json());
    await verifyCosignature(ack.countersigned_checkpoint!, `osiriscare.relay/${rotated.key_id}`, newKey.publicKey);
    assert.ok(ack.countersigned_checkpoint!.includes(applianceOrigin(a.id)));
    assert.is(keyId(newKey.publicKey), rotated.key_id);
    assert.is((await listRelayKeys(relay.db)).find((k) => k.key_id === relay.relayKey.keyId)?.superseded_by, rotated.key_id);
  } finally {
    await relay.close();
  }
});

test.run();
