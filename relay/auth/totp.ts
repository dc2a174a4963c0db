/**
 * Optional TOTP second factor (RFC 6238 via `otpauth`: SHA-1, 6 digits, 30 s, ±1 step). A code is accepted
 * once: the step it matched is remembered and any step at or before it is refused (no replay within the
 * window).
 */
import { Secret, TOTP } from "otpauth";

const ISSUER = "OsirisCare";

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: "SHA1", digits: 6, period: 30, secret: Secret.fromBase32(secretBase32) });
}

/** A new secret (160 random bits) and its otpauth:// URI for authenticator apps. */
export function newTotpSecret(label: string, random: (n: number) => Uint8Array): { secret: string; uri: string } {
  const secret = new Secret({ buffer: random(20).slice().buffer as ArrayBuffer }).base32;
  return { secret, uri: totpFor(secret, label).toString() };
}

/** The time step a code matches (within ±1 step of `now`), or null. */
export function matchTotp(secretBase32: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32, "x").validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 30_000) + delta;
}

/** The code for a secret at a time (tests, and showing the user a check value). */
export function totpCode(secretBase32: string, now: number): string {
  return totpFor(secretBase32, "x").generate({ timestamp: now });
}
