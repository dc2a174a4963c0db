/**
 * The HTTP(S) leg of WinRM: POST one SOAP envelope, authenticated, to `/wsman`, and return the answer.
 *
 * - HTTPS (5986): the leaf certificate's SHA-256 is checked against the injected PinStore inside the
 *   agent's `createConnection`, after the TLS handshake and before the socket is handed to HTTP — so no
 *   request byte, and no credential, reaches a host whose certificate does not match. First use is recorded.
 *   Windows listeners usually carry self-signed certificates, so the CA chain is not what is trusted: the pin is.
 * - Basic: `Authorization: Basic` on every request.
 * - NTLM: per request, NEGOTIATE with an empty body → 401 + CHALLENGE → AUTHENTICATE with the body. Both legs
 *   must share one connection, so the agent keeps exactly one keep-alive socket and requests are serialised;
 *   the second leg is refused if the server closed the connection in between.
 * - One socket per transport also bounds what a host can cost us; answers are capped at MAX_RESPONSE_BYTES.
 */

import { type IncomingHttpHeaders, Agent as HttpAgent, request as httpRequest, type ClientRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { CollectError } from "./errors.ts";
import { authenticateToken, challengeToken, negotiateToken, ntlmIdentity } from "./ntlm.ts";
import { checkPin, pinKey, type PinStore, recordPin, sha256Fingerprint } from "./pins.ts";
import type { TransportLog } from "./transport.ts";

/** Windows caps envelopes at MaxEnvelopeSize (150 KiB by default); 1 MiB leaves room and still bounds memory. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Keep-alive probe interval for the one socket; HTTP.sys drops idle connections after about 2 minutes. */
const KEEPALIVE_MSECS = 30_000;

export type WinrmAuth =
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | {
    readonly kind: "ntlm";
    /** `DOMAIN\user`, `user@domain.tld` or a local `user`. */
    readonly username: string;
    readonly password: string;
    /** Workstation name sent in NTLM messages; defaults to OSIRIS. */
    readonly workstation?: string;
  };

export interface WinrmHttpOptions {
  readonly url: URL;
  readonly auth: WinrmAuth;
  readonly pins: PinStore;
  readonly target: string;
  readonly connectTimeoutMs: number;
  readonly log: TransportLog;
}

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

interface RawAnswer extends HttpAnswer {
  readonly wwwAuthenticate: string[];
  readonly reusedSocket: boolean;
}

export class WinrmHttp {
  readonly #o: WinrmHttpOptions;
  readonly #agent: HttpAgent;
  readonly #tls: boolean;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: WinrmHttpOptions) {
    this.#o = o;
    this.#tls = o.url.protocol === "https:";
    const agentOptions = { keepAlive: true, keepAliveMsecs: KEEPALIVE_MSECS, maxSockets: 1, maxFreeSockets: 1 };
    this.#agent = this.#tls
      ? new PinnedAgent(agentOptions, (raw) => this.#checkCertificate(raw), o.connectTimeoutMs, o.target)
      : new HttpAgent(agentOptions);
  }

  /** POSTs `body`, authenticating as configured. Requests are serialised (NTLM legs share one socket). */
  post(body: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpAnswer> {
    const run = this.#queue.then(() => this.#post(body, timeoutMs, signal));
    this.#queue = run.catch(() => {});
    return run;
  }

  close(): void {
    this.#agent.destroy();
  }

  async #post(body: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpAnswer> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const { auth } = this.#o;
    if (auth.kind === "basic") {
      const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`;
      const a = await this.#sendRetrying(basic, body, left, signal);
      if (a.status === 401) throw this.#rejected();
      return a;
    }
    const id = ntlmIdentity(auth.username);
    const workstation = auth.workstation ?? "OSIRIS";
    const first = await this.#sendRetrying(`Negotiate ${negotiateToken(id, workstation)}`, "", left, signal);
    const challenge = first.status === 401 ? challengeToken(first.wwwAuthenticate) : undefined;
    if (challenge === undefined) {
      if (first.status === 401) {
        throw new CollectError("auth_failed", `${this.#o.target} does not offer Negotiate/NTLM authentication (check winrm/config/service/auth)`);
      }
      throw new CollectError("protocol", `${this.#o.target} answered the NTLM negotiate with HTTP ${first.status} instead of a challenge`);
    }
    const token = authenticateToken(challenge, id, auth.password, workstation);
    const second = await this.#send(`Negotiate ${token}`, body, left(), signal);
    if (!second.reusedSocket) {
      throw new CollectError("protocol", `${this.#o.target} closed the connection between the NTLM challenge and the response`);
    }
    if (second.status === 401) throw this.#rejected();
    return second;
  }

  #rejected(): CollectError {
    return new CollectError("auth_failed", `${this.#o.target} rejected the ${this.#o.auth.kind === "ntlm" ? "NTLM" : "Basic"} credentials for ${this.#o.auth.username}`);
  }

  /** A kept-alive socket the server already closed fails at once with ECONNRESET: retry once on a new one. */
  async #sendRetrying(authorization: string, body: string, left: () => number, signal?: AbortSignal): Promise<RawAnswer> {
    try {
      return await this.#send(authorization, body, left(), signal);
    } catch (err) {
      if (err instanceof StaleSocketError) return await this.#send(authorization, body, left(), signal);
      throw err;
    }
  }

  #send(authorization: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<RawAnswer> {
    const { url, target, connectTimeoutMs } = this.#o;
    return new Promise<RawAnswer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new CollectError("aborted", `Command on ${target} was aborted by the caller`));
        return;
      }
      const payload = Buffer.from(body, "utf8");
      const options: RequestOptions = {
        method: "POST",
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (this.#tls ? 5986 : 5985),
        path: url.pathname,
        agent: this.#agent,
        headers: {
          "Content-Type": "application/soap+xml;charset=UTF-8",
          "Content-Length": String(payload.byteLength),
          "User-Agent": "OsirisCare WinRM client",
          Authorization: authorization,
        },
      };
      let settled = false;
      let connected = false;
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(connectTimer);
        signal?.removeEventListener("abort", onAbort);
        req.destroy();
        reject(err);
      };
      const req: ClientRequest = (this.#tls ? httpsRequest : httpRequest)(options, (res) => {
        res.on("data", (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > MAX_RESPONSE_BYTES) {
            fail(new CollectError("protocol", `${target} sent an answer over ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers["content-type"] ?? "",
            body: Buffer.concat(chunks).toString("utf8"),
            wwwAuthenticate: headerValues(res.headers, "www-authenticate"),
            reusedSocket: req.reusedSocket,
          });
        });
        res.on("error", () => fail(new CollectError("unreachable", `Connection to ${target} broke while reading the answer`)));
      });
      const timer = setTimeout(() => {
        fail(
          connected
            ? new CollectError("timeout", `${target} did not answer within ${timeoutMs} ms`, { timeoutMs })
            : new CollectError("unreachable", `Could not connect to ${target} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => fail(new CollectError("aborted", `Command on ${target} was aborted by the caller`));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("socket", (socket) => {
        if (!("connecting" in socket) || !socket.connecting) {
          connected = true;
          return;
        }
        connectTimer = setTimeout(
          () => fail(new CollectError("unreachable", `Could not connect to ${target} within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
        socket.once("connect", () => {
          connected = true;
          clearTimeout(connectTimer);
        });
      });
      req.on("error", (err: Error & { code?: unknown }) => {
        if (settled) return;
        if (err instanceof CollectError) {
          fail(err);
          return;
        }
        const code = typeof err.code === "string" ? err.code : "socket error";
        if (req.reusedSocket && code === "ECONNRESET") {
          fail(new StaleSocketError());
          return;
        }
        fail(new CollectError("unreachable", `Could not reach ${target}: ${code}`, { cause: code }));
      });
      req.end(payload);
    });
  }

  async #checkCertificate(raw: Buffer): Promise<void> {
    const { url, pins, target, log } = this.#o;
    const key = pinKey("winrm", url.hostname.replace(/^\[|\]$/g, ""), Number(url.port || 5986));
    const fp = sha256Fingerprint(raw);
    const r = await checkPin(pins, key, fp, target);
    if (r.outcome === "first_use") {
      await recordPin(pins, key, fp, target);
      log({ level: "info", msg: "winrm certificate trusted on first use", target, fingerprint: fp });
    }
  }
}

/** Marks a request that failed only because its kept-alive socket was already closed. */
class StaleSocketError extends Error {}

function headerValues(h: IncomingHttpHeaders, name: string): string[] {
  const v = h[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * An HTTPS agent that completes the TLS handshake itself, checks the leaf certificate against the pin, and
 * only then hands the socket to HTTP. Certificate chains are not validated (WinRM listeners are usually
 * self-signed); the pin is the trust decision.
 */
class PinnedAgent extends HttpsAgent {
  readonly #check: (raw: Buffer) => Promise<void>;
  readonly #connectTimeoutMs: number;
  readonly #target: string;

  constructor(
    options: ConstructorParameters<typeof HttpsAgent>[0],
    check: (raw: Buffer) => Promise<void>,
    connectTimeoutMs: number,
    target: string,
  ) {
    super(options);
    this.#check = check;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#target = target;
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = options.host ?? "localhost";
    const socket = tlsConnect({
      host,
      port: Number(options.port),
      ...(isIP(host) === 0 ? { servername: options.servername ?? host } : {}),
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    });
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("error", onError);
      if (err) socket.destroy();
      callback?.(err, socket);
    };
    const onError = (err: Error & { code?: unknown }) => {
      const code = typeof err.code === "string" ? err.code : "TLS error";
      finish(new CollectError("unreachable", `Could not establish TLS with ${this.#target}: ${code}`, { cause: code }));
    };
    const timer = setTimeout(
      () => finish(new CollectError("unreachable", `No TLS handshake with ${this.#target} within ${this.#connectTimeoutMs} ms`)),
      this.#connectTimeoutMs,
    );
    socket.on("error", onError);
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate(false);
      if (!cert?.raw) {
        finish(new CollectError("protocol", `${this.#target} presented no TLS certificate`));
        return;
      }
      this.#check(cert.raw).then(
        () => finish(null),
        (err: unknown) => finish(err instanceof Error ? err : new CollectError("protocol", `Certificate check for ${this.#target} failed`)),
      );
    });
    return undefined;
  }
}
