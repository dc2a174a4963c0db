/** Errors of the privileged helper and of the daemon's side of it, with a code a caller can branch on. */

export type HelperErrorCode =
  /** The command line was not `<known action> --config FILE`. */
  | "usage"
  /** The appliance store, its identity or its signed data could not be read or did not verify. */
  | "store"
  /** The result directory or file is not what only root could have written. */
  | "unsafe_path"
  /** No result file for the action. */
  | "no_result"
  /** A result file that does not parse as a helper result. */
  | "invalid_result";

export class HelperError extends Error {
  readonly code: HelperErrorCode;
  constructor(code: HelperErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HelperError";
    this.code = code;
  }
}
