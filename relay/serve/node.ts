/**
 * The Node adapter: serves a relay app over HTTP, or HTTPS when given a certificate and key (otherwise run
 * it behind a TLS-terminating reverse proxy). Node specifics stay here: sockets, TLS and the peer address
 * used for rate limits.
 */
import type { Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { RelayApp } from "../app.ts";
import { clientAddress, type TrustedProxies } from "../http/client-address.ts";

/** A request (headers and body) must arrive within this time: slow-loris clients are cut off. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Headers must arrive within this time. */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Idle keep-alive connections are closed after this. Appliances sync every ~60 s, so they reconnect. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface ServeOptions {
  app: RelayApp;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** PEM certificate chain and private key: serve HTTPS. */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
}

export interface RunningServer {
  /** The base URL the server listens on, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The peer address of a request served by @hono/node-server (for deps.clientAddress). */
export function nodeClientAddress(_request: Request, env: unknown): string {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? "unknown";
}

/**
 * deps.clientAddress for a relay behind `trusted` reverse proxies: X-Forwarded-For counts only when the peer is
 * one of them (http/client-address.ts); with none it is `nodeClientAddress`.
 */
export function nodeClientAddressBehind(trusted: TrustedProxies): (request: Request, env: unknown) => string {
  if (trusted.length === 0) return nodeClientAddress;
  return (request, env) => clientAddress(nodeClientAddress(request, env), request.headers.get("x-forwarded-for"), trusted);
}

export function startServer(opts: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: opts.app.fetch,
        hostname: opts.host,
        port: opts.port,
        ...(opts.tls ? { createServer: createHttpsServer, serverOptions: { cert: Buffer.from(opts.tls.cert), key: Buffer.from(opts.tls.key) } } : {}),
      },
      (info: AddressInfo) => {
        const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
        resolve({
          url: `${opts.tls ? "https" : "http"}://${host}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) => {
              server.close((err) => (err ? fail(err) : done()));
              if ("closeAllConnections" in server) server.closeAllConnections();
            }),
        });
      },
    );
    // Both the HTTP and the HTTPS server are node:http servers underneath (never HTTP/2 here).
    const http = server as HttpServer;
    http.requestTimeout = REQUEST_TIMEOUT_MS;
    http.headersTimeout = HEADERS_TIMEOUT_MS;
    http.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.once("error", reject);
  });
}
