/** The identity module's error type: `code` from a closed union, a message saying what was found. */

export type IdentityErrorCode =
  /** A key file exists but the identity table records a different public key (a key was swapped or restored). */
  | "key_mismatch"
  /** The identity table exists but one of its key files is gone: regenerating would fork the appliance's identity. */
  | "key_missing"
  /** The identity row or its relay keys do not parse. */
  | "corrupt_identity"
  /** The operation needs an enrolled appliance (ids assigned). */
  | "not_enrolled"
  /** Enrolling again with different ids. */
  | "already_enrolled";

export class IdentityError extends Error {
  override readonly name = "IdentityError";
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
