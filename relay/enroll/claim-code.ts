/**
 * Claim codes: what an MSP or partner hands a clinic (as text or QR) so one appliance can enroll at one site.
 * 20 characters of Crockford base32 (100 bits) shown in groups of five, `7KQ2M-XH3PD-0W9RT-ZB4NC`. Typing is
 * forgiving: case, dashes and spaces do not matter, and O/I/L read as 0/1/1. Only the SHA-256 of the
 * normalised code is stored.
 */
import { sha256Hex } from "../../protocol/hash.ts";
import type { Random } from "../deps.ts";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a code: 20 × 5 bits = 100 bits, far beyond guessing within a code's lifetime. */
export const CLAIM_CODE_LENGTH = 20;
const GROUP = 5;

/** A new claim code, grouped for reading (`XXXXX-XXXXX-XXXXX-XXXXX`). */
export function newClaimCode(random: Random): string {
  const bytes = random(CLAIM_CODE_LENGTH);
  if (!(bytes instanceof Uint8Array) || bytes.length !== CLAIM_CODE_LENGTH) throw new TypeError(`Cannot make a claim code: random(${CLAIM_CODE_LENGTH}) must return ${CLAIM_CODE_LENGTH} bytes`);
  // 256 is a multiple of 32, so taking each byte modulo 32 is uniform.
  const chars = [...bytes].map((b) => ALPHABET[b % 32]!).join("");
  return chars.match(new RegExp(`.{${GROUP}}`, "g"))!.join("-");
}

/** The canonical form of a typed code (upper case, no separators, O→0, I/L→1), or null if it cannot be one. */
export function normaliseClaimCode(input: string): string | null {
  if (typeof input !== "string" || input.length > 64) return null;
  const s = input
    .toUpperCase()
    .replace(/[\s-]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  if (s.length !== CLAIM_CODE_LENGTH || [...s].some((c) => !ALPHABET.includes(c))) return null;
  return s;
}

/** SHA-256 (hex) of the normalised code; of the input as given when it is not a well-formed code. */
export function claimCodeSha256(input: string): string {
  return sha256Hex(normaliseClaimCode(input) ?? input);
}
