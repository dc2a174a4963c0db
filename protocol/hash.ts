/**
 * SHA-256 helpers, synchronous and byte-identical in Node, Deno and browsers.
 *
 * Where the runtime has a native SHA-256 reachable without an import (Node ≥ 20.16 and Deno 2 expose
 * `process.getBuiltinModule("node:crypto")`), it is used: hashing every evidence line is a large share of
 * ingest and kit verification, and the native one-shot `hash()` is about eight times faster on a bundle line
 * than pure JS. Everywhere else (browsers) @noble/hashes computes the same digests. The native path (found by
 * node-crypto.ts, not imported) is only taken if it reproduces the SHA-256 test vector below, and hash.test.ts
 * checks both paths agree.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { fromHex, toHex, utf8 } from "./encoding.ts";
import { nodeCrypto, type NodeCrypto } from "./node-crypto.ts";

/** SHA-256("abc"), FIPS 180-2 appendix B.1: the native path must reproduce it before it is trusted. */
const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/** The runtime's native SHA-256, or undefined (browsers, Node before 20.16). */
const native: Pick<NodeCrypto, "hash"> | undefined = (() => {
  const hash = nodeCrypto?.hash;
  if (typeof hash !== "function") return undefined;
  try {
    return hash("sha256", "abc", "hex") === ABC_SHA256 ? { hash } : undefined;
  } catch {
    return undefined;
  }
})();

/** Which implementation this runtime uses (reported by benchmarks; the digests are the same). */
export const SHA256_IMPL: "native" | "portable" = native ? "native" : "portable";

/** The portable implementation, exported for tests that compare it with the native one. */
export function portableSha256(data: Uint8Array | string): Uint8Array {
  return nobleSha256(typeof data === "string" ? utf8(data) : data);
}

/** SHA-256 of bytes or of a string's UTF-8 encoding. */
export function sha256(data: Uint8Array | string): Uint8Array {
  if (!native) return portableSha256(data);
  // Through hex: callers (and deep equality in tests) expect a plain Uint8Array, and decoding the hex digest is
  // cheaper than having the digest made as a Buffer and copying it (Merkle trees hash twice per bundle).
  return fromHex(native.hash("sha256", data, "hex"));
}

/** Lower-case hex SHA-256 of bytes or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return native ? native.hash("sha256", data, "hex") : toHex(portableSha256(data));
}
