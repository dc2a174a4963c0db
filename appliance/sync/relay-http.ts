/**
 * Requests to the relay: JSON in, JSON out, signed when the caller is an enrolled appliance, bounded in time
 * and size, and every refusal turned into a SyncError that carries the relay's code, status and details.
 *
 * Signing (relay/auth/request-message.ts, shared with the relay): the body is serialised once and the
 * signature covers exactly those bytes. The request timestamp is the appliance's clock corrected by the offset
 * last measured against the relay (`clockOffsetMs`), so an appliance whose clock drifted past the relay's
 * ±120 s window still gets its evidence (and its clock alert) through; the nonce still makes every request
 * single-use. The offset itself is reported and alerted on by the sync client.
 */
import type { Signer } from "../../protocol/crypto.ts";
import { utf8 } from "../../protocol/encoding.ts";
import { errorEnvelopeSchema } from "../../protocol/sync.ts";
import { requestPath, signRequest } from "../../relay/auth/request-message.ts";
import type { Clock } from "../engine/types.ts";
import { SyncError } from "./errors.ts";
import { checkRelayUrl, MAX_RESPONSE_BYTES, type FetchLike } from "./transport.ts";

/** A request (connect, TLS, send, answer) must finish within this unless the caller says otherwise. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A full push (4 MiB) over a slow clinic uplink (~1 Mbit/s) takes about 35 s; allow for it. */
export const PUSH_TIMEOUT_MS = 120_000;
/** Longest Retry-After honoured (s): a relay asking for more is treated as asking for this. */
export const MAX_RETRY_AFTER_S = 15 * 60;

export interface RelayAnswer {
  status: number;
  /** The parsed JSON body (null when empty). */
  body: unknown;
  /** Retry-After in ms, when the relay sent one. */
  retryAfterMs?: number;
}

/** Who signs: the identity key and the bearer token from enrollment. */
export interface RequestAuth {
  signer: Pick<Signer, "sign">;
  token: string;
  /** Milliseconds the local clock is ahead of the relay's (subtracted from request timestamps). */
  clockOffsetMs?: () => number;
}

export interface RelayHttpOptions {
  url: string | URL;
  fetch: FetchLike;
  clock: Clock;
  random: (n: number) => Uint8Array;
}

export interface RequestOptions {
  body?: unknown;
  auth?: RequestAuth;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The answer is refused beyond this many bytes (default: the transport's bound). */
  maxBytes?: number;
}

/** A relay base URL plus the effects to reach it. */
export class RelayHttp {
  readonly base: URL;
  readonly #o: RelayHttpOptions;

  constructor(o: RelayHttpOptions) {
    this.base = checkRelayUrl(o.url);
    this.#o = o;
  }

  /** Sends one request and returns the status and parsed body; throws SyncError only for transport problems. */
  async request(method: "GET" | "POST", path: string, opts: RequestOptions = {}): Promise<RelayAnswer> {
    const url = new URL(path, this.base);
    const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const bytes = text === undefined ? new Uint8Array() : utf8(text);
    const headers: Record<string, string> = { accept: "application/json" };
    if (text !== undefined) headers["content-type"] = "application/json";
    if (opts.auth) {
      const now = this.#o.clock.now() - (opts.auth.clockOffsetMs?.() ?? 0);
      Object.assign(headers, await signRequest(opts.auth.signer, opts.auth.token, { method, url: requestPath(url), body: bytes, now, random: this.#o.random }));
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    let raw: string;
    try {
      // The string is sent as UTF-8: exactly the bytes signed above.
      res = await this.#o.fetch(url.href, { method, headers, ...(text !== undefined ? { body: text } : {}), signal });
      raw = await res.text();
    } catch (e) {
      throw transportError(e, signal);
    }
    const limit = opts.maxBytes ?? MAX_RESPONSE_BYTES;
    if (raw.length > limit) throw new SyncError("response_too_large", `${method} ${url.pathname}: the relay answered ${raw.length} characters; the limit is ${limit}`, { status: res.status });
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new SyncError("bad_response", `${method} ${url.pathname}: the relay answered HTTP ${res.status} with a body that is not JSON (${JSON.stringify(raw.slice(0, 80))})`, { status: res.status });
      }
    }
    const retryAfter = Number(res.headers.get("retry-after"));
    return { status: res.status, body, ...(res.headers.has("retry-after") && Number.isFinite(retryAfter) ? { retryAfterMs: Math.min(MAX_RETRY_AFTER_S, Math.max(0, retryAfter)) * 1000 } : {}) };
  }
}

/** The relay's error envelope in an answer, or null when the body is not one. */
export function errorOf(answer: RelayAnswer): { code: string; message: string; details?: Record<string, unknown> } | null {
  const parsed = errorEnvelopeSchema.safeParse(answer.body);
  return parsed.success ? parsed.data.error : null;
}

/** A SyncError for a non-2xx answer: `auth_refused` (401), `rate_limited` (429), `relay_error` (5xx), else `request_refused`. */
export function refusal(answer: RelayAnswer, what: string): SyncError {
  const err = errorOf(answer);
  const code = answer.status === 401 ? "auth_refused" : answer.status === 429 ? "rate_limited" : answer.status >= 500 ? "relay_error" : answer.status >= 400 ? "request_refused" : "bad_response";
  const reason = err ? `${err.code}: ${err.message}` : `HTTP ${answer.status} without an error envelope`;
  return new SyncError(code, `${what}: the relay refused (${answer.status} ${reason})`, {
    status: answer.status,
    ...(err ? { relayCode: err.code } : {}),
    ...(err?.details ? { details: err.details } : {}),
    ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
  });
}

/** The body of a 2xx answer; `refusal` otherwise. */
export function expectOk(answer: RelayAnswer, what: string): unknown {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  throw refusal(answer, what);
}

function transportError(e: unknown, signal: AbortSignal): SyncError {
  if (e instanceof SyncError) return e;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof SyncError) return reason;
    const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
    return new SyncError(timedOut ? "timeout" : "aborted", timedOut ? "The relay did not answer in time" : "The request to the relay was aborted", { cause: reason });
  }
  if (e instanceof TypeError) return new SyncError("unreachable", `Cannot reach the relay: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}`, { cause: e });
  return new SyncError("unreachable", `Cannot reach the relay: ${(e as Error).message}`, { cause: e });
}
