/**
 * SHA-256 helpers. One implementation (@noble/hashes) everywhere so hashes are synchronous and identical in
 * Node, Deno and browsers.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { toHex, utf8 } from "./encoding.ts";

/** SHA-256 of bytes or of a string's UTF-8 encoding. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return nobleSha256(typeof data === "string" ? utf8(data) : data);
}

/** Lower-case hex SHA-256 of bytes or of a string's UTF-8 encoding. */
export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}
