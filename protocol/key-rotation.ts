/**
 * Key rotation: a statement, signed by the key being replaced, that names its successor.
 *
 *   {schema:"osiris.key-rotation/v1", old_key_id, new_public_key (hex), issued_at}
 *
 * It travels in a signed envelope (`envelope.ts`, context `key_rotation`) whose `key_id` must be `old_key_id`.
 * The new key is accepted only when the statement verifies with a key the verifier already trusts; the new key
 * carried inside the statement is never used to check the statement itself.
 */
import { z } from "zod";
import { keyId, type Signer } from "./crypto.ts";
import { fromHex, toHex } from "./encoding.ts";
import { openEnvelope, signEnvelope, type Envelope, type TrustedKey } from "./envelope.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { isoTime, isoTimeSchema, keyIdSchema, publicKeyHexSchema } from "./ids.ts";
import { parseSchema } from "./schema.ts";

export const KEY_ROTATION_SCHEMA = "osiris.key-rotation/v1";

export const rotationStatementSchema = z.strictObject({
  schema: z.literal(KEY_ROTATION_SCHEMA),
  old_key_id: keyIdSchema,
  new_public_key: publicKeyHexSchema,
  issued_at: isoTimeSchema,
});
export type RotationStatement = z.output<typeof rotationStatementSchema>;

/** Signs a statement that `newPublicKey` replaces the signer's key, issued at `now`. */
export function signRotation(newPublicKey: Uint8Array, signer: Signer, now: number): Promise<Envelope> {
  const statement: RotationStatement = {
    schema: KEY_ROTATION_SCHEMA,
    old_key_id: keyId(signer.publicKey),
    new_public_key: toHex(newPublicKey),
    issued_at: isoTime(now),
  };
  return signEnvelope("key_rotation", parseSchema(rotationStatementSchema, statement, "key rotation"), signer);
}

/** The successor key a verified rotation names. */
export interface RotatedKey extends TrustedKey {
  /** Key id of the key it replaces. */
  replaces: string;
  issued_at: string;
}

/**
 * Verifies a signed rotation statement against the currently `trusted` keys and returns the new key. Throws
 * IntegrityError `unknown_key` (signer not trusted, or the statement names a different old key) or
 * `bad_signature`, or ValidationError when malformed.
 */
export async function verifyRotation(statement: unknown, trusted: readonly TrustedKey[]): Promise<RotatedKey> {
  const opened = await openEnvelope("key_rotation", statement, trusted);
  const s = parseSchema(rotationStatementSchema, opened.value, "key rotation");
  if (s.old_key_id !== opened.key_id) {
    throw new IntegrityError("unknown_key", `old_key_id: statement rotates key ${s.old_key_id} but is signed by key ${opened.key_id}`, { key_id: opened.key_id });
  }
  const publicKey = fromHex(s.new_public_key);
  const newKeyId = keyId(publicKey);
  if (newKeyId === s.old_key_id) throw new ValidationError("schema", `new_public_key: is the same key as old_key_id ${s.old_key_id}`, { path: "new_public_key" });
  return { key_id: newKeyId, publicKey, replaces: s.old_key_id, issued_at: s.issued_at };
}
