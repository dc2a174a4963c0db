/**
 * The few S3 calls the archive needs, signed with SigV4 by `aws4fetch` and sent through an injected `fetch`
 * (path-style addressing: `<endpoint>/<bucket>/<key>`, which AWS, Ceph RGW and MinIO all accept).
 *
 * - `putLocked`: PUT with `x-amz-object-lock-mode: COMPLIANCE` and a retain-until date, `Content-MD5` (Object
 *   Lock uploads require an integrity header) and the payload's SHA-256 as `x-amz-content-sha256`, which is
 *   signed: the server refuses bytes that differ from what was hashed (BadDigest / XAmzContentSHA256Mismatch).
 * - `head`: what the bucket holds under a key (our sha256 metadata, lock mode, retain-until, version).
 * - `lockConfiguration`: whether the bucket has Object Lock, for a clear log line at start.
 *
 * Errors are `S3Error`s that say whether waiting can help (`transient`: network, timeouts, 5xx, 429, bytes
 * damaged in transit) or an operator must act (`transient: false`: access denied, no such bucket, no Object
 * Lock on the bucket). Messages carry the S3 code and message only — never a key or a signature.
 */
import { AwsClient } from "aws4fetch";
import { md5 } from "@noble/hashes/legacy.js";
import { toBase64 } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime } from "../../protocol/ids.ts";

/** One S3 request may take this long (a small object on a healthy endpoint takes milliseconds). */
export const S3_REQUEST_TIMEOUT_MS = 30_000;
/** Error bodies are a few hundred bytes of XML; more is cut. */
const MAX_ERROR_BODY_CHARS = 4096;
/** Longest S3 error message kept (they are one sentence). */
const MAX_ERROR_MESSAGE_CHARS = 300;

export interface S3Config {
  /** `https://s3.example.com` or `http://127.0.0.1:7480` (no path, no credentials in the URL). */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export type Fetch = (request: Request) => Promise<Response>;

export interface LockedPut {
  key: string;
  body: Uint8Array;
  contentType: string;
  /** COMPLIANCE retention until this time (milliseconds since the epoch). */
  retainUntilMs: number;
  /** `x-amz-meta-*` values (ASCII). */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface StoredObject {
  versionId: string | null;
  /** Our `x-amz-meta-sha256`, when the object carries it. */
  sha256: string | null;
  lockMode: string | null;
  retainUntil: string | null;
  size: number;
}

export interface LockConfiguration {
  enabled: boolean;
  defaultMode: string | null;
  defaultDays: number | null;
}

export interface ObjectStore {
  readonly bucket: string;
  putLocked(put: LockedPut): Promise<{ versionId: string | null }>;
  /** The latest version under `key`, or null when there is none (or the latest is a delete marker). */
  head(key: string, signal?: AbortSignal): Promise<StoredObject | null>;
  lockConfiguration(signal?: AbortSignal): Promise<LockConfiguration>;
}

/** An S3 call that did not succeed. */
export class S3Error extends Error {
  override readonly name = "S3Error";
  constructor(
    message: string,
    /** HTTP status, or 0 when no answer arrived. */
    readonly status: number,
    /** The S3 error code (`AccessDenied`, `NoSuchBucket`, …), `network` or `timeout`. */
    readonly code: string,
    /** True when retrying later can succeed without anyone changing anything. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** S3 codes that a retry can cure even though they come with a 4xx status. */
const TRANSIENT_CODES = new Set(["RequestTimeout", "SlowDown", "BadDigest", "XAmzContentSHA256Mismatch", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable"]);

/** An ObjectStore for one bucket. */
export function s3Store(config: S3Config, fetchFn: Fetch = (r) => fetch(r)): ObjectStore {
  const base = `${config.endpoint.replace(/\/+$/, "")}/${config.bucket}`;
  // retries: 0 — the archiver owns retrying (backoff with jitter, state in the database).
  const signer = new AwsClient({ accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, service: "s3", region: config.region, retries: 0 });

  const send = async (what: string, url: string, init: RequestInit & { headers?: Record<string, string> }, signal?: AbortSignal): Promise<Response> => {
    const timeout = AbortSignal.timeout(S3_REQUEST_TIMEOUT_MS);
    const request = await signer.sign(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    try {
      return await fetchFn(request);
    } catch (e) {
      if (timeout.aborted) throw new S3Error(`${what}: no answer within ${S3_REQUEST_TIMEOUT_MS} ms`, 0, "timeout", true);
      if (signal?.aborted) throw new S3Error(`${what}: aborted`, 0, "aborted", true);
      throw new S3Error(`${what}: ${networkReason(e)}`, 0, "network", true);
    }
  };

  return {
    bucket: config.bucket,

    async putLocked(put) {
      const what = `S3 PUT ${config.bucket}/${put.key}`;
      const headers: Record<string, string> = {
        "content-type": put.contentType,
        "content-md5": toBase64(md5(put.body)),
        "x-amz-content-sha256": sha256Hex(put.body),
        "x-amz-object-lock-mode": "COMPLIANCE",
        "x-amz-object-lock-retain-until-date": isoTime(put.retainUntilMs),
      };
      for (const [k, v] of Object.entries(put.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
      const res = await send(what, `${base}/${put.key}`, { method: "PUT", body: new Uint8Array(put.body), headers }, put.signal);
      if (res.status !== 200) throw await errorOf(what, res);
      await res.arrayBuffer();
      return { versionId: res.headers.get("x-amz-version-id") };
    },

    async head(key, signal) {
      const what = `S3 HEAD ${config.bucket}/${key}`;
      const res = await send(what, `${base}/${key}`, { method: "HEAD", headers: { "x-amz-content-sha256": sha256Hex(new Uint8Array()) } }, signal);
      if (res.status === 404) return null;
      if (res.status !== 200) throw await errorOf(what, res);
      const h = res.headers;
      const until = h.get("x-amz-object-lock-retain-until-date");
      return {
        versionId: h.get("x-amz-version-id"),
        sha256: h.get("x-amz-meta-sha256"),
        lockMode: h.get("x-amz-object-lock-mode"),
        retainUntil: until === null ? null : normaliseTime(until),
        size: Number(h.get("content-length") ?? 0),
      };
    },

    async lockConfiguration(signal) {
      const what = `S3 GET ${config.bucket}?object-lock`;
      const res = await send(what, `${base}?object-lock`, { method: "GET" }, signal);
      const text = (await res.text()).slice(0, MAX_ERROR_BODY_CHARS);
      if (res.status === 404 && xmlValue(text, "Code") === "ObjectLockConfigurationNotFoundError") return { enabled: false, defaultMode: null, defaultDays: null };
      if (res.status !== 200) throw errorFromBody(what, res.status, text);
      const days = xmlValue(text, "Days");
      return { enabled: xmlValue(text, "ObjectLockEnabled") === "Enabled", defaultMode: xmlValue(text, "Mode"), defaultDays: days === null ? null : Number(days) };
    },
  };
}

async function errorOf(what: string, res: Response): Promise<S3Error> {
  return errorFromBody(what, res.status, res.body ? (await res.text()).slice(0, MAX_ERROR_BODY_CHARS) : "");
}

function errorFromBody(what: string, status: number, body: string): S3Error {
  const code = xmlValue(body, "Code") ?? `HTTP${status}`;
  const message = (xmlValue(body, "Message") ?? "").slice(0, MAX_ERROR_MESSAGE_CHARS);
  const transient = status >= 500 || status === 408 || status === 429 || TRANSIENT_CODES.has(code);
  return new S3Error(`${what}: ${status} ${code}${message ? ` (${message})` : ""}`, status, code, transient);
}

/** The text of the first `<tag>…</tag>` (XML entities decoded), or null. */
function xmlValue(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  if (!m) return null;
  return m[1]!.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** `2026-11-29T01:48:35.858000000Z` (RGW's nanoseconds) → `2026-11-29T01:48:35.858Z`. */
function normaliseTime(text: string): string {
  const ms = Date.parse(text.replace(/(\.\d{3})\d+Z$/, "$1Z"));
  return Number.isFinite(ms) ? isoTime(ms) : text;
}

/** `connect ECONNREFUSED 127.0.0.1:7480` rather than undici's bare "fetch failed". */
function networkReason(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return e instanceof Error ? e.message : String(e);
}
