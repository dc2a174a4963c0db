/**
 * X25519 (RFC 7748) for the appliance's credentials key and the relay's ephemeral sealing keys, via node:crypto.
 *
 * @noble/curves is not installed in this workspace (only @noble/ed25519 and @noble/hashes are), so this small
 * adapter wraps node:crypto's X25519: raw 32-byte keys in, raw 32-byte keys and shared secrets out. The key
 * file holds the raw private scalar; node clamps it as RFC 7748 §5 requires, so any 32 random bytes are a
 * valid private key. Sealing and opening credentials (HKDF + AEAD over the shared secret) is
 * node/sealed-box.ts; this module only does the curve arithmetic. It lives in node/ because the relay (which
 * seals) and the appliance (which opens) both use it.
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { concatBytes, fromBase64Url, fromHex } from "../protocol/encoding.ts";

/** X25519 private and public keys and shared secrets are 32 bytes. */
export const X25519_KEY_BYTES = 32;

/** DER prefixes that wrap a raw X25519 key as PKCS#8 (private) and SubjectPublicKeyInfo (public). */
const PKCS8_X25519_PREFIX = fromHex("302e020100300506032b656e04220420");
const SPKI_X25519_PREFIX = fromHex("302a300506032b656e032100");

/** An X25519 key pair whose private half never leaves this object. */
export interface X25519Key {
  readonly publicKey: Uint8Array;
  /** The raw X25519 shared secret with a peer's public key (feed it to a KDF, never use it directly). */
  sharedSecret(peerPublicKey: Uint8Array): Uint8Array;
}

function checkKey(what: string, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== X25519_KEY_BYTES) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new TypeError(`X25519 ${what} must be ${X25519_KEY_BYTES} bytes: current value is ${got}`);
  }
}

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  checkKey("private key", secretKey);
  return createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_X25519_PREFIX, secretKey)), format: "der", type: "pkcs8" });
}

function publicOf(key: KeyObject): Uint8Array {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new TypeError("node:crypto returned an X25519 public key without its x coordinate");
  return fromBase64Url(jwk.x);
}

/** The public key of a raw 32-byte private key. */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return publicOf(privateKeyObject(secretKey));
}

/** Wraps a raw private key; node:crypto keeps it as an opaque KeyObject from here on. */
export function createX25519Key(secretKey: Uint8Array): X25519Key {
  const key = privateKeyObject(secretKey);
  const publicKey = publicOf(key);
  return {
    publicKey,
    sharedSecret(peerPublicKey) {
      checkKey("peer public key", peerPublicKey);
      const peer = createPublicKey({ key: Buffer.from(concatBytes(SPKI_X25519_PREFIX, peerPublicKey)), format: "der", type: "spki" });
      // OpenSSL refuses low-order peer keys (an all-zero result), so a hostile peer cannot force a known secret.
      return new Uint8Array(diffieHellman({ privateKey: key, publicKey: peer }));
    },
  };
}
