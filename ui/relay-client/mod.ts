/** The typed client of the relay's user API: `import { RelayClient } from "../relay-client/mod.ts"`. */
export { RelayClient, type RelayClientOptions } from "./client.ts";
export { RelayApiError, errorFromResponse } from "./errors.ts";
export type * from "./types.ts";
export { CREDENTIAL_KINDS } from "./types.ts";
