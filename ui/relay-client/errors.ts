/**
 * What a refused or failed relay call looks like to a UI: the relay's error envelope
 * (`{error: {code, message, details}}`) as an exception with the HTTP status, plus the two distinctions a
 * page needs — "this relay has no such route (the feature is not installed)" and "log in again".
 */

export class RelayApiError extends Error {
  override readonly name = "RelayApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** True when the relay has no route here at all (a feature this relay does not have yet). */
  get noRoute(): boolean {
    return this.status === 404 && this.code === "not_found" && this.message.startsWith("No route ");
  }

  /** True when the session is missing or over: the page should send the user to the login page. */
  get loginRequired(): boolean {
    return this.status === 401 && ["login_required", "session_expired", "token_unknown"].includes(this.code);
  }

  /** Seconds to wait (lockout, rate limit), when the relay said so. */
  get retryAfterS(): number | null {
    const v = this.details["retry_after_s"];
    return typeof v === "number" ? v : null;
  }
}

/** Builds the error for a non-2xx response (reading its envelope when it has one). */
export async function errorFromResponse(res: Response): Promise<RelayApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const e = body.error;
    if (e && typeof e.code === "string" && typeof e.message === "string") {
      const details = typeof e.details === "object" && e.details !== null && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
      const retry = res.headers.get("Retry-After");
      if (retry && /^\d+$/.test(retry) && details["retry_after_s"] === undefined) details["retry_after_s"] = Number(retry);
      return new RelayApiError(res.status, e.code, e.message, details);
    }
  } catch {
    // not JSON: fall through
  }
  return new RelayApiError(res.status, res.status >= 500 ? "internal" : "http_error", `The relay answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
}

/** A network failure (relay unreachable), as a RelayApiError with status 0. */
export function networkError(e: unknown): RelayApiError {
  if (e instanceof DOMException && e.name === "AbortError") throw e;
  return new RelayApiError(0, "unreachable", `Cannot reach the relay: ${e instanceof Error ? e.message : String(e)}`);
}
