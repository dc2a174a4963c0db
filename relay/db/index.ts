/** The relay database: client, migrations and row helpers. */
export { openRelayDb, databaseFile, databaseUrl, redact, BUSY_TIMEOUT_MS, MAX_CONNECTIONS, MAX_QUEUED_OPERATIONS, type OpenRelayDbOptions, type RelayDb, type Tx } from "./client.ts";
export { MIGRATIONS, LATEST_VERSION, type Migration } from "./migrations.ts";
export { str, strOrNull, num, type Row } from "./rows.ts";
