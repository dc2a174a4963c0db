/**
 * Signed envelopes: how orders, rule sets and key rotations travel.
 *
 *   { "payload": base64url(canonical payload bytes), "key_id": "<signer key id>", "signature": "<hex>" }
 *
 * The signature (Ed25519 with a signing context) covers the payload bytes. Opening an envelope checks the key
 * is one of the caller's trusted keys, then the signature, and only then parses **those bytes**; nothing
 * outside the signed bytes is ever used, and a key carried inside a message is never trusted for it.
 */
import { z } from "zod";
import { canonicalBytes, parseCanonical } from "./canonical.ts";
import { keyId, verify, type Ed25519Impl, type Signer, type SigningContext } from "./crypto.ts";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "./encoding.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { keyIdSchema, signatureHexSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";

/** Largest payload (bytes): a rule set of a few thousand rules fits with room to spare. */
export const MAX_ENVELOPE_PAYLOAD_BYTES = 2 * 1024 * 1024;
const MAX_PAYLOAD_CHARS = Math.ceil((MAX_ENVELOPE_PAYLOAD_BYTES * 4) / 3);

export const envelopeSchema = z.strictObject({
  payload: z
    .string()
    .max(MAX_PAYLOAD_CHARS)
    .regex(/^[A-Za-z0-9_-]+$/, "expected unpadded base64url"),
  key_id: keyIdSchema,
  signature: signatureHexSchema,
});
export type Envelope = z.output<typeof envelopeSchema>;

/** A key trusted to sign envelopes (e.g. a pinned relay key). */
export interface TrustedKey {
  key_id: string;
  publicKey: Uint8Array;
}

/** Signs `payload` (its canonical bytes) for `context`. */
export async function signEnvelope(context: SigningContext, payload: unknown, signer: Signer): Promise<Envelope> {
  const bytes = canonicalBytes(payload);
  if (bytes.length > MAX_ENVELOPE_PAYLOAD_BYTES) {
    throw new ValidationError("too_large", `payload: ${bytes.length} bytes, the limit is ${MAX_ENVELOPE_PAYLOAD_BYTES}`, { bytes: bytes.length });
  }
  const signature = await signer.sign(context, bytes);
  return { payload: toBase64Url(bytes), key_id: keyId(signer.publicKey), signature: toHex(signature) };
}

/** An opened envelope: the signed bytes, their parsed (canonical) JSON value, and who signed. */
export interface OpenedEnvelope {
  bytes: Uint8Array;
  value: unknown;
  key_id: string;
}

/**
 * Checks an envelope against `trusted` keys and returns its payload. Throws ValidationError (envelope or
 * payload malformed), IntegrityError `unknown_key` (signer not trusted) or `bad_signature`.
 */
export async function openEnvelope(context: SigningContext, envelope: unknown, trusted: readonly TrustedKey[], impl: Ed25519Impl = "auto"): Promise<OpenedEnvelope> {
  const env = parseSchema(envelopeSchema, envelope, `${context} envelope`);
  const key = trusted.find((k) => k.key_id === env.key_id);
  if (!key) {
    const known = trusted.map((k) => k.key_id).join(", ") || "none";
    throw new IntegrityError("unknown_key", `key_id: ${env.key_id} is not a trusted key (trusted: ${known})`, { key_id: env.key_id });
  }
  if (keyId(key.publicKey) !== key.key_id) {
    throw new TypeError(`Trusted key ${key.key_id} does not match its public key (whose key id is ${keyId(key.publicKey)})`);
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(env.payload);
  } catch {
    throw new ValidationError("schema", `payload: not valid base64url, got ${JSON.stringify(env.payload.slice(0, 20))}…`);
  }
  if (!(await verify(context, bytes, fromHex(env.signature), key.publicKey, impl))) {
    throw new IntegrityError("bad_signature", `signature: does not verify for this ${context} payload with key ${key.key_id}`, { key_id: key.key_id });
  }
  return { bytes, value: parseCanonical(bytes), key_id: key.key_id };
}
