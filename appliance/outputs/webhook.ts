/**
 * Signed webhook delivery to a reseller's endpoint. One JSON body is serialised once and sent byte for byte on
 * every attempt, with:
 *
 *   Content-Type: application/json
 *   X-Osiris-Signature: sha256=<lower-case hex HMAC-SHA256(secret, exact body bytes)>
 *   X-Osiris-Timestamp: <Unix seconds of this attempt>
 *   X-Osiris-Delivery: <delivery id, the same on every attempt, for the receiver to drop duplicates>
 *
 * The receiver recomputes the HMAC over the raw body it read (not a re-serialisation) and compares in constant
 * time. The signature covers the body, which carries the event's own id and time; receivers use those, not the
 * timestamp header, to reject replays.
 *
 * Attempts are bounded; between them the delay is exponential with full jitter (uniform in [0, min(cap,
 * base·2^n))), or the receiver's Retry-After when longer (still capped). Network errors, timeouts, 408, 425,
 * 429 and 5xx are retried; other statuses are final. Redirects are not followed: a signed body goes only to the
 * configured URL. Every effect (fetch, HMAC, clock, randomness, sleep) is injected.
 */

export const SIGNATURE_HEADER = "X-Osiris-Signature";
export const TIMESTAMP_HEADER = "X-Osiris-Timestamp";
export const DELIVERY_HEADER = "X-Osiris-Delivery";

export const WEBHOOK_DEFAULTS = {
  /** Enough to ride out a receiver restart; the escalation itself is also synced to the relay. */
  maxAttempts: 5,
  /** Per attempt, headers and all: a webhook receiver should answer at once and process later. */
  timeoutMs: 10_000,
  baseDelayMs: 1_000,
  /** Longest wait between attempts (also caps Retry-After). */
  maxDelayMs: 60_000,
} as const;

/** Upper bounds on configuration, so one event can never hold a worker for long. */
export const WEBHOOK_LIMITS = {
  maxAttempts: 10,
  timeoutMs: 120_000,
  maxDelayMs: 15 * 60_000,
  /** Events are small; anything near this is a bug upstream. */
  maxBodyBytes: 256 * 1024,
} as const;

const RETRYABLE_STATUS = new Set([408, 425, 429]);

export type HmacSha256 = (key: Uint8Array, data: Uint8Array) => Promise<Uint8Array>;

/** HMAC-SHA256 with WebCrypto (`crypto.subtle`), available in Node ≥ 20, Deno and browsers. */
export const webCryptoHmacSha256: HmacSha256 = async (key, data) => {
  // Copies give WebCrypto the ArrayBuffer-backed views it requires (a view may sit on a SharedArrayBuffer).
  const k = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new Uint8Array(data)));
};

export interface WebhookTarget {
  url: string;
  /** Shared secret; a string is used as its UTF-8 bytes. */
  secret: string | Uint8Array;
  maxAttempts?: number;
  timeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface WebhookDeps {
  fetch: typeof fetch;
  hmac: HmacSha256;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Uniform in [0, 1). */
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface WebhookDelivery {
  /** Stable across attempts; receivers use it to drop duplicates. */
  id: string;
  body: unknown;
}

export interface DeliveryRecord {
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt that got a response, else null. */
  status: number | null;
  /** Why the last attempt failed, or null on success. */
  error: string | null;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function check(ok: boolean, name: string, rule: string, value: unknown): void {
  if (!ok) throw new RangeError(`Cannot deliver webhook as '${name}' must be ${rule}: current value is ${JSON.stringify(value)}`);
}

function validTarget(t: WebhookTarget) {
  let url: URL | null = null;
  try {
    url = new URL(t.url);
  } catch {
    url = null;
  }
  check(url !== null && (url.protocol === "https:" || url.protocol === "http:"), "url", "an http(s) URL", t.url);
  const secret = typeof t.secret === "string" ? new TextEncoder().encode(t.secret) : t.secret;
  check(secret.length > 0, "secret", "non-empty", "");
  const o = {
    maxAttempts: t.maxAttempts ?? WEBHOOK_DEFAULTS.maxAttempts,
    timeoutMs: t.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs,
    baseDelayMs: t.baseDelayMs ?? WEBHOOK_DEFAULTS.baseDelayMs,
    maxDelayMs: t.maxDelayMs ?? WEBHOOK_DEFAULTS.maxDelayMs,
  };
  const int = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
  check(int(o.maxAttempts, 1, WEBHOOK_LIMITS.maxAttempts), "maxAttempts", `an integer in 1-${WEBHOOK_LIMITS.maxAttempts}`, o.maxAttempts);
  check(int(o.timeoutMs, 1, WEBHOOK_LIMITS.timeoutMs), "timeoutMs", `an integer in 1-${WEBHOOK_LIMITS.timeoutMs}`, o.timeoutMs);
  check(int(o.maxDelayMs, 0, WEBHOOK_LIMITS.maxDelayMs), "maxDelayMs", `an integer in 0-${WEBHOOK_LIMITS.maxDelayMs}`, o.maxDelayMs);
  check(int(o.baseDelayMs, 0, o.maxDelayMs), "baseDelayMs", `an integer in 0-maxDelayMs (${o.maxDelayMs})`, o.baseDelayMs);
  return { url: t.url, secret, ...o };
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`; null if absent/invalid. */
function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Sign and POST `delivery.body` to the target, retrying as described above. Never throws for delivery errors. */
export async function deliverWebhook(target: WebhookTarget, delivery: WebhookDelivery, deps: WebhookDeps, signal?: AbortSignal): Promise<DeliveryRecord> {
  const t = validTarget(target);
  const json = JSON.stringify(delivery.body);
  check(json !== undefined, "body", "a JSON value", typeof delivery.body);
  const body = new TextEncoder().encode(json);
  check(body.length <= WEBHOOK_LIMITS.maxBodyBytes, "body", `at most ${WEBHOOK_LIMITS.maxBodyBytes} bytes`, `${body.length} bytes`);
  const signature = `sha256=${toHex(await deps.hmac(t.secret, body))}`;

  let status: number | null = null;
  let error: string | null = null;
  for (let attempt = 1; attempt <= t.maxAttempts; attempt++) {
    if (signal?.aborted) return { ok: false, attempts: attempt - 1, status, error: "delivery aborted" };
    const timeout = AbortSignal.timeout(t.timeoutMs);
    let retryAfter: number | null = null;
    let retryable = true;
    try {
      const response = await deps.fetch(t.url, {
        method: "POST",
        body,
        redirect: "manual",
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        headers: {
          "content-type": "application/json",
          "user-agent": "osiris-appliance",
          [SIGNATURE_HEADER]: signature,
          [TIMESTAMP_HEADER]: String(Math.floor(deps.now() / 1000)),
          [DELIVERY_HEADER]: delivery.id,
        },
      });
      await response.body?.cancel().catch(() => {}); // the answer's content is not used; free the connection
      status = response.status;
      if (status >= 200 && status < 300) return { ok: true, attempts: attempt, status, error: null };
      error = `HTTP ${status} from the receiver`;
      retryable = status >= 500 || RETRYABLE_STATUS.has(status);
      retryAfter = retryAfterMs(response.headers.get("retry-after"), deps.now());
    } catch (e) {
      if (signal?.aborted) return { ok: false, attempts: attempt, status, error: "delivery aborted" };
      error = timeout.aborted ? `timed out after ${t.timeoutMs} ms` : `network error: ${describe(e)}`;
    }
    if (!retryable || attempt === t.maxAttempts) return { ok: false, attempts: attempt, status, error };
    const jitter = Math.floor(deps.random() * Math.min(t.maxDelayMs, t.baseDelayMs * 2 ** (attempt - 1)));
    await deps.sleep(Math.min(t.maxDelayMs, Math.max(jitter, retryAfter ?? 0)), signal);
  }
  return { ok: false, attempts: t.maxAttempts, status, error }; // not reached: the loop returns on its last attempt
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${(e.cause as Error & { code?: string }).code ?? e.cause.message})` : "";
  return `${e.message}${cause}`;
}
