/**
 * Structured logs for the daemons (appliance and relay): one JSON object per line on stdout (journald keeps them), with a level
 * filter. The CLI builds it and injects it; nothing deeper reads process.stdout. Never pass secrets.
 */
import { isoTime } from "../protocol/ids.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface JsonLog {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export function jsonLog(opts: { level?: LogLevel; write?: (line: string) => void; now?: () => number; component?: string } = {}): JsonLog {
  const min = LOG_LEVELS.indexOf(opts.level ?? "info");
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel) => (event: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const head = { time: isoTime(now()), level, ...(opts.component ? { component: opts.component } : {}), event };
    let line: string;
    try {
      line = JSON.stringify({ ...head, ...fields });
    } catch {
      line = JSON.stringify({ ...head, note: "fields were not serialisable" });
    }
    write(line + "\n");
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
