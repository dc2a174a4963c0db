/**
 * Password hashing with scrypt (node:crypto; also in Deno's node compatibility layer). Stored as
 * `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>` so the cost can rise later without breaking old
 * hashes. Verification compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { fromBase64Url, toBase64Url } from "../../protocol/encoding.ts";
import { RelayError } from "../errors.ts";

/** Cost parameters: N = 2^15, r = 8, p = 1 (OWASP's scrypt minimum is N = 2^17 with p = 1 … this is ~32 MiB). */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, KEY_BYTES, { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Refuses a password that is too short or too long, saying which. */
/** Different characters a password must use. */
export const MIN_DISTINCT_CHARACTERS = 4;

export function checkPasswordPolicy(password: unknown): string {
  if (typeof password !== "string") throw new RelayError("schema", "password: expected a string");
  if (password.length < MIN_PASSWORD_LENGTH) throw new RelayError("schema", `password: must be at least ${MIN_PASSWORD_LENGTH} characters: current length is ${password.length}`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new RelayError("schema", `password: must be at most ${MAX_PASSWORD_LENGTH} characters: current length is ${password.length}`);
  // Length alone lets "            " or "aaaaaaaaaaaa" through (NIST SP 800-63B: refuse repetitive passwords).
  if (new Set(password.trim()).size < MIN_DISTINCT_CHARACTERS) throw new RelayError("schema", `password: must use at least ${MIN_DISTINCT_CHARACTERS} different characters (not only spaces or one repeated character)`);
  return password;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, LOG_N, R, P);
  return `scrypt$${LOG_N}$${R}$${P}$${toBase64Url(salt)}$${toBase64Url(key)}`;
}

/** Whether `password` matches a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0 && n < 64)) return false;
  const expected = fromBase64Url(parts[5]!);
  const key = await derive(password.slice(0, MAX_PASSWORD_LENGTH), fromBase64Url(parts[4]!), logN, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to verify against when the user does not exist, so unknown e-mails take as long as wrong passwords. */
export const DUMMY_HASH = `scrypt$${LOG_N}$${R}$${P}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
