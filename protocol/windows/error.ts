/**
 * The error thrown for a maintenance window that cannot be used: a bad RRULE, an unknown time zone or a bad
 * ISO 8601 duration. The config loader turns it into a ConfigError naming the key path; the CLI prints it.
 */

export type WindowErrorCode = "invalid_rrule" | "unsupported_rrule" | "invalid_zone" | "invalid_duration";

export class WindowError extends Error {
  override readonly name = "WindowError";
  constructor(
    readonly code: WindowErrorCode,
    message: string,
  ) {
    super(message);
  }
}
