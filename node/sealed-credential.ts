/**
 * A site credential as the relay seals it to one appliance (sealed-box.ts) and the appliance opens it: the
 * plaintext is canonical JSON `{credential_id, kind, secret, target, username}`; the wire form is protocol
 * sync.ts `SealedCredential` (credential id and target in the clear, everything else inside). Opening checks
 * that the inner id and target are the outer ones, so a box cannot be relabelled for another host.
 *
 * Also the one definition of credential kinds and target patterns, shared by the relay (which stores and
 * validates them) and the appliance (which picks the credential for a host).
 */
import { z } from "zod";
import { canonicalBytes } from "../protocol/canonical.ts";
import { fromUtf8 } from "../protocol/encoding.ts";
import { idSchema } from "../protocol/ids.ts";
import type { SealedCredential } from "../protocol/sync.ts";
import { openBox, sealBox, SealError } from "./sealed-box.ts";
import type { X25519Key } from "./x25519.ts";

export const CREDENTIAL_KINDS = ["ssh_password", "ssh_key", "winrm_basic", "winrm_ntlm"] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** Longest secret (bytes of UTF-8): an RSA-8192 private key in PEM is about 6.5 KB. */
export const MAX_SECRET_BYTES = 8192;
/** Longest user name (a Windows `DOMAIN\user` or a UPN fits). */
export const MAX_USERNAME_CHARS = 256;
/**
 * A credential's target: one host id (`fs01`), a pattern with `*` and `?` (`srv-*`), or `*` for every host of
 * the site. Same alphabet as host ids (protocol ids.ts HOST_ID_PATTERN) plus the two wildcards.
 */
export const CREDENTIAL_TARGET_PATTERN = /^(?:\*|[a-z0-9*?][a-z0-9._*?-]{0,62})$/;

export const credentialPayloadSchema = z.strictObject({
  credential_id: idSchema,
  target: z.string().regex(CREDENTIAL_TARGET_PATTERN),
  kind: z.enum(CREDENTIAL_KINDS),
  username: z.string().min(1).max(MAX_USERNAME_CHARS),
  secret: z.string().min(1).max(MAX_SECRET_BYTES),
});
export type CredentialPayload = z.output<typeof credentialPayloadSchema>;

/** Whether `target` names exactly one host (no wildcard). */
export function isExactTarget(target: string): boolean {
  return !/[*?]/.test(target);
}

/** Whether a credential for `target` applies to host `hostId` (`*` any run of characters, `?` one). */
export function targetMatches(target: string, hostId: string): boolean {
  if (isExactTarget(target)) return target === hostId;
  const re = new RegExp(`^${target.replace(/[.+^${}()|[\]\\-]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(hostId);
}

/** How specific a target is (more literal characters: more specific); an exact host id beats every pattern. */
export function targetSpecificity(target: string): number {
  return isExactTarget(target) ? 1000 : target.replace(/[*?]/g, "").length;
}

/** Seals a credential to an appliance's X25519 public key. */
export async function sealCredential(payload: CredentialPayload, recipientPublicKey: Uint8Array, applianceId: string, random: (n: number) => Uint8Array): Promise<SealedCredential> {
  const box = await sealBox(recipientPublicKey, canonicalBytes(payload), { credentialId: payload.credential_id, applianceId }, random);
  return { credential_id: payload.credential_id, target: payload.target, ...box };
}

/**
 * Opens a sealed credential with the appliance's key. SealError (`unsupported_alg`, `malformed`,
 * `open_failed`) when it does not open or what is inside is not this credential; never with the contents.
 */
export async function openCredential(sealed: SealedCredential, key: Pick<X25519Key, "publicKey" | "sharedSecret">, applianceId: string): Promise<CredentialPayload> {
  const plaintext = await openBox(sealed, key, { credentialId: sealed.credential_id, applianceId });
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new SealError("malformed", `Sealed credential ${sealed.credential_id} opened but is not JSON`);
  } finally {
    plaintext.fill(0);
  }
  const parsed = credentialPayloadSchema.safeParse(value);
  // The issues may quote the secret: report only which fields were wrong.
  if (!parsed.success) throw new SealError("malformed", `Sealed credential ${sealed.credential_id} opened but its fields are not valid (${[...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "value")))].join(", ")})`);
  if (parsed.data.credential_id !== sealed.credential_id || parsed.data.target !== sealed.target) {
    throw new SealError("open_failed", `Sealed credential ${sealed.credential_id} holds another credential or target than its label says`);
  }
  return parsed.data;
}
