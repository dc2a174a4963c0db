/**
 * Opening the relay database from a command. `openRelayDb` creates a missing file (that is what `osiris relay
 * serve` wants on first start), so a command that only makes sense on an existing relay — reports, exports,
 * most admin subcommands — checks first that the file is there: a mistyped --db must not quietly create an
 * empty relay and answer from it. Server URLs (sqld) are not checked here: the server answers for them.
 */
import { existsSync } from "node:fs";
import { databaseFile, openRelayDb, type RelayDb } from "../relay/db/index.ts";
import { systemClock } from "../relay/deps.ts";
import type { RelayLog } from "../relay/log.ts";
import { DB_TOKEN_ENV } from "./relay-serve.ts";

/** Why `location` is not an existing relay database (a one-line message for --db), or null when it may be. */
export function missingRelayDbProblem(location: string): string | null {
  let file: string | null;
  try {
    file = databaseFile(location);
  } catch (e) {
    return `--db: ${(e as Error).message}`;
  }
  if (file === null || existsSync(file)) return null;
  return `no relay database at ${location} (give --db the file \`osiris relay serve\` uses, or its libSQL server URL)`;
}

/** Opens the relay database for a command (token from $OSIRIS_RELAY_DB_TOKEN for a server). */
export function openCommandDb(location: string, log: RelayLog): Promise<RelayDb> {
  const token = process.env[DB_TOKEN_ENV];
  return openRelayDb(location, { log, clock: systemClock, ...(token ? { authToken: token } : {}) });
}
