/**
 * Common value formats of the wire contract: opaque ids, RFC 3339 UTC times with milliseconds, nonces, and
 * the lower-case hex forms of hashes, keys and signatures. Each comes as a zod schema (for message schemas)
 * plus the small helpers that make values of that format. Pure: randomness and time are passed in.
 */
import { z } from "zod";
import { toBase64Url } from "./encoding.ts";

// ---- ids -----------------------------------------------------------------------------------------------

/** An opaque id: a lower-case prefix naming the kind (`app`, `site`, `ord`), `_`, 8–40 base32/36 characters. */
/** Host ids: chosen by the MSP in the site config (e.g. `rfc-ws02`), so readable rather than minted. */
export const HOST_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const ID_PATTERN = /^[a-z]+_[0-9a-z]{8,40}$/;
/** Longest prefix `newId` makes (the pattern itself has no limit; this keeps ids short in URLs and logs). */
export const MAX_ID_PREFIX_LENGTH = 16;
/** Random bytes in a new id: 128 bits, so ids never collide in practice. */
export const ID_RANDOM_BYTES = 16;

const PREFIX_PATTERN = /^[a-z]+$/;

/** Schema of an id (any prefix). */
export const idSchema = z.string().regex(ID_PATTERN, "expected an id matching ^[a-z]+_[0-9a-z]{8,40}$");

/** Schema of an id with a given prefix, e.g. `prefixedIdSchema("app")` accepts `app_…` only. */
export function prefixedIdSchema(prefix: string): z.ZodString {
  checkPrefix(prefix);
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{8,40}$`), `expected an id starting with "${prefix}_"`);
}

/** Whether `value` is an id. */
export function isId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

function checkPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix) || prefix.length > MAX_ID_PREFIX_LENGTH) {
    throw new TypeError(`Cannot make an id: the prefix must be 1-${MAX_ID_PREFIX_LENGTH} lower-case letters, current value is ${JSON.stringify(prefix)}`);
  }
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32 in lower case, without padding. */
export function toBase32Lower(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** A new id `<prefix>_<26 base32 characters>` from 16 bytes of `random` (inject a CSPRNG, or a seeded one in tests). */
export function newId(prefix: string, random: (n: number) => Uint8Array): string {
  checkPrefix(prefix);
  const bytes = random(ID_RANDOM_BYTES);
  if (!(bytes instanceof Uint8Array) || bytes.length !== ID_RANDOM_BYTES) {
    throw new TypeError(`Cannot make an id: random(${ID_RANDOM_BYTES}) must return ${ID_RANDOM_BYTES} bytes`);
  }
  return `${prefix}_${toBase32Lower(bytes)}`;
}

// ---- times ---------------------------------------------------------------------------------------------

/** RFC 3339 UTC with exactly three fractional digits, the only time format on the wire. */
export const ISO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** 9999-12-31T23:59:59.999Z, the last time with a four-digit year. */
export const MAX_TIME_MS = 253402300799999;

/** Milliseconds since the epoch → `2026-11-27T22:35:36.123Z`. */
export function isoTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIME_MS) {
    throw new RangeError(`Cannot format a time: expected integer milliseconds between 0 and ${MAX_TIME_MS}, current value is ${ms}`);
  }
  return new Date(ms).toISOString();
}

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 400 Gregorian years, in ms: the calendar repeats exactly, which lets years 0–99 dodge Date.UTC's 1900 offset. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** The value of `n` decimal digits at `at`, or -1 if one of them is not 0–9. */
function digits(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `2026-11-27T22:35:36.123Z` → milliseconds, or NaN if it is not a real time in our format (ISO_TIME_PATTERN
 * and a date that exists: no February 30, no hour 24, no leap second), i.e. exactly the texts `isoTime` makes.
 * Read field by field rather than with Date.parse and a round trip: verifiers parse two times per bundle.
 */
export function parseIsoTime(text: string): number {
  if (typeof text !== "string" || text.length !== 24) return NaN;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":" || text[19] !== "." || text[23] !== "Z") return NaN;
  const year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  const hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2), ms = digits(text, 20, 3);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > MONTH_DAYS[month - 1]! + (month === 2 && leap ? 1 : 0)) return NaN;
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - FOUR_CENTURIES_MS;
}

/** Whether `value` is a time in the wire format. */
export function isIsoTime(value: unknown): value is string {
  return typeof value === "string" && !Number.isNaN(parseIsoTime(value));
}

/** Schema of a wire time. */
export const isoTimeSchema = z.string().refine((s) => !Number.isNaN(parseIsoTime(s)), {
  message: "expected an RFC 3339 UTC time with milliseconds (2026-11-27T22:35:36.123Z)",
});

// ---- nonces --------------------------------------------------------------------------------------------

/** Random bytes in a nonce. */
export const NONCE_BYTES = 16;
/** 16 bytes in unpadded base64url: 21 free characters and a last one carrying 2 bits (so exactly one text per nonce). */
/** An e-mail address as users and channels give it (the relay checks it; the sign-in page checks it first). */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A sign-in link's token: 32 random bytes, base64url (relay/auth/token.ts makes them). */
export const MAGIC_LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** Schema of a nonce. */
export const nonceSchema = z.string().regex(NONCE_PATTERN, "expected 16 bytes as unpadded base64url (22 characters)");

/** A new nonce from 16 bytes of `random`. */
export function newNonce(random: (n: number) => Uint8Array): string {
  const bytes = random(NONCE_BYTES);
  if (!(bytes instanceof Uint8Array) || bytes.length !== NONCE_BYTES) {
    throw new TypeError(`Cannot make a nonce: random(${NONCE_BYTES}) must return ${NONCE_BYTES} bytes`);
  }
  return toBase64Url(bytes);
}

// ---- hex -----------------------------------------------------------------------------------------------

/** Lower-case hex SHA-256 (64 digits). */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 hash as 64 lower-case hex digits");
/** Lower-case hex Ed25519 public key (64 digits). */
export const publicKeyHexSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected an Ed25519 public key as 64 lower-case hex digits");
/** Lower-case hex Ed25519 signature (128 digits). */
export const signatureHexSchema = z.string().regex(/^[0-9a-f]{128}$/, "expected an Ed25519 signature as 128 lower-case hex digits");
/** A key id as made by `keyId` (16 lower-case hex digits). */
export const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, "expected a key id (16 lower-case hex digits)");
