/**
 * The appliance's read-only status page as a Hono app: the built page, its JSON, a stream of changes and a
 * health probe. Nothing here writes anything: every route is a GET (Hono answers HEAD from the GET route),
 * any other method on any path is 405 with `Allow: GET, HEAD`, and no handler reaches a store method that
 * writes (the feed only reads). The method guard lives in `notFound` rather than in a catch-all middleware,
 * so `app.routes` lists exactly the GET routes and a test can hold the app to that.
 *
 * Every response, errors included, carries SECURITY_HEADERS: a CSP with no inline script or style, no
 * framing, no referrer, no MIME sniffing.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import { errorEnvelope } from "../../protocol/sync.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { Asset, StatusAssets } from "./assets.ts";
import type { FeedSnapshot } from "./status-feed.ts";

/** Sent with every response. `connect-src` falls back to `default-src 'self'`, which covers /api/*. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
};

/** The methods the page answers; everything else is 405. */
export const ALLOWED_METHODS = "GET, HEAD";
/** How often an event stream looks for a change (the feed caches reads, so streams share them). */
export const EVENT_POLL_MS = 5_000;
/** An event stream ends after this long; EventSource reconnects by itself (bounds a forgotten tab's cost). */
export const EVENT_STREAM_MAX_MS = 10 * 60_000;
/** Open event streams at most: a clinic has a handful of screens; more is a misbehaving client. */
export const MAX_EVENT_STREAMS = 32;
/** Told to EventSource: wait this long before reconnecting. */
export const EVENT_RETRY_MS = 5_000;

export interface StatusAppOptions {
  /** The current report (status-feed.ts). */
  status: () => Promise<FeedSnapshot>;
  /** The built page, or null when it is not installed (a plain page then says so). */
  assets: StatusAssets | null;
  clock: Clock;
  log: Log;
  eventPollMs?: number;
  eventStreamMaxMs?: number;
  maxEventStreams?: number;
}

/** Shown at `/` when the bundle is missing: no script, no style, still says where the data is. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>OsirisCare status</title></head>
<body><main><h1>OsirisCare status</h1><p>The status page is not installed on this appliance. The appliance keeps checking as usual.</p>
<p>For your IT provider: build it with <code>npm run build:ui</code>. The status data is at <a href="/api/status">/api/status</a>.</p></main></body></html>
`;

/** What a browser gets for an address the appliance does not have (a mistyped link, an old bookmark). */
export const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Page not found · OsirisCare status</title></head>
<body><main><h1>Page not found</h1><p>This appliance has no page at this address. Its status page is at <a href="/">the start page</a>.</p></main></body></html>
`;

const secure: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
};

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return (name === "gzip" || name === "*") && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** Whether an If-None-Match header matches `etag` (weak comparison, as RFC 9110 §13.1.2 asks for GET). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/** A body in full or gzip form, with ETag and Vary, or 304 when the client already has it. */
function entity(c: Context, e: { body: Uint8Array; gzip: Uint8Array; type: string; etag: string }, cacheControl: string): Response {
  const headers: Record<string, string> = { "Content-Type": e.type, ETag: e.etag, "Cache-Control": cacheControl, Vary: "Accept-Encoding" };
  if (matches(c.req.header("If-None-Match"), e.etag)) return c.body(null, 304, headers);
  const gz = acceptsGzip(c.req.header("Accept-Encoding"));
  if (gz) headers["Content-Encoding"] = "gzip";
  const bytes = gz ? e.gzip : e.body;
  headers["Content-Length"] = String(bytes.byteLength);
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, headers);
}

const assetCache = (a: Asset) => (a.immutable ? "public, max-age=31536000, immutable" : "no-cache");

/** Builds the status app. Throws RangeError for non-positive bounds. */
export function createStatusApp(options: StatusAppOptions): Hono {
  const pollMs = options.eventPollMs ?? EVENT_POLL_MS;
  const streamMaxMs = options.eventStreamMaxMs ?? EVENT_STREAM_MAX_MS;
  const maxStreams = options.maxEventStreams ?? MAX_EVENT_STREAMS;
  for (const [name, v] of Object.entries({ eventPollMs: pollMs, eventStreamMaxMs: streamMaxMs, maxEventStreams: maxStreams })) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Cannot create the status app as '${name}' must be a positive number: current value is ${v}`);
  }
  const { log, clock, assets } = options;
  const app = new Hono();
  let openStreams = 0;

  const unavailable = (c: Context, e: unknown) => {
    log.error("status_unavailable", { error: e instanceof Error ? e.message : String(e) });
    return c.json(errorEnvelope("unavailable", "The appliance could not read its status just now; try again in a moment"), 503, { "Retry-After": "5", "Cache-Control": "no-store" });
  };

  const page = (c: Context) => {
    const index = assets?.get("/index.html");
    if (index) return entity(c, index, "no-cache");
    return c.html(NOT_BUILT_PAGE, 200, { "Cache-Control": "no-cache" });
  };
  app.get("/", secure, page);
  app.get("/index.html", secure, page);

  app.get("/assets/:file{[A-Za-z0-9][A-Za-z0-9._-]{0,127}}", secure, (c) => {
    const a = assets?.get(`/assets/${c.req.param("file")}`);
    return a ? entity(c, a, assetCache(a)) : c.json(errorEnvelope("not_found", "No such file"), 404);
  });
  app.get("/favicon.svg", secure, (c) => {
    const a = assets?.get("/favicon.svg");
    return a ? entity(c, a, "public, max-age=86400") : c.body(null, 404);
  });

  app.get("/api/status", secure, async (c) => {
    try {
      const s = await options.status();
      return entity(c, { body: s.body, gzip: s.gzip, type: "application/json; charset=utf-8", etag: s.etag }, "no-cache");
    } catch (e) {
      return unavailable(c, e);
    }
  });

  app.get("/api/events", secure, (c) => {
    const headers = { "Cache-Control": "no-store" };
    if (c.req.method === "HEAD") return c.body(null, 200, { ...headers, "Content-Type": "text/event-stream" });
    if (openStreams >= maxStreams) {
      return c.json(errorEnvelope("busy", `Too many open status streams (${maxStreams}); poll /api/status instead`), 503, { ...headers, "Retry-After": "30" });
    }
    openStreams++;
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return streamSSE(
      c,
      async (stream) => {
        try {
          const until = clock.now() + streamMaxMs;
          let sent = "";
          while (!stream.aborted && !stream.closed && clock.now() < until) {
            let snap: FeedSnapshot | null = null;
            try {
              snap = await options.status();
            } catch (e) {
              log.warn("status_stream_read_failed", { error: e instanceof Error ? e.message : String(e) });
            }
            if (snap && snap.etag !== sent) {
              await stream.writeSSE({ event: "status", data: snap.json, retry: EVENT_RETRY_MS });
              sent = snap.etag;
            } else {
              // A comment line: keeps proxies and the browser from timing the stream out.
              await stream.write(": keep-alive\n\n");
            }
            await stream.sleep(pollMs);
          }
        } finally {
          openStreams--;
        }
      },
      async (e) => {
        log.warn("status_stream_failed", { error: e.message });
      },
    );
  });

  app.get("/healthz", secure, (c) => c.text("ok\n", 200, { "Cache-Control": "no-store" }));

  app.notFound((c) => {
    const headers = { ...SECURITY_HEADERS };
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.json(errorEnvelope("method_not_allowed", `This page is read-only: ${c.req.method} is not allowed; use GET`), 405, { ...headers, Allow: ALLOWED_METHODS });
    }
    if (/\btext\/html\b/.test(c.req.header("Accept") ?? "")) return c.html(NOT_FOUND_PAGE, 404, headers);
    return c.json(errorEnvelope("not_found", `No page at ${new URL(c.req.url).pathname}`), 404, headers);
  });
  app.onError((err, c) => {
    log.error("status_request_failed", { path: new URL(c.req.url).pathname, error: err.stack ?? err.message });
    return c.json(errorEnvelope("internal", "Internal error: the appliance logged the details"), 500, { ...SECURITY_HEADERS });
  });
  return app;
}
