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
import { idSchema, isoTime, isoTimeSchema, keyIdSchema, publicKeyHexSchema } from "./ids.ts";
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

// ---- appliance keys ------------------------------------------------------------------------------------

/**
 * An appliance key rotation (the `rotate_keys` order), ARCHITECTURE §5:
 *
 *   {schema:"osiris.appliance-key-rotation/v1", appliance_id, order_id, key: identity|evidence|credentials,
 *    old_public_key, new_public_key (hex), issued_at}
 *
 * It travels in a `key_rotation` envelope signed by the appliance's CURRENT identity key (for an identity
 * rotation: the key being replaced). The relay opens it with the identity key it has on record, never with
 * `new_public_key`, and checks that `old_public_key` is the key of that kind it has on record.
 */
export const APPLIANCE_KEY_ROTATION_SCHEMA = "osiris.appliance-key-rotation/v1";
export const APPLIANCE_KEY_KINDS = ["identity", "evidence", "credentials"] as const;
export type ApplianceKeyKind = (typeof APPLIANCE_KEY_KINDS)[number];

export const applianceRotationSchema = z.strictObject({
  schema: z.literal(APPLIANCE_KEY_ROTATION_SCHEMA),
  appliance_id: idSchema,
  order_id: idSchema,
  key: z.enum(APPLIANCE_KEY_KINDS),
  old_public_key: publicKeyHexSchema,
  new_public_key: publicKeyHexSchema,
  issued_at: isoTimeSchema,
});
export type ApplianceRotation = z.output<typeof applianceRotationSchema>;

/** Signs an appliance key rotation with the current identity key (`signer`). */
export function signApplianceRotation(r: Omit<ApplianceRotation, "schema" | "issued_at">, signer: Signer, now: number): Promise<Envelope> {
  const statement = parseSchema(applianceRotationSchema, { schema: APPLIANCE_KEY_ROTATION_SCHEMA, ...r, issued_at: isoTime(now) }, "appliance key rotation");
  if (statement.old_public_key === statement.new_public_key) throw new TypeError("Cannot sign a key rotation whose new key is the old key");
  return signEnvelope("key_rotation", statement, signer);
}

/**
 * Opens an appliance key rotation with the identity key on record (`identityKey`). Throws IntegrityError
 * `unknown_key` (signed by any other key: the new key, a stranger's) or `bad_signature`, ValidationError when
 * malformed or when the new key is the old one.
 */
export async function verifyApplianceRotation(envelope: unknown, identityKey: Uint8Array): Promise<ApplianceRotation> {
  const opened = await openEnvelope("key_rotation", envelope, [{ key_id: keyId(identityKey), publicKey: identityKey }]);
  const s = parseSchema(applianceRotationSchema, opened.value, "appliance key rotation");
  if (s.old_public_key === s.new_public_key) throw new ValidationError("schema", `new_public_key: is the same key as old_public_key ${keyId(fromHex(s.old_public_key))}`, { path: "new_public_key" });
  if (s.key === "identity" && s.old_public_key !== toHex(identityKey)) {
    throw new IntegrityError("unknown_key", `old_public_key: an identity rotation must be signed by the key it replaces (${keyId(fromHex(s.old_public_key))}), not by ${opened.key_id}`, { key_id: opened.key_id });
  }
  return s;
}

// ---- evidence key rotation inside the chain -----------------------------------------------------------

/** `action_taken` of the `system` bundle that records an evidence key switch in the chain itself. */
export const EVIDENCE_KEY_ROTATION_ACTION = "rotate_evidence_key";

/**
 * The bundle fields of the switch: signed by the OLD evidence key at seq N, it names the key that signs seq
 * N+1 onwards. Offline verifiers accept the new key only from there, and only when their key records agree.
 */
export function evidenceRotationFields(newPublicKey: Uint8Array, orderId: string | null): { kind: "system"; outcome: "success"; action_taken: string; order_id: string | null; post_state: { new_key_id: string; new_public_key: string } } {
  return { kind: "system", outcome: "success", action_taken: EVIDENCE_KEY_ROTATION_ACTION, order_id: orderId, post_state: { new_key_id: keyId(newPublicKey), new_public_key: toHex(newPublicKey) } };
}

const announcedSchema = z.object({ new_key_id: keyIdSchema, new_public_key: publicKeyHexSchema });

/**
 * The key a bundle announces as its successor, or null for any other bundle. Throws IntegrityError
 * `unknown_key` for a rotation bundle whose key id does not match its key.
 */
export function announcedEvidenceKey(bundle: { kind: string; action_taken: string | null; post_state: unknown; appliance_id: string; seq: number }): Uint8Array | null {
  if (bundle.kind !== "system" || bundle.action_taken !== EVIDENCE_KEY_ROTATION_ACTION) return null;
  const parsed = announcedSchema.safeParse(bundle.post_state);
  const where = { appliance_id: bundle.appliance_id, seq: bundle.seq };
  if (!parsed.success) throw new IntegrityError("unknown_key", `post_state: evidence key rotation at seq ${bundle.seq} does not name a key ({new_key_id, new_public_key})`, where);
  const key = fromHex(parsed.data.new_public_key);
  if (keyId(key) !== parsed.data.new_key_id) throw new IntegrityError("unknown_key", `post_state.new_key_id: ${parsed.data.new_key_id} is not the id of the key named at seq ${bundle.seq}`, where);
  return key;
}
