import { test } from "uvu";
import * as assert from "uvu/assert";
import { request as httpRequest } from "node:http";
import { gunzipSync } from "node:zlib";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { openLabAppliance, quietLog, type LabFixture } from "./_test-lab.ts";
import { makeAsset, type StatusAssets } from "./assets.ts";
import { startStatusServer } from "./node.ts";
import { ALLOWED_METHODS, createStatusApp, NOT_BUILT_PAGE, NOT_FOUND_PAGE, SECURITY_HEADERS } from "./server.ts";
import { buildStatus } from "./status-api.ts";
import { StatusFeed } from "./status-feed.ts";
import { applianceStatusSource } from "./status-source.ts";
import type { StatusReport } from "./status-types.ts";

const ASSETS: StatusAssets = new Map([
  ["/index.html", makeAsset("/index.html", new TextEncoder().encode('<!doctype html><html lang="en"><title>x</title><script type="module" src="/assets/index-abc123.js"></script></html>'))],
  ["/assets/index-abc123.js", makeAsset("/assets/index-abc123.js", new TextEncoder().encode("console.log('status page');".repeat(50)))],
  ["/favicon.svg", makeAsset("/favicon.svg", new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'))],
]);

let lab: LabFixture;

function appFor(l: LabFixture, opts: { assets?: StatusAssets | null; maxEventStreams?: number; eventPollMs?: number } = {}) {
  const source = applianceStatusSource(l.appliance, l.config, { clock: l.clock });
  const feed = new StatusFeed({ build: async () => buildStatus(await source.read(), catalogue), clock: l.clock });
  return createStatusApp({
    status: () => feed.current(),
    assets: opts.assets === undefined ? ASSETS : opts.assets,
    clock: l.clock,
    log: quietLog,
    ...(opts.maxEventStreams ? { maxEventStreams: opts.maxEventStreams } : {}),
    ...(opts.eventPollMs ? { eventPollMs: opts.eventPollMs } : {}),
  });
}

/** A concrete URL path for each route (parameters filled in). */
function concretePaths(app: ReturnType<typeof createStatusApp>): string[] {
  return [...new Set(app.routes.map((r) => r.path.replace(/:file\{.*\}$/, "index-abc123.js")))];
}

/** Everything a write would change: table sizes, the newest update times, the evidence head. */
async function stateOf(l: LabFixture): Promise<string> {
  const rows: unknown[] = [];
  for (const sql of [
    "SELECT COUNT(*) AS n, MAX(seq) AS s FROM evidence",
    "SELECT COUNT(*) AS n, MAX(outbox_seq) AS s FROM outbox",
    "SELECT COUNT(*) AS n, MAX(updated_at) AS u, group_concat(status) AS st FROM incidents",
    "SELECT COUNT(*) AS n, MAX(updated_at) AS u FROM kv",
    "SELECT COUNT(*) AS n FROM healing_attempts",
    "SELECT COUNT(*) AS n FROM checkpoints",
  ]) {
    rows.push((await l.appliance.store.execute(sql)).rows[0]);
  }
  rows.push(await l.appliance.evidence.head());
  return JSON.stringify(rows);
}

function assertSecurityHeaders(res: Response, what: string): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.is(res.headers.get(k), v, `${what}: header ${k}`);
}

test.before(async () => {
  lab = await openLabAppliance({ relay: true });
});
test.after(async () => {
  await lab.close();
});

test("app.routes lists only GET routes (HEAD is answered from them)", () => {
  const app = appFor(lab);
  assert.ok(app.routes.length > 0);
  for (const r of app.routes) assert.is(r.method, "GET", `${r.method} ${r.path}`);
  assert.equal(concretePaths(app).sort(), ["/", "/api/events", "/api/status", "/assets/index-abc123.js", "/favicon.svg", "/healthz", "/index.html"]);
});

test("POST, PUT, DELETE, PATCH and OPTIONS to every route get 405 with Allow: GET, HEAD and change nothing", async () => {
  const app = appFor(lab);
  const before = await stateOf(lab);
  const statusBefore = await (await app.request("/api/status")).text();
  for (const path of [...concretePaths(app), "/no-such-page", "/api/status/../x"]) {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await app.request(path, { method, ...(method === "OPTIONS" ? {} : { body: '{"status":"resolved"}', headers: { "Content-Type": "application/json" } }) });
      assert.is(res.status, 405, `${method} ${path}`);
      assert.is(res.headers.get("Allow"), ALLOWED_METHODS, `${method} ${path}`);
      assertSecurityHeaders(res, `${method} ${path}`);
      const body = (await res.json()) as { error: { code: string } };
      assert.is(body.error.code, "method_not_allowed");
    }
  }
  assert.is(await stateOf(lab), before);
  assert.is(await (await app.request("/api/status")).text(), statusBefore);
});

test("every response carries the security headers: pages, JSON, assets, errors, HEAD, events", async () => {
  const app = appFor(lab);
  const cases: [string, RequestInit?][] = [["/"], ["/index.html"], ["/api/status"], ["/healthz"], ["/assets/index-abc123.js"], ["/assets/missing.js"], ["/favicon.svg"], ["/nope"], ["/", { method: "HEAD" }], ["/api/events", { method: "HEAD" }]];
  for (const [path, init] of cases) {
    const res = await app.request(path, init);
    assertSecurityHeaders(res, `${init?.method ?? "GET"} ${path}`);
    await res.arrayBuffer();
  }
  const csp = SECURITY_HEADERS["Content-Security-Policy"]!;
  assert.not.match(csp, /unsafe-inline|unsafe-eval/);
  for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) assert.ok(csp.includes(directive), directive);
});

test("GET /api/status explains a failing, a deferred and a pending-approval item in plain language", async () => {
  const res = await appFor(lab).request("/api/status");
  assert.is(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
  const r = (await res.json()) as StatusReport;
  assert.is(r.schema, "osiris.status/v1");
  assert.is(r.site.name, "Riverside Family Clinic");
  assert.is(r.simulated, true);
  assert.is(r.overall.level, "attention");
  assert.is(r.overall.headline, "3 items need attention — your IT provider has been notified");
  const by = (check: string) => r.attention.find((i) => i.check === check);
  assert.is(by("windows.smb1_disabled")?.status_text, "fix scheduled for Sat 02:00");
  assert.is(by("windows.smb1_disabled")?.device_name, "RFC-FS01");
  assert.is(by("linux.unattended_upgrades")?.status_text, "waiting for approval");
  assert.is(by("windows.bitlocker")?.status_text, "your IT provider has been notified");
  assert.is(by("windows.bitlocker")?.category, "encryption");
  assert.ok((by("windows.bitlocker")?.staff_text.length ?? 0) > 40);
  assert.is(r.categories.length, 9);
  assert.equal(
    r.categories.filter((c) => c.level === "attention").map((c) => c.id),
    ["updates", "encryption", "firewall"],
  );
  assert.is(r.categories.find((c) => c.id === "backups")?.text, "All good");
  assert.is(r.devices.length, 8);
  assert.ok(r.devices.every((d) => d.simulated && d.last_check?.text === "today 12:30"));
  assert.is(r.next_window?.text, "Sat 02:00–06:00");
  assert.is(r.last_check?.at, "2026-11-26T12:30:00-05:00");
  assert.match(r.appliance.fingerprint, /^[0-9a-f]{4}(:[0-9a-f]{4}){7}$/);
  assert.is(r.appliance.fingerprint, lab.appliance.identity.fingerprint);
  const head = await lab.appliance.evidence.head();
  assert.is(r.appliance.evidence.seq, head.seq);
  assert.is(r.appliance.evidence.short_hash, head.hash.slice(0, 12));
  assert.is(r.relay.state, "never");
});

test("GET /api/status holds no IP address, relay URL, key material or raw facts", async () => {
  const text = await (await appFor(lab).request("/api/status")).text();
  assert.not.match(text, /\b\d{1,3}(\.\d{1,3}){3}\b/);
  assert.not.match(text, /relay\.example\.test|https?:\/\//);
  assert.not.match(text, /private|secret|password|token/i);
  assert.not.match(text, /"actual"|"expected"|"facts"/);
});

test("GET /api/status answers 304 to its own ETag and gzip when the client accepts it", async () => {
  const app = appFor(lab);
  const first = await app.request("/api/status");
  const etag = first.headers.get("ETag");
  assert.ok(etag);
  assert.is(first.headers.get("Vary"), "Accept-Encoding");
  const again = await app.request("/api/status", { headers: { "If-None-Match": etag! } });
  assert.is(again.status, 304);
  assert.is(await again.text(), "");
  const gz = await app.request("/api/status", { headers: { "Accept-Encoding": "gzip, deflate" } });
  assert.is(gz.headers.get("Content-Encoding"), "gzip");
  const plain = JSON.parse(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString("utf8")) as StatusReport;
  assert.is(plain.schema, "osiris.status/v1");
  const refused = await app.request("/api/status", { headers: { "Accept-Encoding": "gzip;q=0" } });
  assert.is(refused.headers.get("Content-Encoding"), null);
});

test("HEAD / answers the page's headers without a body", async () => {
  const res = await appFor(lab).request("/", { method: "HEAD" });
  assert.is(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
  assert.is(await res.text(), "");
});

test("static assets: hashed names are cached for a year, the page is revalidated, unknown files are 404", async () => {
  const app = appFor(lab);
  const js = await app.request("/assets/index-abc123.js", { headers: { "Accept-Encoding": "gzip" } });
  assert.is(js.status, 200);
  assert.match(js.headers.get("Cache-Control") ?? "", /immutable/);
  assert.is(js.headers.get("Content-Encoding"), "gzip");
  assert.match(js.headers.get("Content-Type") ?? "", /^text\/javascript/);
  const page = await app.request("/");
  assert.is(page.headers.get("Cache-Control"), "no-cache");
  assert.match(await page.text(), /<script type="module" src="\/assets\/index-abc123.js">/);
  assert.is((await app.request("/assets/nothere.js")).status, 404);
  assert.is((await app.request("/assets/..%2f..%2fetc%2fpasswd")).status, 404);
  // A mistyped address: a browser gets a page that leads back, a program the JSON error.
  const browser = await app.request("/foo", { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
  assert.is(browser.status, 404);
  assert.is(await browser.text(), NOT_FOUND_PAGE);
  const program = await app.request("/foo");
  assert.equal([program.status, ((await program.json()) as { error: { code: string } }).error.code], [404, "not_found"]);
});

test("without a built page, / says so plainly and the data stays available", async () => {
  const app = appFor(lab, { assets: null });
  const res = await app.request("/");
  assert.is(res.status, 200);
  assert.is(await res.text(), NOT_BUILT_PAGE);
  assert.is((await app.request("/api/status")).status, 200);
});

test("GET /healthz answers ok", async () => {
  const res = await appFor(lab).request("/healthz");
  assert.is(res.status, 200);
  assert.is(await res.text(), "ok\n");
});

async function firstEvent(res: Response): Promise<{ event: string; data: string }> {
  const reader = res.body!.getReader();
  let text = "";
  try {
    while (!/\n\n/.test(text.replace(/^: keep-alive\n\n/gm, ""))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    await reader.cancel();
  }
  const block = text.split("\n\n").find((b) => b.includes("event:"))!;
  const field = (name: string) => block.split("\n").filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart()).join("\n");
  return { event: field("event"), data: field("data") };
}

test("GET /api/events streams the report as a first `status` event", async () => {
  const res = await appFor(lab, { eventPollMs: 50 }).request("/api/events");
  assert.is(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
  assertSecurityHeaders(res, "events");
  const ev = await firstEvent(res);
  assert.is(ev.event, "status");
  assert.is((JSON.parse(ev.data) as StatusReport).overall.attention_count, 3);
});

test("event streams are bounded: one more than the limit gets 503 with Retry-After", async () => {
  const app = appFor(lab, { maxEventStreams: 1, eventPollMs: 50 });
  const open = await app.request("/api/events");
  const refused = await app.request("/api/events");
  assert.is(refused.status, 503);
  assert.is(refused.headers.get("Retry-After"), "30");
  assertSecurityHeaders(refused, "refused stream");
  await open.body!.cancel();
});

test("a status that cannot be read gives 503 in the error envelope, with the security headers", async () => {
  const app = createStatusApp({ status: () => Promise.reject(new Error("database is locked")), assets: ASSETS, clock: lab.clock, log: quietLog });
  const res = await app.request("/api/status");
  assert.is(res.status, 503);
  assertSecurityHeaders(res, "503");
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.is(body.error.code, "unavailable");
  assert.not.match(body.error.message, /database/);
});

test("startStatusServer() serves the page over loopback, refuses writes, advertises nothing with mdns off, and closes", async () => {
  const config = { ...lab.config, status_page: { ...lab.config.status_page, port: 0, bind: ["127.0.0.1"], mdns: false } };
  const logged: string[] = [];
  const log = { ...quietLog, info: (e: string) => void logged.push(e), warn: (e: string) => void logged.push(e) };
  const page = await startStatusServer(lab.appliance, config, log, { clock: lab.clock, assetsDir: "/nonexistent-osiris-assets" });
  try {
    assert.is(page.mdns, null);
    assert.match(page.urls[0]!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(`${page.urls[0]}api/status`);
    assert.is(res.status, 200);
    assertSecurityHeaders(res, "loopback");
    assert.is(((await res.json()) as StatusReport).overall.attention_count, 3);
    const post = await fetch(page.urls[0]!, { method: "POST", body: "x" });
    assert.is(post.status, 405);
    assert.is(post.headers.get("Allow"), "GET, HEAD");
    // fetch() refuses TRACE; node:http sends it.
    const trace = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${page.urls[0]}api/status`, { method: "TRACE" }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.is(trace, 405);
    assert.ok(logged.includes("status_page_not_built"));
  } finally {
    await page.close();
  }
  await fetch(page.urls[0]!).then(
    () => assert.unreachable("still listening after close()"),
    () => undefined,
  );
});

test.run();
