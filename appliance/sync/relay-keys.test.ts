import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { verifyCosignature } from "../../protocol/checkpoint.ts";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { signRotation } from "../../protocol/key-rotation.ts";
import { issueOrder } from "../../relay/orders/issue.ts";
import { relayKeyOf, rotateRelayKey } from "../../relay/keys/index.ts";
import { followRotations, RELAY_KEY_ROTATIONS_KV_KEY } from "./relay-keys.ts";
import { cycleDrafts, loopbackRelay, random, syncFixture } from "./_testing.ts";

const pin = (s: ReturnType<typeof createSigner>) => ({ key_id: keyId(s.publicKey), public_key: toHex(s.publicKey), name: `osiriscare.relay/${keyId(s.publicKey)}` });

test("followRotations() follows a chain K1 → K2 → K3 listed in any order, from the pinned K1 only", async () => {
  const [k1, k2, k3] = [createSigner(random(32)), createSigner(random(32)), createSigner(random(32))];
  const s12 = await signRotation(k2.publicKey, k1, 1_000);
  const s23 = await signRotation(k3.publicKey, k2, 2_000);
  const r = await followRotations([s23, s12], [pin(k1)]);
  assert.equal(r.added, [keyId(k2.publicKey), keyId(k3.publicKey)]);
  assert.equal(r.pins.map((k) => k.key_id), [keyId(k1.publicKey), keyId(k2.publicKey), keyId(k3.publicKey)], "old keys stay pinned");
  assert.equal(r.refused, []);
});

test("followRotations() adds nothing for a statement signed by a key that is not pinned, and reports a forged one", async () => {
  const [k1, stranger, next] = [createSigner(random(32)), createSigner(random(32)), createSigner(random(32))];
  const unrelated = await signRotation(next.publicKey, stranger, 1_000);
  assert.equal((await followRotations([unrelated], [pin(k1)])).added, [], "a key cannot vouch for itself");
  const genuine = await signRotation(next.publicKey, k1, 1_000);
  const forged = { ...genuine, signature: genuine.signature.replace(/^./, (c) => (c === "0" ? "1" : "0")) };
  const r = await followRotations([forged], [pin(k1)]);
  assert.equal(r.added, []);
  assert.is(r.refused.length, 1);
  assert.match(r.refused[0]!.reason, /^bad_signature/);
});

test("after the relay rotates its key, the appliance pins the new key through the signed statement: countersignatures and orders by it verify", async () => {
  const lr = await loopbackRelay();
  const a = await syncFixture(lr);
  try {
    const oldKey = a.identity.pinnedRelayKeys[0]!.key_id;
    const nextSecret = random(32);
    await rotateRelayKey(lr.relay.db, { currentSecretKey: lr.relay.relaySecret, nextSecretKey: nextSecret, nextKeyFile: join(lr.relay.dir, "relay-2.key") }, lr.relay.clock);
    lr.relay.deps.relayKey = relayKeyOf(createSigner(nextSecret)); // the relay restarts with its new key
    const newKey = lr.relay.deps.relayKey.keyId;

    await a.evidence.append(cycleDrafts(lr.relay.clock.now()));
    await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "force_scan", params: {}, issued_by: "t" }, lr.relay.deps);
    const r = await a.client.sync();
    assert.is(r.push.countersigned, 3, "the new key's cosignature verified once the rotation was followed");
    assert.equal(a.identity.pinnedRelayKeys.map((k) => k.key_id).sort(), [oldKey, newKey].sort());
    assert.equal(r.pull.orders.map((o) => o.status), ["executed"], "an order signed by the new key runs");
    const cp = await a.evidence.latestCheckpoint();
    const pinned = a.identity.pinnedRelayKeys.find((k) => k.key_id === newKey)!;
    await verifyCosignature(cp!.countersigned_note!, pinned.name, fromHex(pinned.public_key));
    assert.is(a.log.find("relay_keys_rotated").length, 1);

    // The root helper, whose anchor predates the rotation, follows it from the statement the daemon kept.
    const kept = JSON.parse(String((await a.store.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [RELAY_KEY_ROTATIONS_KV_KEY] })).rows[0]!["value"])) as unknown[];
    const followed = await followRotations(kept, [a.identity.pinnedRelayKeys.find((k) => k.key_id === oldKey)!]);
    assert.equal(followed.added, [newKey]);
  } finally {
    await a.close();
    await lr.close();
  }
});

test.run();
