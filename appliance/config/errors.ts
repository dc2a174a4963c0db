/**
 * The config package's error type. `code` is a closed union so the daemon and the CLI can react without
 * parsing messages; the message names the file, the key path and the value that was seen.
 */

export type ConfigErrorCode =
  | "read_failed"
  | "too_large"
  | "yaml_syntax"
  | "not_a_mapping"
  | "unknown_key"
  | "missing_key"
  | "invalid_value"
  | "bad_permissions";

/** One problem in a config or credentials file. `path` is dotted (`site.maintenance_windows[0].rrule`). */
export interface ConfigIssue {
  code: ConfigErrorCode;
  path: string;
  message: string;
  /** For `unknown_key` and `invalid_value`: the close match offered as "did you mean". */
  suggestion?: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly details: { source: string; issues: ConfigIssue[] },
  ) {
    super(message);
  }
}
