/**
 * The collectors' one error type. Every failure of a transport carries a `code` from a closed union, so the
 * scheduler can turn it into an `error` result (and the site-level "unreachable" alert) without parsing
 * messages. Messages say what failed and the state seen; they never contain a secret (password, private key,
 * passphrase, Authorization header), which the tests check by planting a known secret.
 */

export type CollectErrorCode =
  /** The host did not answer: DNS failure, connection refused or reset, connect or handshake timeout. */
  | "unreachable"
  /** The host rejected the credentials, or the account may not use the remote-management service. */
  | "auth_failed"
  /** The host's SSH key or TLS certificate differs from the pinned fingerprint: possible impersonation. */
  | "host_key_mismatch"
  /** The command ran longer than its `timeoutMs` and was stopped. */
  | "timeout"
  /** The command printed more than its output cap and was stopped. */
  | "output_too_large"
  /** The host answered with something that is not the protocol: malformed XML, unexpected message. */
  | "protocol"
  /** The host answered with a well-formed protocol fault other than an authorisation failure. */
  | "remote_fault"
  /** A script ran but reported failure in the structured way its wrapper defines (see powershell-json.ts). */
  | "command_failed"
  /** The caller's AbortSignal fired. */
  | "aborted"
  /** The transport was closed before or while the command ran. */
  | "closed"
  /** A request this transport refuses by design (e.g. NTLM over plain HTTP, a PowerShell script over SSH). */
  | "unsupported"
  /** Too many commands are already queued for this host. */
  | "busy";

/** Details are flat and small: identifiers, counts, fingerprints. Never output, never a secret. */
export type CollectErrorDetails = Readonly<Record<string, string | number | boolean>>;

export class CollectError extends Error {
  override readonly name = "CollectError";
  constructor(
    readonly code: CollectErrorCode,
    message: string,
    readonly details?: CollectErrorDetails,
  ) {
    super(message);
  }
}

/** True when `err` is a CollectError, optionally with one of the given codes. */
export function isCollectError(err: unknown, ...codes: CollectErrorCode[]): err is CollectError {
  return err instanceof CollectError && (codes.length === 0 || codes.includes(err.code));
}
