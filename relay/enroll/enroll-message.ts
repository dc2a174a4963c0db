/**
 * Enrollment and drop-ship registration messages: what the appliance sends, what it signs, and the relay's
 * answer. Shared by the relay (verifies) and the appliance's enroll client (builds), so both produce the same
 * bytes. Pure and web-standard.
 *
 * Enrollment (`POST /api/enroll`) proves possession of both Ed25519 keys: `proof` by the identity key and
 * `evidence_proof` by the evidence key, each an Ed25519 signature with context `enrollment` over
 *   canonical {"claim_code_sha256"|"pending_id", "credentials_public_key", "evidence_public_key",
 *              "identity_public_key", "schema":"osiris.enrollment/v1"}
 * where `claim_code_sha256` is the SHA-256 (hex) of the normalised claim code (claim-code.ts), or
 * `pending_id` the id a drop-shipped appliance got when it registered and an MSP accepted it.
 *
 * Registration (`POST /api/provision/pending`) signs, with the identity key (context `enrollment`),
 *   canonical {"credentials_public_key", "evidence_public_key", "identity_public_key", "macs" (normalised,
 *              sorted), "schema":"osiris.provision-pending/v1"}
 * The two `schema` values keep one message from ever passing as the other.
 */
import { z } from "zod";
import { canonicalBytes } from "../../protocol/canonical.ts";
import type { Signer } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { idSchema, isoTimeSchema, publicKeyHexSchema, signatureHexSchema } from "../../protocol/ids.ts";
import { MAX_RELAY_KEYS, relayKeyInfoSchema } from "../../protocol/sync.ts";
import { claimCodeSha256 } from "./claim-code.ts";

export const ENROLLMENT_SCHEMA = "osiris.enrollment/v1";
export const PENDING_SCHEMA = "osiris.provision-pending/v1";
/** Network interfaces an appliance may list (a small box has two to four). */
export const MAX_MACS = 16;
/** Largest enrollment or registration body (bytes): a few keys and MACs. */
export const MAX_ENROLL_BODY_BYTES = 16 * 1024;

const MAC_INPUT = /^[0-9A-Fa-f]{2}(?:([:-]?)[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}$/;

/** A MAC address as stored and compared: lower case, colon separated (`aa:bb:cc:dd:ee:ff`); null if not a MAC. */
export function normaliseMac(input: string): string | null {
  if (typeof input !== "string" || !MAC_INPUT.test(input)) return null;
  const hex = input.replace(/[:-]/g, "").toLowerCase();
  return hex.match(/../g)!.join(":");
}

export const macSchema = z
  .string()
  .max(17)
  .transform((s, ctx) => {
    const mac = normaliseMac(s);
    if (mac === null) {
      ctx.addIssue({ code: "custom", message: "expected a MAC address like aa:bb:cc:dd:ee:ff" });
      return z.NEVER;
    }
    return mac;
  });

const keys = {
  identity_public_key: publicKeyHexSchema,
  evidence_public_key: publicKeyHexSchema,
  /** X25519 public key (hex): credentials are sealed to it. */
  credentials_public_key: publicKeyHexSchema,
};

export const enrollRequestSchema = z
  .strictObject({
    claim_code: z.string().min(1).max(64).optional(),
    pending_id: idSchema.optional(),
    ...keys,
    macs: z.array(macSchema).max(MAX_MACS),
    proof: signatureHexSchema,
    evidence_proof: signatureHexSchema,
  })
  .superRefine((r, ctx) => {
    if ((r.claim_code === undefined) === (r.pending_id === undefined)) {
      ctx.addIssue({ code: "custom", path: ["claim_code"], message: "give exactly one of claim_code or pending_id" });
    }
    if (r.identity_public_key === r.evidence_public_key) {
      ctx.addIssue({ code: "custom", path: ["evidence_public_key"], message: "must differ from identity_public_key" });
    }
  });
export type EnrollRequest = z.output<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.strictObject({
  appliance_id: idSchema,
  site_id: idSchema,
  /** Bearer token for every later request; shown once, stored by the relay only as SHA-256. */
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  relay_keys: z.array(relayKeyInfoSchema).min(1).max(MAX_RELAY_KEYS),
  relay_time: isoTimeSchema,
});
export type EnrollResponse = z.output<typeof enrollResponseSchema>;

export const pendingRequestSchema = z
  .strictObject({
    ...keys,
    macs: z.array(macSchema).min(1).max(MAX_MACS),
    proof: signatureHexSchema,
  })
  .superRefine((r, ctx) => {
    if (r.identity_public_key === r.evidence_public_key) ctx.addIssue({ code: "custom", path: ["evidence_public_key"], message: "must differ from identity_public_key" });
  });
export type PendingRequest = z.output<typeof pendingRequestSchema>;

export const PROVISION_STATES = ["unknown", "pending", "assigned"] as const;
export type ProvisionState = (typeof PROVISION_STATES)[number];

export interface EnrollmentKeys {
  identity_public_key: string;
  evidence_public_key: string;
  credentials_public_key: string;
}

/** What enrollment proofs sign: see the module comment. */
export function enrollmentMessage(target: { claim_code_sha256: string } | { pending_id: string }, k: EnrollmentKeys): Uint8Array {
  return canonicalBytes({
    schema: ENROLLMENT_SCHEMA,
    ...target,
    identity_public_key: k.identity_public_key,
    evidence_public_key: k.evidence_public_key,
    credentials_public_key: k.credentials_public_key,
  });
}

/** What a drop-ship registration proof signs: see the module comment. */
export function pendingMessage(k: EnrollmentKeys, macs: readonly string[]): Uint8Array {
  return canonicalBytes({
    schema: PENDING_SCHEMA,
    identity_public_key: k.identity_public_key,
    evidence_public_key: k.evidence_public_key,
    credentials_public_key: k.credentials_public_key,
    macs: [...new Set(macs)].sort(),
  });
}

export interface ApplianceKeysForEnrollment {
  identity: Pick<Signer, "publicKey" | "sign">;
  evidence: Pick<Signer, "publicKey" | "sign">;
  credentialsPublicKey: Uint8Array;
}

function keysOf(a: ApplianceKeysForEnrollment): EnrollmentKeys {
  return { identity_public_key: toHex(a.identity.publicKey), evidence_public_key: toHex(a.evidence.publicKey), credentials_public_key: toHex(a.credentialsPublicKey) };
}

/** Builds a signed enrollment request (client side), with a claim code or an accepted pending id. */
export async function buildEnrollRequest(target: { claimCode: string } | { pendingId: string }, a: ApplianceKeysForEnrollment, macs: readonly string[] = []): Promise<EnrollRequest> {
  const k = keysOf(a);
  const normalisedMacs = macs.map((m) => normaliseMac(m) ?? m);
  const signed = "claimCode" in target ? { claim_code_sha256: claimCodeSha256(target.claimCode) } : { pending_id: target.pendingId };
  const message = enrollmentMessage(signed, k);
  return {
    ...("claimCode" in target ? { claim_code: target.claimCode } : { pending_id: target.pendingId }),
    ...k,
    macs: normalisedMacs,
    proof: toHex(await a.identity.sign("enrollment", message)),
    evidence_proof: toHex(await a.evidence.sign("enrollment", message)),
  };
}

/** Builds a signed drop-ship registration (client side). */
export async function buildPendingRequest(a: ApplianceKeysForEnrollment, macs: readonly string[]): Promise<PendingRequest> {
  const k = keysOf(a);
  const normalisedMacs = macs.map((m) => normaliseMac(m) ?? m);
  return { ...k, macs: normalisedMacs, proof: toHex(await a.identity.sign("enrollment", pendingMessage(k, normalisedMacs))) };
}
