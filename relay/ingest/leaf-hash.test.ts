import { test } from "uvu";
import * as assert from "uvu/assert";
import { toHex, utf8 } from "../../protocol/encoding.ts";
import { leafHash } from "../../protocol/merkle.ts";
import { lineLeafHash } from "./leaf-hash.ts";

test("lineLeafHash() gives the same bytes as protocol leafHash() for ASCII, non-ASCII and empty lines", () => {
  for (const line of ['{"a":1}', '{"note":"Zürich – 東京 – 🚑"}', "", "x".repeat(300_000)]) {
    const want = leafHash(utf8(line));
    const got = lineLeafHash(line);
    assert.equal(got.bytes, want, JSON.stringify(line.slice(0, 30)));
    assert.is(got.hex, toHex(want));
    assert.instance(got.bytes, Uint8Array);
  }
});

test("lineLeafHash() is the RFC 6962 leaf hash (0x00 prefix), not the plain SHA-256 of the line", () => {
  // SHA-256(0x00) — the leaf hash of the empty line — from RFC 6962 test vectors (empty leaf).
  assert.is(lineLeafHash("").hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
});

test.run();
