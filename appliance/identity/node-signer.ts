/**
 * An Ed25519 `Signer` (protocol/crypto.ts) backed by node:crypto's synchronous one-shot `sign`.
 *
 * The protocol's portable signer awaits WebCrypto, which hops to libuv's thread pool for every signature
 * (~130 µs each here); the evidence chain must sign one bundle after another (each prev_hash covers the
 * previous signature), so that latency is the append rate. node:crypto signs in-line in ~40 µs. Ed25519 is
 * deterministic, so both produce identical signatures (the test checks it); the appliance runs on Node only,
 * which is why this adapter lives here and not in protocol/.
 */
import { createPrivateKey, sign as nodeSign, type KeyObject } from "node:crypto";
import { publicKeyOf, signingInput, type Signer } from "../../protocol/crypto.ts";
import { concatBytes, fromHex } from "../../protocol/encoding.ts";

/** DER prefix that wraps a 32-byte Ed25519 seed as PKCS#8. */
const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");

/** A Signer for a 32-byte Ed25519 seed; the seed is held only inside node:crypto's opaque KeyObject. */
export function createNodeSigner(secretKey: Uint8Array): Signer {
  const publicKey = publicKeyOf(secretKey); // checks the length
  const key: KeyObject = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, secretKey)), format: "der", type: "pkcs8" });
  const raw = (message: Uint8Array): Uint8Array => new Uint8Array(nodeSign(null, message, key));
  return {
    publicKey,
    signRaw: async (message) => raw(message),
    sign: async (context, message) => raw(signingInput(context, message)),
  };
}
