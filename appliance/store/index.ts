/** Public surface of the appliance store: the libSQL database and the key files beside it. */
export { openStore, BUSY_TIMEOUT_MS, MAX_CONNECTIONS, type OpenStoreOptions, type Store, type StoreLog, type Tx } from "./store.ts";
export { MIGRATIONS, LATEST_VERSION, type Migration } from "./migrations.ts";
export { ensurePrivateDir, keyFileExists, readKeyFile, writeKeyFile, KEY_FILES, KEY_FILE_MODE, MAX_KEY_FILE_BYTES, STATE_DIR_MODE, type WriteKeyFileOptions } from "./keyfiles.ts";
export { StoreError, type StoreErrorCode } from "./errors.ts";
