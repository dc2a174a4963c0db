import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { toHex, utf8 } from "./encoding.ts";
import { portableSha256, sha256, SHA256_IMPL, sha256Hex } from "./hash.ts";

/** FIPS 180-2 appendix B: "abc", the 448-bit two-block message, and the empty string. */
const VECTORS: [string, string][] = [
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
];

test("where the runtime exposes node:crypto (Node ≥ 20.16, Deno 2) SHA-256 is native, elsewhere portable", () => {
  const exposed = typeof (globalThis as { process?: { getBuiltinModule?: unknown } }).process?.getBuiltinModule === "function";
  assert.is(SHA256_IMPL, exposed ? "native" : "portable");
});

test("sha256() and sha256Hex() give the FIPS 180-2 digests for strings and their bytes", () => {
  for (const [text, hex] of VECTORS) {
    assert.is(sha256Hex(text), hex, text);
    assert.is(sha256Hex(utf8(text)), hex, text);
    assert.is(toHex(sha256(text)), hex, text);
    assert.is(toHex(portableSha256(text)), hex, text);
  }
  assert.is(sha256Hex("a".repeat(1_000_000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
});

test("sha256() returns a plain Uint8Array of 32 bytes that the caller owns", () => {
  const a = sha256("abc");
  assert.is(a.constructor, Uint8Array);
  assert.is(a.length, 32);
  a.fill(0);
  assert.is(sha256Hex("abc"), VECTORS[0]![1]);
});

test("the runtime's SHA-256 and the portable one agree on any bytes and any string, lone surrogates included", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      assert.equal(sha256(bytes), portableSha256(bytes));
      assert.is(sha256Hex(bytes), toHex(portableSha256(bytes)));
    }),
    { seed: 180, numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 3 }), (s, surrogates) => {
      const text = s + surrogates;
      assert.equal(sha256(text), portableSha256(text), JSON.stringify(text));
      assert.is(sha256Hex(text), toHex(portableSha256(utf8(text))));
    }),
    { seed: 180, numRuns: 300 },
  );
});

test.run();
