/**
 * The protocol's error types. Each carries a `code` from a closed union so callers (the relay's onError, the
 * CLI, the appliance) can map it without parsing messages; the message says what was wrong and what was seen.
 */

export type ValidationCode = "invalid_json" | "not_canonical" | "schema" | "unsupported" | "too_large" | "malformed_note" | "malformed_key";
export type IntegrityCode =
  | "bad_signature"
  | "unknown_key"
  | "untrusted_key"
  | "seq_gap"
  | "seq_duplicate"
  | "prev_hash_mismatch"
  | "site_mismatch"
  | "appliance_mismatch"
  | "time_backwards"
  | "bad_proof"
  | "inconsistent_checkpoint"
  | "checkpoint_mismatch"
  | "wrong_target"
  | "manifest_mismatch"
  | "expired"
  | "not_yet_valid"
  | "stale_version";

/** Input that does not parse or does not match its schema. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(
    readonly code: ValidationCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Data that parses but fails a cryptographic or chain check: tampering, forks, gaps, wrong keys. */
export class IntegrityError extends Error {
  override readonly name = "IntegrityError";
  constructor(
    readonly code: IntegrityCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
