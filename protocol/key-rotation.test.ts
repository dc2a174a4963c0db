import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, generateKeyPair, keyId } from "./crypto.ts";
import { toHex } from "./encoding.ts";
import { signEnvelope, type TrustedKey } from "./envelope.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { isoTime } from "./ids.ts";
import { KEY_ROTATION_SCHEMA, signRotation, verifyRotation } from "./key-rotation.ts";

const NOW = Date.UTC(2026, 10, 27);
const k1 = generateKeyPair(new Uint8Array(32).fill(11));
const k2 = generateKeyPair(new Uint8Array(32).fill(12));
const k3 = generateKeyPair(new Uint8Array(32).fill(13));
const trusted = (...kps: { publicKey: Uint8Array }[]): TrustedKey[] => kps.map((k) => ({ key_id: keyId(k.publicKey), publicKey: k.publicKey }));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

test("a rotation signed by a trusted key yields the new key", async () => {
  const statement = await signRotation(k2.publicKey, createSigner(k1.secretKey), NOW);
  const rotated = await verifyRotation(statement, trusted(k1));
  assert.equal(rotated, { key_id: keyId(k2.publicKey), publicKey: k2.publicKey, replaces: keyId(k1.publicKey), issued_at: isoTime(NOW) });
});

test("rotations chain: once the new key is trusted it can rotate again", async () => {
  const first = await verifyRotation(await signRotation(k2.publicKey, createSigner(k1.secretKey), NOW), trusted(k1));
  const second = await verifyRotation(await signRotation(k3.publicKey, createSigner(k2.secretKey), NOW + 1), [first]);
  assert.is(second.key_id, keyId(k3.publicKey));
});

test("a rotation signed by an untrusted key is refused, even though it names a new key", async () => {
  const statement = await signRotation(k3.publicKey, createSigner(k2.secretKey), NOW);
  const e = await rejection(verifyRotation(statement, trusted(k1)));
  assert.instance(e, IntegrityError);
  assert.is((e as IntegrityError).code, "unknown_key");
});

test("a rotation whose new key was swapped after signing is refused as bad_signature", async () => {
  const statement = await signRotation(k2.publicKey, createSigner(k1.secretKey), NOW);
  const forged = await signRotation(k3.publicKey, createSigner(k1.secretKey), NOW);
  const e = await rejection(verifyRotation({ ...statement, payload: forged.payload, signature: statement.signature }, trusted(k1)));
  assert.is((e as IntegrityError).code, "bad_signature");
});

test("a statement that rotates a key other than its signer's is refused", async () => {
  const body = { schema: KEY_ROTATION_SCHEMA, old_key_id: keyId(k2.publicKey), new_public_key: toHex(k3.publicKey), issued_at: isoTime(NOW) };
  const statement = await signEnvelope("key_rotation", body, createSigner(k1.secretKey));
  const e = await rejection(verifyRotation(statement, trusted(k1, k2)));
  assert.is((e as IntegrityError).code, "unknown_key");
  assert.match(e.message, /^old_key_id: statement rotates key/);
});

test("a rotation to the same key, or a malformed one, is refused naming the field", async () => {
  const same = await signRotation(k1.publicKey, createSigner(k1.secretKey), NOW);
  const e = await rejection(verifyRotation(same, trusted(k1)));
  assert.instance(e, ValidationError);
  assert.match(e.message, /^new_public_key: is the same key/);
  const bad = await signEnvelope("key_rotation", { schema: KEY_ROTATION_SCHEMA, old_key_id: keyId(k1.publicKey), new_public_key: "XY", issued_at: isoTime(NOW) }, createSigner(k1.secretKey));
  assert.match((await rejection(verifyRotation(bad, trusted(k1)))).message, /^new_public_key: expected an Ed25519 public key/);
});

test("a signature made for another context does not rotate a key", async () => {
  const body = { schema: KEY_ROTATION_SCHEMA, old_key_id: keyId(k1.publicKey), new_public_key: toHex(k2.publicKey), issued_at: isoTime(NOW) };
  const statement = await signEnvelope("order", body, createSigner(k1.secretKey));
  assert.is(((await rejection(verifyRotation(statement, trusted(k1)))) as IntegrityError).code, "bad_signature");
});

test.run();
