/**
 * The relay's one error type. Each code has exactly one HTTP status, in `STATUS` below; the app's single
 * `onError` turns a RelayError (and the protocol's ValidationError / IntegrityError) into the JSON error
 * envelope `{error: {code, message, details}}`. Messages say what failed and what was seen; they never carry
 * a token, a claim code or a key.
 */
import type { IntegrityCode, ValidationCode } from "../protocol/errors.ts";

/** Every relay error code and its HTTP status. */
export const STATUS = {
  // 400: the request itself is malformed
  bad_request: 400,
  invalid_json: 400,
  schema: 400,
  not_canonical: 400,
  unsupported: 400,
  malformed_note: 400,
  malformed_key: 400,
  // 401: who is calling could not be established (the message names the reason)
  token_missing: 401,
  token_unknown: 401,
  appliance_revoked: 401,
  signature_missing: 401,
  signature_invalid: 401,
  timestamp_invalid: 401,
  timestamp_stale: 401,
  nonce_invalid: 401,
  nonce_replayed: 401,
  // users (auth/): who is calling could not be established
  login_required: 401,
  login_failed: 401,
  totp_required: 401,
  session_expired: 401,
  api_key_revoked: 401,
  api_key_expired: 401,
  magic_link_invalid: 401,
  // 403: known caller, not allowed
  appliance_mismatch: 403,
  forbidden: 403,
  csrf_invalid: 403,
  // 404
  not_found: 404,
  claim_code_unknown: 404,
  pending_unknown: 404,
  appliance_unknown: 404,
  site_unknown: 404,
  tenant_unknown: 404,
  // 409: conflicts with what is stored
  key_already_enrolled: 409,
  pending_not_accepted: 409,
  pending_state: 409,
  outbox_gap: 409,
  outbox_conflict: 409,
  fork: 409,
  seq_gap: 409,
  seq_duplicate: 409,
  prev_hash_mismatch: 409,
  checkpoint_mismatch: 409,
  inconsistent_checkpoint: 409,
  relay_key_state: 409,
  user_exists: 409,
  name_taken: 409,
  // a user change that would lock the MSP out (disabling oneself or its last active MSP admin)
  user_change_refused: 409,
  // reports (relay/report/): a packet for a month that has not ended yet
  month_open: 409,
  // escalations + notifications (relay/escalations, relay/notify)
  escalation_state: 409,
  // 423: too many failed logins
  account_locked: 423,
  // 410: a claim code that can no longer be used
  claim_code_used: 410,
  claim_code_expired: 410,
  claim_code_revoked: 410,
  // 413
  too_large: 413,
  // 415
  unsupported_media_type: 415,
  // 422: well-formed but fails verification
  proof_invalid: 422,
  bad_signature: 422,
  unknown_key: 422,
  untrusted_key: 422,
  site_mismatch: 422,
  time_backwards: 422,
  bad_proof: 422,
  wrong_target: 422,
  manifest_mismatch: 422,
  expired: 422,
  not_yet_valid: 422,
  stale_version: 422,
  // 429
  rate_limited: 429,
  // 500 / 503: our problem, not the caller's
  internal: 500,
  db_unavailable: 503,
  db_busy: 503,
  db_schema: 500,
  config: 500,
  // magic links requested from a relay without SMTP or a public URL
  mail_unavailable: 503,
  // credentials (relay/credentials/): site limit, vault not configured, a row that does not decrypt
  credential_limit: 409,
  vault_unavailable: 503,
  credential_unreadable: 500,
  // learning loop (relay/learning/): a candidate state change its current state or the caller does not allow
  transition_refused: 409,
  // dashboard (relay/sites/): an approval decided twice, a drop-ship fingerprint that does not match
  approval_decided: 409,
  // MCP (relay/mcp/): an assistant's key with as many pending proposals as it may have
  proposal_limit: 409,
  fingerprint_mismatch: 422,
  // inventory & billing (relay/inventory/, relay/billing/): a month already issued, one not over, mixed currencies
  statement_exists: 409,
  statement_empty: 422,
  month_not_ended: 409,
  currency_mismatch: 409,
  // appliance config (relay/enroll/appliance-config.ts): a config for a revoked appliance it would never pull
  appliance_inactive: 409,
} as const satisfies Record<string, number> & Record<ValidationCode | IntegrityCode, number>;

export type RelayErrorCode = keyof typeof STATUS;

/** A relay failure with a code from `STATUS`; `details` must be JSON-serialisable and free of secrets. */
export class RelayError extends Error {
  override readonly name = "RelayError";
  constructor(
    readonly code: RelayErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): (typeof STATUS)[RelayErrorCode] {
    return STATUS[this.code];
  }
}

/** The HTTP status of a code (protocol codes included). */
export function statusOf(code: RelayErrorCode): number {
  return STATUS[code];
}

/** Whether `code` is one of ours (protocol ValidationError / IntegrityError codes all are). */
export function isRelayErrorCode(code: string): code is RelayErrorCode {
  return Object.hasOwn(STATUS, code);
}
