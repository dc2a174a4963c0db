/**
 * Byte encodings used on the wire: hex (hashes, keys in JSON), standard base64 (C2SP signed notes),
 * base64url (compact tokens) and UTF-8. Pure and portable (no Buffer) so it runs in browsers too.
 */

/** Each byte's two lower-case hex digits, and each character code's hex value (-1: not a lower-case hex digit). */
const HEX_PAIRS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const HEX_VALUES = Int8Array.from({ length: 128 }, (_, c) => "0123456789abcdef".indexOf(String.fromCharCode(c)));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i]!]!;
  return out;
}

/**
 * Parses lower-case hex; throws a TypeError naming the problem on anything else. Table-driven: verifiers
 * decode a signature per bundle, and a regular expression plus parseInt per byte cost more than the rest.
 */
export function fromHex(hex: string): Uint8Array {
  return decodeHex(hex, null);
}

/** `fromHex`, the bytes carved from `slab` rather than allocated on their own (hot paths: one per bundle). */
export function fromHexIn(slab: ByteSlab, hex: string): Uint8Array {
  return decodeHex(hex, slab);
}

function decodeHex(hex: string, slab: ByteSlab | null): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0) return badHex(hex);
  const out = slab ? slab.alloc(hex.length / 2) : new Uint8Array(hex.length / 2);
  for (let i = 0, j = 0; j < out.length; i += 2, j++) {
    const hi = HEX_VALUES[hex.charCodeAt(i)] ?? -1, lo = HEX_VALUES[hex.charCodeAt(i + 1)] ?? -1;
    if ((hi | lo) < 0) return badHex(hex);
    out[j] = (hi << 4) | lo;
  }
  return out;
}

/** Whether `text` is exactly `length` lower-case hex digits, i.e. what `fromHex` decodes to `length / 2` bytes. */
export function isLowerHex(text: unknown, length: number): boolean {
  if (typeof text !== "string" || text.length !== length) return false;
  for (let i = 0; i < length; i++) if ((HEX_VALUES[text.charCodeAt(i)] ?? -1) < 0) return false;
  return true;
}

function badHex(hex: unknown): never {
  const text = String(hex);
  throw new TypeError(`Cannot decode hex: expected an even number of lower-case hex digits, got ${JSON.stringify(text.slice(0, 20))}${text.length > 20 ? "…" : ""}`);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!, b = bytes[i + 1], c = bytes[i + 2];
    out += B64[a >> 2]! + B64[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    out += b === undefined ? "=" : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    out += c === undefined ? "=" : B64[c & 63]!;
  }
  return out;
}

/** Parses standard padded base64; throws a TypeError on anything else. */
export function fromBase64(text: string): Uint8Array {
  if (!B64_RE.test(text)) throw new TypeError(`Cannot decode base64: ${JSON.stringify(text.slice(0, 20))} is not padded standard base64`);
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, acc = 0, j = 0;
  for (const ch of clean) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** base64url without padding (RFC 4648 §5), for tokens and nonces. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Parses unpadded base64url. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new TypeError(`Cannot decode base64url: ${JSON.stringify(text.slice(0, 20))} is not base64url`);
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(std + "=".repeat((4 - (std.length % 4)) % 4));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing on invalid sequences (never replaces them silently). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Size of the blocks a `ByteSlab` carves arrays from. */
export const SLAB_BYTES = 64 * 1024;

/**
 * Hands out byte arrays carved from shared blocks of SLAB_BYTES: allocating a small array on its own costs more
 * than filling it (about 0.8 µs for 1 KB in Node), and verifiers prepare one per bundle. Larger requests get
 * their own buffer. A block is freed once no array carved from it is reachable.
 */
export class ByteSlab {
  #block = new Uint8Array(0);
  #used = 0;

  alloc(n: number): Uint8Array {
    if (n > SLAB_BYTES / 8) return new Uint8Array(n);
    if (this.#used + n > this.#block.length) {
      this.#block = new Uint8Array(SLAB_BYTES);
      this.#used = 0;
    }
    return this.#block.subarray(this.#used, (this.#used += n));
  }
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time-ish equality for byte arrays (length leaks, content does not). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
