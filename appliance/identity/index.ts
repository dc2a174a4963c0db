/** Public surface of the appliance identity: its key pairs, enrollment state and pinned relay keys. */
export { ApplianceIdentity, loadOrCreateIdentity, IDENTITY_STATES, type EnrolledIdentity, type IdentityEnv, type IdentityState, type PinnedRelayKey, type PreparedRotation } from "./identity.ts";
export { createNodeSigner } from "./node-signer.ts";
export { createX25519Key, x25519PublicKey, X25519_KEY_BYTES, type X25519Key } from "./x25519.ts";
export { IdentityError, type IdentityErrorCode } from "./errors.ts";
