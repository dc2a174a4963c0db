/**
 * Bearer tokens: 32 random bytes, unpadded base64url, handed to the appliance once at enrollment and stored
 * by the relay only as their SHA-256. The look-up is by hash; the hashes are then compared in constant time
 * as well, so neither the token nor how much of it matched leaks through timing.
 */
import { fromHex, toBase64Url } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import type { Random } from "../deps.ts";

/** Token entropy: 256 bits, beyond any online or offline guessing. */
export const TOKEN_BYTES = 32;
/** A bearer token is exactly 43 base64url characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newToken(random: Random): string {
  const bytes = random(TOKEN_BYTES);
  if (!(bytes instanceof Uint8Array) || bytes.length !== TOKEN_BYTES) throw new TypeError(`Cannot make a token: random(${TOKEN_BYTES}) must return ${TOKEN_BYTES} bytes`);
  return toBase64Url(bytes);
}

/** Lower-case hex SHA-256 of the token's text: what the relay stores. */
export function tokenSha256(token: string): string {
  return sha256Hex(token);
}

/** Byte-wise equality whose running time depends only on the lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Whether two lower-case hex hashes are equal, in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  try {
    return constantTimeEqual(fromHex(a), fromHex(b));
  } catch {
    return false;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null when absent or not that shape. */
export function parseBearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer +([A-Za-z0-9_-]+)$/i.exec(header.trim()); // the scheme is case-insensitive (RFC 9110 §11.1)
  return m && TOKEN_PATTERN.test(m[1]!) ? m[1]! : null;
}
