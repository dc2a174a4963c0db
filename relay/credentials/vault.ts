/**
 * The credential vault: AES-256-GCM (Web Crypto) under 32-byte vault keys, each known by a key id. The newest
 * key encrypts; every key the vault holds decrypts, so after a rotation old rows still open until
 * `reencryptCredentials` (credentials.ts) has moved them to the new key. Keys are imported as non-extractable
 * CryptoKeys and the raw bytes are wiped; nothing here logs, returns or puts a key or a plaintext in an error.
 *
 * A fresh random 96-bit nonce per encryption: at a few thousand writes per key, the chance of a repeat is
 * far below GCM's 2^-32 bound (NIST SP 800-38D §8.3), and rotation resets the count.
 */
import { sha256Hex } from "../../protocol/hash.ts";
import { concatBytes, fromBase64Url, toBase64Url, utf8 } from "../../protocol/encoding.ts";
import type { Random } from "../deps.ts";
import { RelayError } from "../errors.ts";

export const VAULT_KEY_BYTES = 32;
export const VAULT_NONCE_BYTES = 12;
const TAG_BITS = 128;
/** Domain separation of key ids: a key id says which key, and nothing about its bytes. */
const KEY_ID_PREFIX = "osiris.vault-key/v1\n";

/** A ciphertext as stored: the key that made it, the nonce and ciphertext+tag (unpadded base64url). */
export interface VaultCiphertext {
  key_id: string;
  nonce: string;
  ciphertext: string;
}

export interface CredentialVault {
  /** The key new ciphertexts are made with. */
  readonly currentKeyId: string;
  /** Every key this vault can open with, current first. */
  readonly keyIds: readonly string[];
  has(keyId: string): boolean;
  /** Encrypts under the current key, binding `aad` (additional data that must be given again to decrypt). */
  encrypt(plaintext: Uint8Array, aad: Uint8Array): Promise<VaultCiphertext>;
  /**
   * Decrypts; RelayError `credential_unreadable` when the key is not in this vault or the bytes, the
   * additional data or the key do not match (the message names the key id only).
   */
  decrypt(sealed: VaultCiphertext, aad: Uint8Array): Promise<Uint8Array>;
}

/** The id of a vault key: 16 hex digits of SHA-256 over a domain prefix and the key. */
export function vaultKeyId(key: Uint8Array): string {
  return sha256Hex(concatBytes(utf8(KEY_ID_PREFIX), key)).slice(0, 16);
}

/**
 * A vault over raw keys, current first (older keys only decrypt). The raw bytes are wiped once imported.
 * TypeError when a key is not 32 bytes or two keys are the same.
 */
export async function vaultFromKeys(keys: readonly Uint8Array[], random: Random): Promise<CredentialVault> {
  if (keys.length === 0) throw new TypeError("Cannot create a credential vault without a key");
  const byId = new Map<string, CryptoKey>();
  for (const [i, raw] of keys.entries()) {
    if (!(raw instanceof Uint8Array) || raw.length !== VAULT_KEY_BYTES) {
      throw new TypeError(`Cannot create a credential vault as key ${i + 1} must be ${VAULT_KEY_BYTES} bytes: current value is ${raw instanceof Uint8Array ? `${raw.length} bytes` : typeof raw}`);
    }
    const id = vaultKeyId(raw);
    if (byId.has(id)) throw new TypeError(`Cannot create a credential vault as key ${i + 1} repeats key ${id}`);
    byId.set(id, await crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]));
    raw.fill(0);
  }
  const keyIds = [...byId.keys()];
  const currentKeyId = keyIds[0]!;
  const current = byId.get(currentKeyId)!;
  return {
    currentKeyId,
    keyIds,
    has: (keyId) => byId.has(keyId),
    async encrypt(plaintext, aad) {
      const nonce = random(VAULT_NONCE_BYTES);
      if (!(nonce instanceof Uint8Array) || nonce.length !== VAULT_NONCE_BYTES) throw new TypeError(`Cannot encrypt as random(${VAULT_NONCE_BYTES}) must return ${VAULT_NONCE_BYTES} bytes`);
      const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BITS }, current, plaintext as BufferSource);
      return { key_id: currentKeyId, nonce: toBase64Url(nonce), ciphertext: toBase64Url(new Uint8Array(ct)) };
    },
    async decrypt(sealed, aad) {
      const key = byId.get(sealed.key_id);
      if (!key) {
        throw new RelayError("credential_unreadable", `The credential is encrypted under vault key ${sealed.key_id}, which this relay does not hold (it holds ${keyIds.join(", ")})`, { key_id: sealed.key_id });
      }
      try {
        const nonce = fromBase64Url(sealed.nonce);
        if (nonce.length !== VAULT_NONCE_BYTES) throw new Error("nonce size");
        const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BITS }, key, fromBase64Url(sealed.ciphertext) as BufferSource);
        return new Uint8Array(pt);
      } catch {
        throw new RelayError("credential_unreadable", `The credential does not decrypt under vault key ${sealed.key_id}: its row was altered or moved`, { key_id: sealed.key_id });
      }
    },
  };
}
