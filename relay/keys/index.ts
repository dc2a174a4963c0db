/** The relay's signing keys: database records, rotation, and the 0600 key file (Node). */
export { activateRelayKey, hasRelayKeys, listRelayKeys, publishedRelayKeys, publicKeyOf, relayKeyOf, rotateRelayKey, rotationStatements, type RelayKeyRecord } from "./relay-keys.ts";
export { createRelayKeyFile, readRelayKeyFile, KEY_FILE_MODE, RELAY_KEY_BYTES } from "./key-file.ts";
export { currentRelayKey, loadRelayKey } from "./load-relay-key.ts";
