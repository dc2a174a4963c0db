/**
 * Sealed boxes (x25519-hkdf-sha256-aes256gcm): a fixed test vector built on the RFC 7748 §6.1 key pairs,
 * re-derived independently (RFC shared secret, Web Crypto HKDF, node:crypto AES-GCM) so the construction is
 * checked against its description, not only against itself; then round trips and every way opening must fail.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createDecipheriv } from "node:crypto";
import { canonicalBytes } from "../protocol/canonical.ts";
import { concatBytes, fromBase64Url, fromHex, fromUtf8, toBase64Url, toHex, utf8 } from "../protocol/encoding.ts";
import { openBox, SEAL_ALG, SEAL_INFO_PREFIX, sealBox, SealError, type SealedBox } from "./sealed-box.ts";
import { createX25519Key, x25519PublicKey } from "./x25519.ts";

// RFC 7748 §6.1: Alice is the recipient (the appliance), Bob's key is the ephemeral one.
const ALICE_SECRET = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const ALICE_PUBLIC = fromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const BOB_SECRET = fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const BOB_PUBLIC = fromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const RFC_SHARED = fromHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
const NONCE = fromHex("000102030405060708090a0b");
const CTX = { credentialId: "cred_aaaaaaaaaaaaaaaa", applianceId: "app_bbbbbbbbbbbbbbbb" };
const PLAINTEXT = '{"secret":"correct horse battery staple"}';

/** The vector, computed once by this implementation and pinned: a change of construction breaks it. */
const VECTOR: SealedBox = {
  alg: "x25519-hkdf-sha256-aes256gcm",
  ephemeral_public_key: "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
  nonce: "AAECAwQFBgcICQoL",
  ciphertext: "hvgABrGhaqPRhmdU7X5jOekHCNZQcziqerfwR4kQ8RNJCZtcR54d11iC5l-0upZ8JbrG9v-bjcSB",
};

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const fixed = (...chunks: Uint8Array[]) => (n: number) => {
  const c = chunks.shift();
  if (!c || c.length !== n) throw new Error(`fixed random: asked for ${n} bytes`);
  return c;
};
const alice = () => createX25519Key(ALICE_SECRET);

async function sealError(p: Promise<unknown>): Promise<SealError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SealError) return e;
    throw e;
  }
  throw new Error("expected a SealError, the box opened");
}

test("sealBox() reproduces the pinned test vector from fixed keys and nonce", async () => {
  assert.equal(toHex(x25519PublicKey(ALICE_SECRET)), toHex(ALICE_PUBLIC));
  const box = await sealBox(ALICE_PUBLIC, utf8(PLAINTEXT), CTX, fixed(BOB_SECRET, NONCE));
  assert.equal(box, VECTOR);
});

test("the vector decrypts with an independent derivation (RFC 7748 secret, Web Crypto HKDF, node:crypto GCM)", async () => {
  assert.equal(toHex(fromBase64Url(VECTOR.ephemeral_public_key)), toHex(BOB_PUBLIC));
  const context = canonicalBytes({ alg: SEAL_ALG, appliance_id: CTX.applianceId, credential_id: CTX.credentialId });
  assert.is(fromUtf8(context), `{"alg":"x25519-hkdf-sha256-aes256gcm","appliance_id":"${CTX.applianceId}","credential_id":"${CTX.credentialId}"}`);
  const ikm = await crypto.subtle.importKey("raw", RFC_SHARED as BufferSource, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: concatBytes(BOB_PUBLIC, ALICE_PUBLIC) as BufferSource, info: concatBytes(utf8(SEAL_INFO_PREFIX), context) as BufferSource }, ikm, 256);
  const ct = fromBase64Url(VECTOR.ciphertext);
  const decipher = createDecipheriv("aes-256-gcm", new Uint8Array(bits), NONCE);
  decipher.setAAD(context);
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  const pt = Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  assert.is(pt.toString("utf8"), PLAINTEXT);
});

test("openBox() opens the vector and fresh boxes with the recipient's key", async () => {
  assert.is(fromUtf8(await openBox(VECTOR, alice(), CTX)), PLAINTEXT);
  const key = createX25519Key(random(32));
  const box = await sealBox(key.publicKey, utf8("pa55word ünïcode"), CTX, random);
  assert.is(fromUtf8(await openBox(box, key, CTX)), "pa55word ünïcode");
});

test("two seals of the same secret share no bytes: fresh ephemeral key and nonce each time", async () => {
  const a = await sealBox(ALICE_PUBLIC, utf8(PLAINTEXT), CTX, random);
  const b = await sealBox(ALICE_PUBLIC, utf8(PLAINTEXT), CTX, random);
  assert.is.not(a.ephemeral_public_key, b.ephemeral_public_key);
  assert.is.not(a.nonce, b.nonce);
  assert.is.not(a.ciphertext, b.ciphertext);
  assert.not.ok(a.ciphertext.includes(toBase64Url(utf8("correct horse"))), "no plaintext shows through");
});

test("openBox() refuses the wrong key", async () => {
  const e = await sealError(openBox(VECTOR, createX25519Key(random(32)), CTX));
  assert.is(e.code, "open_failed");
});

test("openBox() refuses a swapped credential id or appliance id", async () => {
  assert.is((await sealError(openBox(VECTOR, alice(), { ...CTX, credentialId: "cred_cccccccccccccccc" }))).code, "open_failed");
  assert.is((await sealError(openBox(VECTOR, alice(), { ...CTX, applianceId: "app_dddddddddddddddd" }))).code, "open_failed");
});

test("openBox() refuses any altered byte of ciphertext, tag, nonce or ephemeral key", async () => {
  const flip = (text: string, i: number) => {
    const b = fromBase64Url(text);
    b[i] = b[i]! ^ 0x01;
    return toBase64Url(b);
  };
  const ctLen = fromBase64Url(VECTOR.ciphertext).length;
  for (const i of [0, 7, ctLen - 17, ctLen - 16, ctLen - 1]) {
    assert.is((await sealError(openBox({ ...VECTOR, ciphertext: flip(VECTOR.ciphertext, i) }, alice(), CTX))).code, "open_failed", `ciphertext byte ${i}`);
  }
  assert.is((await sealError(openBox({ ...VECTOR, nonce: flip(VECTOR.nonce, 3) }, alice(), CTX))).code, "open_failed");
  assert.is((await sealError(openBox({ ...VECTOR, ephemeral_public_key: flip(VECTOR.ephemeral_public_key, 5) }, alice(), CTX))).code, "open_failed");
  // A box truncated to another length, or re-used under another algorithm name, is refused as such.
  assert.is((await sealError(openBox({ ...VECTOR, ciphertext: toBase64Url(fromBase64Url(VECTOR.ciphertext).subarray(0, 10)) }, alice(), CTX))).code, "malformed");
  assert.is((await sealError(openBox({ ...VECTOR, nonce: "AAEC" }, alice(), CTX))).code, "malformed");
  assert.is((await sealError(openBox({ ...VECTOR, alg: "x25519-hkdf-sha256-chacha20poly1305" }, alice(), CTX))).code, "unsupported_alg");
});

test("sealBox() refuses a low-order recipient key instead of sealing to a known secret", async () => {
  let threw = false;
  try {
    await sealBox(new Uint8Array(32), utf8("x"), CTX, random);
  } catch (e) {
    threw = !(e instanceof SealError) && e instanceof Error;
  }
  assert.ok(threw, "an all-zero public key is refused");
});

test("error messages never contain the plaintext or key material", async () => {
  const messages: string[] = [];
  for (const p of [() => openBox(VECTOR, createX25519Key(random(32)), CTX), () => openBox({ ...VECTOR, nonce: "!!" }, alice(), CTX)]) messages.push((await sealError(p())).message);
  for (const m of messages) {
    assert.not.ok(m.includes("correct horse"));
    assert.not.ok(m.includes(toHex(ALICE_SECRET)));
  }
});

test.run();
