/**
 * The appliance's only way to the relay: a small `fetch` over node:http / node:https that enforces the
 * transport rules itself, so no caller can forget them.
 *
 * - `https://` always; `http://` only to loopback (127.0.0.0/8, ::1, localhost) for tests and a relay on the
 *   same machine. The check runs on every request, not only when the config is loaded.
 * - Optional pin (config `relay.pin_sha256`): lower-case hex SHA-256 of the relay's TLS SubjectPublicKeyInfo
 *   (survives certificate renewal with the same key) or of the whole DER certificate. It is checked on every
 *   connection, after the handshake and before one request byte is written: the socket is handed to HTTP only
 *   once it matched. With a pin, the pin is the trust anchor (a self-hosted relay may use a self-signed
 *   certificate); without one, the certificate must chain to a trusted CA and name the host.
 * - One connection per request (no keep-alive pool): every request gets its own pin check, and a relay that
 *   went away costs nothing to forget. A sync is a handful of requests a minute.
 * - Answers are read up to `MAX_RESPONSE_BYTES`; the caller's AbortSignal (timeouts) aborts connect, TLS and
 *   reading alike.
 */
import { createHash, X509Certificate } from "node:crypto";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { MAX_PULL_BYTES, MAX_PUSH_BYTES } from "../../protocol/sync.ts";
import { SyncError } from "./errors.ts";

/** Largest answer read from the relay: a pull response (4 MiB) plus headroom for the JSON around it. */
export const MAX_RESPONSE_BYTES = MAX_PULL_BYTES + 64 * 1024;
/** Largest request body sent: a push (4 MiB). */
export const MAX_REQUEST_BYTES = MAX_PUSH_BYTES;

/** The part of `fetch` the sync client uses; tests wrap it to drop or delay answers. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RelayFetchOptions {
  /** Hex SHA-256 of the relay's TLS public key (SPKI DER) or certificate (DER). */
  pinSha256?: string;
  /** Extra CA certificates (PEM) to trust without a pin (tests, a private CA). */
  ca?: string | Uint8Array;
}

/** Whether `hostname` (as in a URL) is a loopback address. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** Parses a relay URL and refuses anything but https (or http to loopback). Throws SyncError `insecure_url`. */
export function checkRelayUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new SyncError("insecure_url", `The relay URL must be an absolute URL such as https://relay.example.com: current value is ${JSON.stringify(String(input).slice(0, 200))}`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return url;
  throw new SyncError("insecure_url", `Refusing ${url.protocol}//${url.host}: the relay must use https (plain http only to a loopback address)`);
}

/** SHA-256 (hex) of a certificate's SubjectPublicKeyInfo and of the certificate itself. */
export function certificateHashes(der: Uint8Array): { spki: string; cert: string } {
  const x509 = new X509Certificate(der);
  const spki = x509.publicKey.export({ type: "spki", format: "der" });
  return { spki: createHash("sha256").update(spki).digest("hex"), cert: createHash("sha256").update(der).digest("hex") };
}

/** A fetch to the relay that enforces the rules in the module comment. */
export function createRelayFetch(opts: RelayFetchOptions = {}): FetchLike {
  const pin = opts.pinSha256?.toLowerCase();
  if (pin !== undefined && !/^[0-9a-f]{64}$/.test(pin)) throw new TypeError(`Cannot pin the relay as 'pinSha256' must be 64 hex digits: current value is ${JSON.stringify(opts.pinSha256)}`);
  return async (input, init) => {
    const url = checkRelayUrl(input);
    const body = requestBody(init.body);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw aborted(signal);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    if (body) headers["content-length"] = String(body.length);
    // No pooling: `agent: false` for http; for https no agent at all, so node uses `createConnection` (an
    // agent, even a fresh one, would open its own TLS socket and skip the pin check).
    const options: RequestOptions = { method: init.method ?? "GET", headers, ...(url.protocol === "https:" ? { defaultPort: 443 } : { agent: false }) };
    if (url.protocol === "https:") {
      options.createConnection = (_o, done) => {
        connectTls(url, pin, opts.ca, done);
        return undefined; // handed over through `done` once the handshake (and the pin) checked out
      };
    }
    return new Promise<Response>((resolve, reject) => {
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(url, options, (res) => void readResponse(res, url).then(resolve, (e: unknown) => reject(signal?.aborted ? aborted(signal) : e)));
      const onAbort = () => req.destroy(aborted(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("close", () => signal?.removeEventListener("abort", onAbort));
      req.on("error", (e) => reject(mapError(e, url)));
      req.end(body);
    });
  };
}

function requestBody(body: RequestInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null;
  if (bytes === null) throw new TypeError("Cannot send to the relay: the body must be a string or a Uint8Array");
  if (bytes.length > MAX_REQUEST_BYTES) throw new SyncError("bad_response", `Refusing to send ${bytes.length} bytes: the relay accepts at most ${MAX_REQUEST_BYTES}`);
  return bytes;
}

/** Opens a TLS connection and hands it over only after the pin (or the CA chain and host name) checked out. */
function connectTls(url: URL, pin: string | undefined, ca: string | Uint8Array | undefined, done: (err: Error | null, socket: Duplex) => void): void {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const socket: TLSSocket = tlsConnect({
    host,
    port: Number(url.port || 443),
    ...(isIP(host) === 0 ? { servername: host } : {}),
    // With a pin the pin is the trust anchor (checked below); without, the usual CA + host name checks.
    rejectUnauthorized: pin === undefined,
    ...(ca !== undefined ? { ca: typeof ca === "string" ? ca : Buffer.from(ca) } : {}),
    minVersion: "TLSv1.2",
  });
  let settled = false;
  const finish = (err: Error | null) => {
    if (settled) return;
    settled = true;
    socket.off("error", finish);
    if (err) socket.destroy();
    done(err, socket);
  };
  socket.once("error", finish);
  socket.once("secureConnect", () => {
    if (pin === undefined) return finish(null);
    const der = socket.getPeerCertificate(false)?.raw;
    if (!der) return finish(new SyncError("pin_mismatch", `${url.host} presented no TLS certificate; the relay key is pinned`));
    const seen = certificateHashes(der);
    if (seen.spki === pin || seen.cert === pin) return finish(null);
    finish(new SyncError("pin_mismatch", `${url.host} presented TLS key ${seen.spki} (certificate ${seen.cert}), not the pinned ${pin}; refusing to talk to it`));
  });
}

async function readResponse(res: IncomingMessage, url: URL): Promise<Response> {
  const declared = Number(res.headers["content-length"] ?? "0");
  if (declared > MAX_RESPONSE_BYTES) {
    res.destroy();
    throw new SyncError("response_too_large", `${url.host} announced a ${declared}-byte answer; the limit is ${MAX_RESPONSE_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy();
        throw new SyncError("response_too_large", `${url.host} sent more than ${MAX_RESPONSE_BYTES} bytes; the answer was dropped`);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    throw mapError(e, url);
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const status = res.statusCode ?? 0;
  // Response refuses a body for 204/304; the relay sends neither, but stay correct.
  const noBody = status === 204 || status === 304;
  return new Response(noBody ? null : Buffer.concat(chunks), { status, headers });
}

function aborted(signal: AbortSignal): SyncError {
  const reason: unknown = signal.reason;
  if (reason instanceof SyncError) return reason;
  const isTimeout = reason instanceof DOMException && reason.name === "TimeoutError";
  return new SyncError(isTimeout ? "timeout" : "aborted", isTimeout ? "The relay did not answer in time" : "The request to the relay was aborted", { cause: reason });
}

/** Maps socket and TLS errors to SyncError codes (already-typed errors pass through). */
function mapError(e: unknown, url: URL): SyncError {
  if (e instanceof SyncError) return e;
  const code = (e as { code?: unknown }).code;
  const text = typeof code === "string" ? code : (e as Error).message;
  if (typeof code === "string" && (code.startsWith("ERR_TLS") || code.includes("CERT") || code.startsWith("ERR_SSL") || code === "EPROTO")) {
    return new SyncError("tls_failed", `TLS with ${url.host} failed: ${text}`, { cause: e });
  }
  return new SyncError("unreachable", `Cannot reach the relay at ${url.host}: ${text}`, { cause: e });
}
