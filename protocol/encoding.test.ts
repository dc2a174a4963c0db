import { test } from "uvu";
import * as assert from "uvu/assert";
import { ByteSlab, fromBase64, fromBase64Url, fromHex, isLowerHex, SLAB_BYTES, toBase64, toBase64Url, toHex, utf8 } from "./encoding.ts";

test("toBase64 matches RFC 4648 §10 test vectors", () => {
  const vectors: [string, string][] = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
  for (const [plain, enc] of vectors) {
    assert.is(toBase64(utf8(plain)), enc);
    assert.equal(fromBase64(enc), utf8(plain));
  }
});

test("hex and base64url round-trip every byte value", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(fromHex(toHex(all)), all);
  assert.equal(fromBase64Url(toBase64Url(all)), all);
});

test("decoders reject malformed input with a message naming the input", () => {
  assert.throws(() => fromHex("abc"), /even number/);
  assert.throws(() => fromHex("ABCD"), /lower-case/);
  assert.throws(() => fromBase64("Zg="), /padded standard base64/);
});

test("fromHex() refuses every character that is not a lower-case hex digit, wherever it is", () => {
  for (const bad of ["0g", "g0", "0G", "0A", "A0", "0 ", " 0", "0\u00e9", "0\u0130", "-1", "0x", "+0"]) {
    assert.throws(() => fromHex(`00${bad}00`), /Cannot decode hex: expected an even number of lower-case hex digits/, bad);
  }
  assert.throws(() => fromHex("0".repeat(41)), /got "0{20}"…/);
  assert.equal(fromHex(""), new Uint8Array(0));
  assert.equal(fromHex("00ff7f80"), Uint8Array.of(0, 255, 127, 128));
});

test("isLowerHex() accepts exactly the given number of lower-case hex digits", () => {
  assert.ok(isLowerHex("0123456789abcdef", 16));
  for (const bad of ["0123456789abcdeF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", 16, null]) assert.not.ok(isLowerHex(bad, 16), String(bad));
});

test("ByteSlab hands out separate arrays of the requested size, small ones sharing a block", () => {
  const slab = new ByteSlab();
  const a = slab.alloc(10), b = slab.alloc(20), big = slab.alloc(SLAB_BYTES);
  assert.equal([a.length, b.length, big.length], [10, 20, SLAB_BYTES]);
  a.fill(1);
  b.fill(2);
  assert.ok(a.every((x) => x === 1) && b.every((x) => x === 2));
  assert.is(a.buffer, b.buffer);
  assert.is.not(big.buffer, a.buffer);
  const many = Array.from({ length: 100 }, () => slab.alloc(1000));
  many.forEach((m, i) => m.fill(i));
  many.forEach((m, i) => assert.ok(m.every((x) => x === i), `array ${i} was overwritten`));
});

test.run();
