import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalBytes } from "./canonical.ts";
import { createSigner, generateKeyPair, keyId, sign } from "./crypto.ts";
import { fromBase64Url, toBase64Url, toHex, utf8 } from "./encoding.ts";
import { MAX_ENVELOPE_PAYLOAD_BYTES, openEnvelope, signEnvelope, type TrustedKey } from "./envelope.ts";
import { IntegrityError, ValidationError } from "./errors.ts";

const relay = generateKeyPair(new Uint8Array(32).fill(3));
const signer = createSigner(relay.secretKey);
const trusted: TrustedKey[] = [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }];
const payload = { b: [1, 2], a: "x" };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

test("signEnvelope() carries the canonical payload bytes in base64url, the key id and a hex signature", async () => {
  const env = await signEnvelope("order", payload, signer);
  assert.equal(fromBase64Url(env.payload), canonicalBytes(payload));
  assert.is(env.key_id, keyId(relay.publicKey));
  assert.match(env.signature, /^[0-9a-f]{128}$/);
  const opened = await openEnvelope("order", env, trusted);
  assert.equal(opened.value, { a: "x", b: [1, 2] });
  assert.is(opened.key_id, env.key_id);
});

test("openEnvelope() refuses a signer that is not trusted", async () => {
  const env = await signEnvelope("order", payload, createSigner(new Uint8Array(32).fill(4)));
  const e = await rejection(openEnvelope("order", env, trusted));
  assert.instance(e, IntegrityError);
  assert.is((e as IntegrityError).code, "unknown_key");
  assert.match(e.message, /^key_id: [0-9a-f]{16} is not a trusted key \(trusted: [0-9a-f]{16}\)/);
});

test("openEnvelope() refuses a signature made for another context", async () => {
  const env = await signEnvelope("ruleset", payload, signer);
  const e = await rejection(openEnvelope("order", env, trusted));
  assert.is((e as IntegrityError).code, "bad_signature");
});

test("openEnvelope() refuses a changed payload", async () => {
  const env = await signEnvelope("order", payload, signer);
  const e = await rejection(openEnvelope("order", { ...env, payload: toBase64Url(canonicalBytes({ ...payload, a: "y" })) }, trusted));
  assert.is((e as IntegrityError).code, "bad_signature");
});

test("openEnvelope() refuses a malformed envelope, naming the field", async () => {
  const env = await signEnvelope("order", payload, signer);
  const cases: [unknown, RegExp][] = [
    [{ ...env, extra: 1 }, /^extra: unknown field$/],
    [{ ...env, payload: "a+b" }, /^payload: expected unpadded base64url/],
    [{ ...env, signature: "00" }, /^signature: expected an Ed25519 signature/],
    [{ payload: env.payload, signature: env.signature }, /^key_id: required, but missing$/],
    ["nope", /^value: expected object, got "nope"$/],
  ];
  for (const [bad, re] of cases) {
    const e = await rejection(openEnvelope("order", bad, trusted));
    assert.instance(e, ValidationError);
    assert.match(e.message, re);
  }
});

test("openEnvelope() refuses signed bytes that are not canonical JSON", async () => {
  const bytes = utf8('{ "a": 1 }');
  const env = { payload: toBase64Url(bytes), key_id: keyId(relay.publicKey), signature: toHex(await sign("order", bytes, relay.secretKey)) };
  const e = await rejection(openEnvelope("order", env, trusted));
  assert.is((e as ValidationError).code, "not_canonical");
});

test("signEnvelope() refuses a payload over the size limit", async () => {
  const e = await rejection(signEnvelope("ruleset", { blob: "x".repeat(MAX_ENVELOPE_PAYLOAD_BYTES) }, signer));
  assert.is((e as ValidationError).code, "too_large");
});

test.run();
