import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromBase64, fromBase64Url, fromHex, toBase64, toBase64Url, toHex, utf8 } from "./encoding.ts";

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

test.run();
