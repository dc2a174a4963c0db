/**
 * Signed appliance requests: what the appliance signs and which headers carry it. Shared by the relay (which
 * verifies) and the appliance's sync client (which signs), so both build exactly the same bytes. Pure and
 * web-standard; it may move into protocol/ later.
 *
 * Every appliance → relay request carries
 *   Authorization: Bearer <token from enrollment>
 *   X-Osiris-Timestamp: <RFC 3339 UTC with milliseconds, the appliance's clock>
 *   X-Osiris-Nonce: <16 random bytes, unpadded base64url>
 *   X-Osiris-Signature: <hex Ed25519 signature, context "request", by the identity key>
 * and the signature covers the canonical JSON (RFC 8785)
 *   {"body_sha256":<hex SHA-256 of the exact body bytes>,"method":<upper case>,"nonce":…,"path":<path + query>,"timestamp":…}
 * The relay refuses a timestamp more than REQUEST_CLOCK_SKEW_MS from its clock and a nonce it has seen.
 */
import { canonicalBytes } from "../../protocol/canonical.ts";
import type { Signer } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime, newNonce } from "../../protocol/ids.ts";

export const REQUEST_HEADERS = {
  authorization: "Authorization",
  timestamp: "X-Osiris-Timestamp",
  nonce: "X-Osiris-Nonce",
  signature: "X-Osiris-Signature",
} as const;

/** How far a request's timestamp may be from the relay's clock, either way: NTP-level drift, not replay time. */
export const REQUEST_CLOCK_SKEW_MS = 120_000;

export interface RequestToSign {
  method: string;
  /** URL path plus query string, exactly as sent (`/api/sync/pull?ruleset_version=3`). */
  path: string;
  /** The exact body bytes (empty for GET). */
  body: Uint8Array;
  timestamp: string;
  nonce: string;
}

/** The signed path of a URL: pathname plus search, as the server sees it. */
export function requestPath(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url, "http://relay.invalid") : url;
  return u.pathname + u.search;
}

/** The bytes an appliance signs (context `request`) for one request. */
export function buildRequestMessage(r: RequestToSign): Uint8Array {
  return canonicalBytes({ method: r.method.toUpperCase(), path: r.path, body_sha256: sha256Hex(r.body), timestamp: r.timestamp, nonce: r.nonce });
}

export interface SignRequestInput {
  method: string;
  /** Absolute URL or path (+ query) of the request. */
  url: string | URL;
  body?: Uint8Array;
  /** The appliance's clock, ms since the epoch. */
  now: number;
  random: (n: number) => Uint8Array;
}

/** The four headers of a signed appliance request (client side: the appliance's sync client uses this). */
export async function signRequest(identity: Pick<Signer, "sign">, token: string, input: SignRequestInput): Promise<Record<string, string>> {
  const timestamp = isoTime(input.now);
  const nonce = newNonce(input.random);
  const message = buildRequestMessage({ method: input.method, path: requestPath(input.url), body: input.body ?? new Uint8Array(), timestamp, nonce });
  const signature = toHex(await identity.sign("request", message));
  return {
    [REQUEST_HEADERS.authorization]: `Bearer ${token}`,
    [REQUEST_HEADERS.timestamp]: timestamp,
    [REQUEST_HEADERS.nonce]: nonce,
    [REQUEST_HEADERS.signature]: signature,
  };
}
