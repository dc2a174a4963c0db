/** The sync client's error type: `code` from a closed union, the relay's own code and status when it answered. */

export type SyncErrorCode =
  /** The relay URL is not https (http is allowed only to loopback), or is not a URL at all. */
  | "insecure_url"
  /** The relay's TLS key is not the pinned one (config relay.pin_sha256). */
  | "pin_mismatch"
  /** The TLS handshake failed (certificate not trusted, protocol error). */
  | "tls_failed"
  /** No connection: refused, reset, DNS failure, relay down. */
  | "unreachable"
  /** The relay did not answer within the request timeout. */
  | "timeout"
  /** Stopped on purpose (the daemon is stopping). */
  | "aborted"
  /** The answer was larger than the named bound for that request. */
  | "response_too_large"
  /** The answer is not what the protocol says (not JSON, schema mismatch, unexpected status). */
  | "bad_response"
  /** 401: the relay did not accept who we are (token, signature, clock, revoked); `relayCode` says why. */
  | "auth_refused"
  /** 429: too many requests; `retryAfterMs` says when to come back. */
  | "rate_limited"
  /** 5xx: the relay has a problem of its own. */
  | "relay_error"
  /** Another 4xx the relay explained in its error envelope (`relayCode`). */
  | "request_refused"
  /** Pushing stopped after an integrity failure (an alert bundle was written); it needs a human. */
  | "integrity_halt"
  /** The appliance is enrolled with a relay but its token file is missing or does not match the enrollment. */
  | "token_missing"
  /** Enrollment is impossible in this state (standalone identity, already enrolled elsewhere). */
  | "enroll_state";

export class SyncError extends Error {
  override readonly name = "SyncError";
  /** HTTP status when the relay answered. */
  readonly status: number | undefined;
  /** The relay's error code (`claim_code_used`, `appliance_revoked`, …) when it sent an error envelope. */
  readonly relayCode: string | undefined;
  /** The error envelope's details (never secrets: the relay does not put them there). */
  readonly details: Record<string, unknown> | undefined;
  /** For `rate_limited`: the relay's Retry-After, in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: SyncErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; relayCode?: string; details?: Record<string, unknown>; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.relayCode = options.relayCode;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Relay 401 codes after which retrying soon cannot help: an operator has to act (re-enroll, un-revoke). */
export const PERMANENT_AUTH_CODES: ReadonlySet<string> = new Set(["appliance_revoked", "token_unknown", "token_missing"]);

/** True for an error that waiting cannot fix (the loop then waits the longest backoff). */
export function isPermanent(e: unknown): boolean {
  if (!(e instanceof SyncError)) return false;
  if (e.code === "auth_refused") return e.relayCode !== undefined && PERMANENT_AUTH_CODES.has(e.relayCode);
  return e.code === "insecure_url" || e.code === "token_missing";
}
