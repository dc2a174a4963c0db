/**
 * Structured logs as JSON lines: `{"time":"…","level":"info","event":"push_acked",...fields}`. The writer
 * and clock are injected; tests collect lines in memory. Never log tokens, claim codes or private keys.
 */
import { jsonLog as sharedJsonLog } from "../node/json-log.ts";

export interface RelayLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "info" | "warn" | "error";

/** A logger writing one JSON object per line through `write` (e.g. `(l) => process.stdout.write(l)`). */
export function jsonLog(write: (line: string) => void, clock: { now(): number }): RelayLog {
  return sharedJsonLog({ write, now: () => clock.now() });
}

/** A logger that keeps entries in memory (tests), returned with the array it fills. */
export function memoryLog(): { log: RelayLog; entries: { level: LogLevel; event: string; fields: Record<string, unknown> }[] } {
  const entries: { level: LogLevel; event: string; fields: Record<string, unknown> }[] = [];
  const push = (level: LogLevel) => (event: string, fields: Record<string, unknown> = {}) => void entries.push({ level, event, fields });
  return { log: { info: push("info"), warn: push("warn"), error: push("error") }, entries };
}
