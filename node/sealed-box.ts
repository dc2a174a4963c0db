/**
 * Sealed boxes for site credentials: the relay seals a credential to one appliance's X25519 public key; only
 * that appliance's private key opens it. Algorithm `x25519-hkdf-sha256-aes256gcm` (the name in protocol
 * sync.ts `sealedCredentialSchema.alg`), built only from standard primitives:
 *
 *   e  ← 32 random bytes (a fresh ephemeral X25519 key per box), E = X25519(e, 9)
 *   ss = X25519(e, R)                                   (R: the appliance's credentials public key)
 *   ctx = RFC 8785 canonical JSON {"alg","appliance_id","credential_id"}
 *   k  = HKDF-SHA256(ikm = ss, salt = E ‖ R, info = "osiris.sealed-credential/v1\n" ‖ ctx, 32 bytes)
 *   n  ← 12 random bytes
 *   c  = AES-256-GCM(k, n, plaintext, additional data = ctx)   (128-bit tag appended)
 *
 * The salt binds both public keys (as HPKE's KEM context does), so a box cannot be re-targeted to another
 * key; the credential id and appliance id are bound twice, in the key derivation and as additional data, so a
 * box moved to another credential or another appliance does not open. A fresh ephemeral key per box means a
 * key is never used for two messages, so the random GCM nonce is belt and braces, not a requirement.
 *
 * X25519 comes from node:crypto (node/x25519.ts), HKDF from @noble/hashes, AES-GCM from Web Crypto. Every
 * failure to open is the same `SealError("open_failed")`: which check failed is not an oracle worth giving.
 * Errors never carry key material or plaintext.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalBytes } from "../protocol/canonical.ts";
import { concatBytes, fromBase64Url, toBase64Url, utf8 } from "../protocol/encoding.ts";
import { createX25519Key, X25519_KEY_BYTES, type X25519Key } from "./x25519.ts";

export const SEAL_ALG = "x25519-hkdf-sha256-aes256gcm";
/** Domain-separation prefix of the HKDF info; bump the version to change the construction. */
export const SEAL_INFO_PREFIX = "osiris.sealed-credential/v1\n";
/** AES-GCM nonce (96 bits, the size GCM is defined for without hashing). */
export const SEAL_NONCE_BYTES = 12;
/** AES-GCM authentication tag (128 bits, the full tag). */
export const SEAL_TAG_BYTES = 16;
/** Largest plaintext sealed: a credential (an 8 KiB secret plus names) is far below it. */
export const MAX_SEALED_PLAINTEXT_BYTES = 32 * 1024;

export type SealErrorCode = "unsupported_alg" | "malformed" | "open_failed";

export class SealError extends Error {
  override readonly name = "SealError";
  constructor(
    readonly code: SealErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Who a box is for and what it holds: both are bound into the key and the additional data. */
export interface SealContext {
  credentialId: string;
  applianceId: string;
}

/** A sealed box as it travels (all binary fields unpadded base64url). */
export interface SealedBox {
  alg: string;
  ephemeral_public_key: string;
  nonce: string;
  ciphertext: string;
}

/** The context bytes: canonical JSON, so ids can never run into each other. */
export function sealContextBytes(ctx: SealContext): Uint8Array {
  for (const [name, v] of [["credentialId", ctx.credentialId], ["applianceId", ctx.applianceId]] as const) {
    if (typeof v !== "string" || v.length === 0 || v.length > 200) throw new TypeError(`Cannot seal as '${name}' must be a non-empty id of at most 200 characters: current value is ${JSON.stringify(v)}`);
  }
  return canonicalBytes({ alg: SEAL_ALG, appliance_id: ctx.applianceId, credential_id: ctx.credentialId });
}

function deriveKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, context: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeralPublic, recipientPublic), concatBytes(utf8(SEAL_INFO_PREFIX), context), 32);
}

async function aesKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, [usage]);
}

/**
 * Seals `plaintext` to `recipientPublicKey` (32 bytes). `random` supplies the ephemeral key and the nonce
 * (inject a fixed one only to reproduce test vectors).
 */
export async function sealBox(recipientPublicKey: Uint8Array, plaintext: Uint8Array, ctx: SealContext, random: (n: number) => Uint8Array): Promise<SealedBox> {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== X25519_KEY_BYTES) {
    throw new TypeError(`Cannot seal as the recipient public key must be ${X25519_KEY_BYTES} bytes: current value is ${recipientPublicKey instanceof Uint8Array ? `${recipientPublicKey.length} bytes` : typeof recipientPublicKey}`);
  }
  if (!(plaintext instanceof Uint8Array) || plaintext.length > MAX_SEALED_PLAINTEXT_BYTES) {
    throw new RangeError(`Cannot seal as the plaintext must be at most ${MAX_SEALED_PLAINTEXT_BYTES} bytes: current value is ${plaintext instanceof Uint8Array ? plaintext.length : typeof plaintext}`);
  }
  const context = sealContextBytes(ctx);
  const ephemeral = createX25519Key(random(X25519_KEY_BYTES));
  // OpenSSL refuses low-order recipient keys (all-zero shared secret): that throws here, and nothing is sealed.
  const shared = ephemeral.sharedSecret(recipientPublicKey);
  const raw = deriveKey(shared, ephemeral.publicKey, recipientPublicKey, context);
  shared.fill(0);
  const nonce = random(SEAL_NONCE_BYTES);
  if (!(nonce instanceof Uint8Array) || nonce.length !== SEAL_NONCE_BYTES) throw new TypeError(`Cannot seal as random(${SEAL_NONCE_BYTES}) must return ${SEAL_NONCE_BYTES} bytes`);
  const key = await aesKey(raw, "encrypt");
  raw.fill(0);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce as BufferSource, additionalData: context as BufferSource, tagLength: SEAL_TAG_BYTES * 8 }, key, plaintext as BufferSource));
  return { alg: SEAL_ALG, ephemeral_public_key: toBase64Url(ephemeral.publicKey), nonce: toBase64Url(nonce), ciphertext: toBase64Url(ct) };
}

function decode(field: string, text: unknown, exact?: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    if (typeof text !== "string") throw new Error();
    bytes = fromBase64Url(text);
  } catch {
    throw new SealError("malformed", `Sealed box ${field} is not unpadded base64url`);
  }
  if (exact !== undefined && bytes.length !== exact) throw new SealError("malformed", `Sealed box ${field} must be ${exact} bytes: current value is ${bytes.length} bytes`);
  return bytes;
}

/**
 * Opens a box sealed to `recipient` for this credential and appliance. Throws SealError: `unsupported_alg`,
 * `malformed` (wrong sizes or encoding), or `open_failed` (wrong key, wrong ids, or altered bytes).
 */
export async function openBox(box: SealedBox, recipient: Pick<X25519Key, "publicKey" | "sharedSecret">, ctx: SealContext): Promise<Uint8Array> {
  if (box.alg !== SEAL_ALG) throw new SealError("unsupported_alg", `Sealed box algorithm ${JSON.stringify(String(box.alg).slice(0, 64))} is not supported: expected ${SEAL_ALG}`);
  const ephemeralPublic = decode("ephemeral_public_key", box.ephemeral_public_key, X25519_KEY_BYTES);
  const nonce = decode("nonce", box.nonce, SEAL_NONCE_BYTES);
  const ct = decode("ciphertext", box.ciphertext);
  if (ct.length < SEAL_TAG_BYTES) throw new SealError("malformed", `Sealed box ciphertext must be at least ${SEAL_TAG_BYTES} bytes: current value is ${ct.length} bytes`);
  if (ct.length > MAX_SEALED_PLAINTEXT_BYTES + SEAL_TAG_BYTES) throw new SealError("malformed", `Sealed box ciphertext is ${ct.length} bytes: the limit is ${MAX_SEALED_PLAINTEXT_BYTES + SEAL_TAG_BYTES}`);
  const context = sealContextBytes(ctx);
  let shared: Uint8Array;
  try {
    shared = recipient.sharedSecret(ephemeralPublic);
  } catch {
    throw new SealError("open_failed", "Sealed box does not open: its ephemeral key is not usable");
  }
  const raw = deriveKey(shared, ephemeralPublic, recipient.publicKey, context);
  shared.fill(0);
  const key = await aesKey(raw, "decrypt");
  raw.fill(0);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce as BufferSource, additionalData: context as BufferSource, tagLength: SEAL_TAG_BYTES * 8 }, key, ct as BufferSource));
  } catch {
    throw new SealError("open_failed", `Sealed box for credential ${ctx.credentialId} does not open with this appliance's key (wrong key, wrong credential or appliance, or altered bytes)`);
  }
}
