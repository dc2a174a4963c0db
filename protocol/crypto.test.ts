import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import rfc8032 from "../fixtures/vectors/rfc8032-ed25519.json" with { type: "json" };
import {
  createSigner,
  createVerifier,
  type Ed25519Impl,
  generateKeyPair,
  hasNativeEd25519,
  keyFingerprint,
  nativeVerifyBackend,
  keyId,
  publicKeyOf,
  sign,
  SIGNING_CONTEXTS,
  type SigningContext,
  signingInput,
  signingInputOfText,
  signRaw,
  verify,
  verifyRaw,
} from "./crypto.ts";
import { concatBytes, fromHex, toHex, utf8 } from "./encoding.ts";

/** The two implementations that must agree byte for byte. */
const IMPLS = ["native", "portable"] as const satisfies readonly Ed25519Impl[];
/** Fixed seed so failures reproduce; few runs because each one signs and verifies several times. */
const FC = { seed: 8032, numRuns: 50 } as const;

const vectors = rfc8032.vectors.map((v) => ({
  name: v.name,
  secretKey: fromHex(v.secret_key),
  publicKey: fromHex(v.public_key),
  message: fromHex(v.message),
  signature: fromHex(v.signature),
}));
const [TEST1, TEST2, TEST3] = vectors as [(typeof vectors)[0], (typeof vectors)[0], (typeof vectors)[0]];

/** Order of the Ed25519 base point (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** A copy of `bytes` with bit `bit` flipped. */
function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = out[bit >> 3]! ^ (1 << (bit & 7));
  return out;
}

/** Insists `run` returns a promise that rejects with a TypeError matching `pattern` (and does not throw). */
async function rejectsTypeError(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  let pending: Promise<unknown>;
  try {
    pending = run();
  } catch (e) {
    assert.unreachable(`threw synchronously instead of rejecting: ${String(e)}`);
    return;
  }
  let error: unknown;
  try {
    await pending;
  } catch (e) {
    error = e;
  }
  assert.instance(error, TypeError, "expected a rejection with a TypeError");
  assert.match((error as Error).message, pattern);
}

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 300 });
const context = fc.constantFrom(...SIGNING_CONTEXTS);

// ---- RFC 8032 ------------------------------------------------------------------------------------------

test("this runtime offers native (WebCrypto) Ed25519, so both implementations are exercised", async () => {
  assert.ok(await hasNativeEd25519());
});

test("publicKeyOf() and generateKeyPair() derive the RFC 8032 §7.1 public keys", () => {
  assert.is(vectors.length, 5);
  for (const v of vectors) {
    assert.is(toHex(publicKeyOf(v.secretKey)), toHex(v.publicKey), v.name);
    assert.equal(generateKeyPair(v.secretKey), { secretKey: v.secretKey, publicKey: v.publicKey }, v.name);
  }
  assert.is(TEST3.message.length, 2);
  assert.is(vectors[3]!.message.length, 1023);
});

test("signRaw() reproduces every RFC 8032 §7.1 signature, native and portable byte for byte", async () => {
  for (const v of vectors) {
    for (const impl of [...IMPLS, "auto"] as const) {
      assert.is(toHex(await signRaw(v.message, v.secretKey, impl)), toHex(v.signature), `${v.name} (${impl})`);
    }
  }
});

test("verifyRaw() accepts every RFC 8032 §7.1 signature with both implementations", async () => {
  for (const v of vectors) {
    for (const impl of [...IMPLS, "auto"] as const) assert.ok(await verifyRaw(v.signature, v.message, v.publicKey, impl), `${v.name} (${impl})`);
  }
});

test("verifyRaw() rejects an RFC 8032 signature once a bit of the message, R or S flips, or under another key", async () => {
  for (const impl of IMPLS) {
    for (const bit of [0, 7, 8, 15]) assert.not.ok(await verifyRaw(TEST3.signature, flipBit(TEST3.message, bit), TEST3.publicKey, impl), `message bit ${bit} (${impl})`);
    for (const bit of [0, 100, 255, 256, 400, 511]) assert.not.ok(await verifyRaw(flipBit(TEST3.signature, bit), TEST3.message, TEST3.publicKey, impl), `signature bit ${bit} (${impl})`);
    assert.not.ok(await verifyRaw(TEST1.signature, new Uint8Array([0]), TEST1.publicKey, impl), `a byte added to the empty message (${impl})`);
    assert.not.ok(await verifyRaw(TEST1.signature, TEST1.message, TEST2.publicKey, impl), `another key (${impl})`);
  }
});

test("verifyRaw() rejects the malleated twin of a signature (S + L) with both implementations", async () => {
  const s = TEST1.signature.slice(32).reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
  let twin = s + L;
  const malleated = TEST1.signature.slice();
  for (let i = 32; i < 64; i++, twin >>= 8n) malleated[i] = Number(twin & 0xffn);
  assert.is.not(toHex(malleated), toHex(TEST1.signature));
  for (const impl of IMPLS) assert.not.ok(await verifyRaw(malleated, TEST1.message, TEST1.publicKey, impl), impl);
});

test("verifyRaw() returns false, never throws, for a public key that is not a curve point", async () => {
  const notAPoint = new Uint8Array(32);
  notAPoint[0] = 2; // y = 2 has no x on the curve
  for (const impl of IMPLS) {
    assert.not.ok(await verifyRaw(TEST1.signature, TEST1.message, notAPoint, impl), impl);
    assert.not.ok(await createVerifier(notAPoint, impl).verifyRaw(TEST1.message, TEST1.signature), `createVerifier (${impl})`);
  }
});

test("createVerifier() (node:crypto's one-shot verify where offered) accepts the RFC 8032 signatures and refuses flips, other keys and S + L", async () => {
  const s = TEST1.signature.slice(32).reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
  let twin = s + L;
  const malleated = TEST1.signature.slice();
  for (let i = 32; i < 64; i++, twin >>= 8n) malleated[i] = Number(twin & 0xffn);
  for (const impl of [...IMPLS, "auto"] as const) {
    for (const v of vectors) assert.ok(await createVerifier(v.publicKey, impl).verifyRaw(v.message, v.signature), `${v.name} (${impl})`);
    const v3 = createVerifier(TEST3.publicKey, impl);
    for (const bit of [0, 7, 8, 15]) assert.not.ok(await v3.verifyRaw(flipBit(TEST3.message, bit), TEST3.signature), `message bit ${bit} (${impl})`);
    for (const bit of [0, 100, 255, 256, 400, 511]) assert.not.ok(await v3.verifyRaw(TEST3.message, flipBit(TEST3.signature, bit)), `signature bit ${bit} (${impl})`);
    assert.not.ok(await createVerifier(TEST2.publicKey, impl).verifyRaw(TEST1.message, TEST1.signature), `another key (${impl})`);
    assert.not.ok(await createVerifier(TEST1.publicKey, impl).verifyRaw(TEST1.message, malleated), `S + L (${impl})`);
  }
});

test("where the runtime exposes node:crypto (Node ≥ 20.16, Deno 2), native Verifiers use its one-shot verify", async () => {
  const exposed = typeof (globalThis as { process?: { getBuiltinModule?: unknown } }).process?.getBuiltinModule === "function";
  assert.is(await nativeVerifyBackend(), exposed ? "node:crypto" : "webcrypto");
});

test("one native Verifier checks many signatures at once and gets each answer right", async () => {
  const kp = generateKeyPair(new Uint8Array(32).fill(3));
  const signer = createSigner(kp.secretKey, "portable");
  const verifier = createVerifier(kp.publicKey, "native");
  const messages = Array.from({ length: 200 }, (_, i) => utf8(`message ${i}`));
  const signatures = await Promise.all(messages.map((m) => signer.signRaw(m)));
  // Every third signature belongs to the next message: those must fail, and only those.
  const answers = await Promise.all(messages.map((m, i) => verifier.verifyRaw(m, signatures[i % 3 === 0 ? (i + 1) % messages.length : i]!)));
  assert.equal(answers, messages.map((_, i) => i % 3 !== 0));
});

// ---- signing contexts ----------------------------------------------------------------------------------

test("signingInput() is 'OsirisCare/v1 ' + context + a newline + the message", () => {
  assert.is(toHex(signingInput("evidence", utf8("{}"))), "4f7369726973436172652f76312065766964656e63650a7b7d");
  for (const c of SIGNING_CONTEXTS) assert.equal(signingInput(c, TEST3.message), concatBytes(utf8(`OsirisCare/v1 ${c}\n`), TEST3.message), c);
});

test("sign() is signRaw() over the signing input, with a pinned answer for the RFC TEST 1 key", async () => {
  const msg = utf8('{"a":1}');
  // Computed once with OpenSSL (node:crypto), independently of this module, over "OsirisCare/v1 evidence\n{"a":1}".
  const expected = "a479a121bea7c3fd7158f5620c4d616179c70103c05e91afc734b2092eccde9b" + "f44d21ad994f98da49a6410af2b36e205d5c335a4f6555e6b605a4478281d00e";
  for (const impl of IMPLS) {
    const sig = await sign("evidence", msg, TEST1.secretKey, impl);
    assert.equal(sig, await signRaw(signingInput("evidence", msg), TEST1.secretKey, impl), impl);
    assert.is(toHex(sig), expected, impl);
  }
});

test("a signature made for one context verifies for that context only, and never as a raw signature", async () => {
  const msg = utf8('{"kind":"check_cycle"}');
  for (const impl of IMPLS) {
    for (const signed of SIGNING_CONTEXTS) {
      const sig = await sign(signed, msg, TEST2.secretKey, impl);
      for (const checked of SIGNING_CONTEXTS) {
        assert.is(await verify(checked, msg, sig, TEST2.publicKey, impl), checked === signed, `signed for ${signed}, checked for ${checked} (${impl})`);
      }
      assert.not.ok(await verifyRaw(sig, msg, TEST2.publicKey, impl), `raw over the bare message (${impl})`);
      assert.ok(await verifyRaw(sig, signingInput(signed, msg), TEST2.publicKey, impl), `raw over the signing input (${impl})`);
    }
    // And a raw signature over the bare message is no signature for any context.
    const raw = await signRaw(msg, TEST2.secretKey, impl);
    for (const c of SIGNING_CONTEXTS) assert.not.ok(await verify(c, msg, raw, TEST2.publicKey, impl), `raw signature checked for ${c} (${impl})`);
  }
});

test("an unknown signing context is refused by every entry point, naming the valid ones", async () => {
  const bogus = "Evidence" as SigningContext;
  const pattern = /^Unknown signing context "Evidence": expected one of evidence, checkpoint, order, ruleset, request, key_rotation, enrollment, appliance_config, kit_manifest$/;
  assert.throws(() => signingInput(bogus, TEST1.message), (e: unknown) => e instanceof TypeError && pattern.test(e.message));
  for (const impl of IMPLS) {
    await rejectsTypeError(() => sign(bogus, TEST1.message, TEST1.secretKey, impl), pattern);
    await rejectsTypeError(() => verify(bogus, TEST1.message, TEST1.signature, TEST1.publicKey, impl), pattern);
    await rejectsTypeError(() => createSigner(TEST1.secretKey, impl).sign(bogus, TEST1.message), pattern);
    await rejectsTypeError(() => createVerifier(TEST1.publicKey, impl).verify(bogus, TEST1.message, TEST1.signature), pattern);
  }
});

// ---- native and portable agree -------------------------------------------------------------------------

test("native and portable produce identical signatures for random keys and messages and accept each other's", async () => {
  await fc.assert(
    fc.asyncProperty(seed32, message, context, async (secretKey, msg, ctx) => {
      const publicKey = publicKeyOf(secretKey);
      const native = await sign(ctx, msg, secretKey, "native");
      const portable = await sign(ctx, msg, secretKey, "portable");
      assert.is(toHex(native), toHex(portable));
      assert.ok(await verify(ctx, msg, native, publicKey, "portable"));
      assert.ok(await verify(ctx, msg, portable, publicKey, "native"));
      assert.equal(await signRaw(msg, secretKey, "native"), await signRaw(msg, secretKey, "portable"));
    }),
    FC,
  );
});

test("both implementations reject a random signature with a flipped bit, a flipped message bit, or another key", async () => {
  await fc.assert(
    fc.asyncProperty(seed32, seed32, message, context, fc.nat(), async (secretKey, otherSeed, msg, ctx, n) => {
      fc.pre(toHex(secretKey) !== toHex(otherSeed));
      const publicKey = publicKeyOf(secretKey);
      const sig = await sign(ctx, msg, secretKey, "portable");
      const tamperedMsg = msg.length ? flipBit(msg, n % (msg.length * 8)) : new Uint8Array([n & 0xff]);
      for (const impl of IMPLS) {
        assert.ok(await verify(ctx, msg, sig, publicKey, impl));
        assert.not.ok(await verify(ctx, msg, flipBit(sig, n % 512), publicKey, impl));
        assert.not.ok(await verify(ctx, tamperedMsg, sig, publicKey, impl));
        assert.not.ok(await verify(ctx, msg, sig, publicKeyOf(otherSeed), impl));
      }
    }),
    FC,
  );
});

// ---- malformed input -----------------------------------------------------------------------------------

test("verify() and verifyRaw() return false for signatures and public keys of the wrong length", async () => {
  for (const impl of IMPLS) {
    const verifier = createVerifier(TEST1.publicKey, impl);
    for (const n of [0, 63, 65, 128]) {
      const sig = new Uint8Array(n);
      sig.set(TEST1.signature.subarray(0, Math.min(n, 64)));
      assert.not.ok(await verifyRaw(sig, TEST1.message, TEST1.publicKey, impl), `signature of ${n} bytes (${impl})`);
      assert.not.ok(await verify("evidence", TEST1.message, sig, TEST1.publicKey, impl), `signature of ${n} bytes (${impl})`);
      assert.not.ok(await verifier.verifyRaw(TEST1.message, sig), `verifier, signature of ${n} bytes (${impl})`);
    }
    for (const n of [0, 31, 33, 64]) {
      const key = new Uint8Array(n);
      key.set(TEST1.publicKey.subarray(0, Math.min(n, 32)));
      assert.not.ok(await verifyRaw(TEST1.signature, TEST1.message, key, impl), `public key of ${n} bytes (${impl})`);
      assert.not.ok(await verify("evidence", TEST1.message, TEST1.signature, key, impl), `public key of ${n} bytes (${impl})`);
    }
  }
});

test("signing with a secret key that is not 32 bytes fails with a TypeError that gives the length", async () => {
  for (const n of [0, 31, 33, 64]) {
    const key = new Uint8Array(n);
    const pattern = new RegExp(`^Ed25519 secret key must be 32 bytes: current length is ${n}$`);
    for (const impl of IMPLS) {
      await rejectsTypeError(() => signRaw(TEST1.message, key, impl), pattern);
      await rejectsTypeError(() => sign("evidence", TEST1.message, key, impl), pattern);
      assert.throws(() => createSigner(key, impl), pattern);
    }
    assert.throws(() => publicKeyOf(key), pattern);
    assert.throws(() => generateKeyPair(key), pattern);
  }
  assert.throws(() => createVerifier(new Uint8Array(31)), /^Ed25519 public key must be 32 bytes: current length is 31$/);
});

// ---- Signer and Verifier -------------------------------------------------------------------------------

test("createSigner() and createVerifier() agree with sign() and verify()", async () => {
  const msg = utf8('{"seq":1}');
  for (const impl of IMPLS) {
    const signer = createSigner(TEST2.secretKey, impl);
    const verifier = createVerifier(TEST2.publicKey, impl);
    assert.equal(signer.publicKey, TEST2.publicKey);
    assert.equal(verifier.publicKey, TEST2.publicKey);
    for (let round = 0; round < 2; round++) {
      // Twice, so the cached (imported) key is used as well as the first import.
      assert.equal(await signer.signRaw(TEST2.message), TEST2.signature, impl);
      assert.equal(await signer.sign("order", msg), await sign("order", msg, TEST2.secretKey, impl), impl);
      assert.ok(await verifier.verifyRaw(TEST2.message, TEST2.signature), impl);
    }
    const sig = await signer.sign("order", msg);
    assert.ok(await verifier.verify("order", msg, sig), impl);
    assert.ok(await verify("order", msg, sig, TEST2.publicKey, impl), impl);
    assert.not.ok(await verifier.verify("ruleset", msg, sig), `other context (${impl})`);
    assert.not.ok(await verifier.verify("order", utf8('{"seq":2}'), sig), `other message (${impl})`);
    assert.not.ok(await verifier.verify("order", msg, flipBit(sig, 3)), `tampered signature (${impl})`);
    assert.not.ok(await createVerifier(TEST1.publicKey, impl).verify("order", msg, sig), `other key (${impl})`);
  }
});

// ---- key ids -------------------------------------------------------------------------------------------

test("keyId() and keyFingerprint() give the pinned answers for the RFC 8032 TEST 1 public key", () => {
  // SHA-256(d75a…511a) = 21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9
  assert.is(keyId(TEST1.publicKey), "21fe31dfa154a261");
  assert.is(keyFingerprint(TEST1.publicKey), "21fe:31df:a154:a261:626b:f854:046f:d227");
});

test("keyId() and keyFingerprint() are stable per key and differ between keys", () => {
  for (const v of vectors) {
    assert.match(keyId(v.publicKey), /^[0-9a-f]{16}$/);
    assert.match(keyFingerprint(v.publicKey), /^[0-9a-f]{4}(?::[0-9a-f]{4}){7}$/);
    assert.is(keyId(v.publicKey.slice()), keyId(v.publicKey));
    assert.ok(keyFingerprint(v.publicKey).replaceAll(":", "").startsWith(keyId(v.publicKey)));
  }
  assert.is(new Set(vectors.map((v) => keyId(v.publicKey))).size, vectors.length);
});

test("keyId() follows a key whose bytes were changed after an earlier call", () => {
  const key = TEST1.publicKey.slice();
  assert.is(keyId(key), "21fe31dfa154a261");
  key.set(TEST2.publicKey);
  assert.is(keyId(key), keyId(TEST2.publicKey.slice()));
  assert.is.not(keyId(key), "21fe31dfa154a261");
});

test("signingInputOfText() gives the bytes signingInput() gives for the text's UTF-8", () => {
  for (const text of ["", "plain ASCII", "Ünïcödé ✓ and \u{1F600}", "x".repeat(20_000)]) {
    for (const c of SIGNING_CONTEXTS) assert.equal(signingInputOfText(c, text), signingInput(c, utf8(text)), `${c}: ${text.slice(0, 20)}`);
  }
  assert.throws(() => signingInputOfText("bogus" as SigningContext, "x"), /Unknown signing context "bogus"/);
});

test.run();
