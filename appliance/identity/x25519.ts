/** The appliance's X25519 credentials key: the adapter moved to node/x25519.ts (the relay seals with it too). */
export { createX25519Key, x25519PublicKey, X25519_KEY_BYTES, type X25519Key } from "../../node/x25519.ts";
