/** The one error type of network discovery; `code` says what went wrong, the message what was seen. */

export type DiscoveryErrorCode =
  /** A target outside the configured subnets: nothing was sent to it. */
  | "out_of_scope"
  /** A subnet or address that does not parse. */
  | "invalid_subnet"
  /** A scan bigger than the bound (hosts × ports). */
  | "too_large"
  /** Discovery options that do not validate. */
  | "invalid_options";

export class DiscoveryError extends Error {
  override readonly name = "DiscoveryError";
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
