/** Webhook delivery against a real HTTP receiver (node:http) on 127.0.0.1. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deliverWebhook, webCryptoHmacSha256, type WebhookDeps, type WebhookTarget } from "./webhook.ts";

const SECRET = "reseller-shared-secret";
const NOW = Date.UTC(2026, 10, 27, 22, 35, 36);

interface Received {
  body: Buffer;
  headers: IncomingMessage["headers"];
}

/** A receiver whose answer to the n-th request (0-based) is scripted; "hang" never answers. */
async function receiver(answer: (n: number, res: ServerResponse) => unknown) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks), headers: req.headers });
      if (answer(received.length - 1, res) === "hang") hanging.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/osiris`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function deps(overrides: Partial<WebhookDeps> = {}) {
  const delays: number[] = [];
  const d: WebhookDeps = {
    fetch: globalThis.fetch,
    hmac: webCryptoHmacSha256,
    now: () => NOW,
    random: () => 0.5,
    sleep: (ms) => (delays.push(ms), Promise.resolve()),
    ...overrides,
  };
  return { d, delays };
}

/** What a receiver does: HMAC over the raw bytes, constant-time compare. */
function signatureValid(r: Received): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(r.body).digest("hex")}`);
  const got = Buffer.from(String(r.headers["x-osiris-signature"]));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const EVENT = { id: "evt_1", site_id: "site_0a1b2c3d", message: "Firewall disabled — escalated", n: 1 };

test("webCryptoHmacSha256 matches RFC 4231 test case 2", async () => {
  const mac = await webCryptoHmacSha256(new TextEncoder().encode("Jefe"), new TextEncoder().encode("what do ya want for nothing?"));
  assert.is(Buffer.from(mac).toString("hex"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

test("deliverWebhook() POSTs the JSON body with a signature the receiver verifies over the exact bytes", async () => {
  const rx = await receiver((_, res) => res.writeHead(204).end());
  try {
    const { d } = deps();
    const record = await deliverWebhook({ url: rx.url, secret: SECRET }, { id: "dlv_1", body: EVENT }, d);
    assert.equal(record, { ok: true, attempts: 1, status: 204, error: null });
    const [r] = rx.received;
    assert.ok(r);
    assert.ok(signatureValid(r), "signature verifies");
    assert.equal(JSON.parse(r.body.toString("utf8")), EVENT);
    assert.is(r.headers["content-type"], "application/json");
    assert.is(r.headers["x-osiris-timestamp"], String(NOW / 1000));
    assert.is(r.headers["x-osiris-delivery"], "dlv_1");
    assert.not.ok(signatureValid({ ...r, body: Buffer.concat([r.body, Buffer.from(" ")]) }), "one extra byte breaks it");
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() retries a 500 with jittered exponential backoff and sends identical signed bytes", async () => {
  const rx = await receiver((n, res) => res.writeHead(n < 2 ? 500 : 200).end("ok"));
  try {
    const { d, delays } = deps();
    const record = await deliverWebhook({ url: rx.url, secret: SECRET, baseDelayMs: 100 }, { id: "dlv_2", body: EVENT }, d);
    assert.equal(record, { ok: true, attempts: 3, status: 200, error: null });
    assert.equal(delays, [50, 100]); // random 0.5 × 100·2^0, 0.5 × 100·2^1
    assert.ok(rx.received.every(signatureValid));
    assert.is(new Set(rx.received.map((r) => r.body.toString("hex"))).size, 1);
    assert.is(new Set(rx.received.map((r) => r.headers["x-osiris-delivery"])).size, 1);
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() gives up after maxAttempts and reports the last status", async () => {
  const rx = await receiver((_, res) => res.writeHead(503).end());
  try {
    const { d, delays } = deps({ random: () => 0.999 });
    const record = await deliverWebhook({ url: rx.url, secret: SECRET, maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 3_000 }, { id: "d", body: EVENT }, d);
    assert.equal(record, { ok: false, attempts: 4, status: 503, error: "HTTP 503 from the receiver" });
    assert.is(rx.received.length, 4);
    assert.equal(delays, [999, 1998, 2997]); // the third is capped by maxDelayMs
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() does not retry a client error or follow a redirect", async () => {
  for (const [status, headers] of [[400, {}], [401, {}], [302, { location: "http://127.0.0.1:1/elsewhere" }]] as const) {
    const rx = await receiver((_, res) => res.writeHead(status, headers).end());
    try {
      const record = await deliverWebhook({ url: rx.url, secret: SECRET }, { id: "d", body: EVENT }, deps().d);
      assert.equal(record, { ok: false, attempts: 1, status, error: `HTTP ${status} from the receiver` });
      assert.is(rx.received.length, 1);
    } finally {
      await rx.close();
    }
  }
});

test("deliverWebhook() honours Retry-After on 429, capped by maxDelayMs", async () => {
  const rx = await receiver((n, res) => (n === 0 ? res.writeHead(429, { "retry-after": "2" }).end() : res.writeHead(200).end()));
  try {
    const { d, delays } = deps();
    const record = await deliverWebhook({ url: rx.url, secret: SECRET, baseDelayMs: 10 }, { id: "d", body: EVENT }, d);
    assert.is(record.ok, true);
    assert.equal(delays, [2_000]);
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() abandons an attempt at its timeout and retries", async () => {
  const rx = await receiver((n, res) => (n === 0 ? "hang" : void res.writeHead(200).end()));
  try {
    const started = Date.now();
    const record = await deliverWebhook({ url: rx.url, secret: SECRET, timeoutMs: 150 }, { id: "d", body: EVENT }, deps().d);
    assert.equal(record, { ok: true, attempts: 2, status: 200, error: null });
    assert.ok(Date.now() - started < 2_000);
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() reports a timeout when every attempt hangs", async () => {
  const rx = await receiver(() => "hang");
  try {
    const record = await deliverWebhook({ url: rx.url, secret: SECRET, timeoutMs: 100, maxAttempts: 2 }, { id: "d", body: EVENT }, deps().d);
    assert.equal(record, { ok: false, attempts: 2, status: null, error: "timed out after 100 ms" });
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() retries network errors and reports them", async () => {
  const rx = await receiver(() => undefined);
  const url = rx.url;
  await rx.close(); // nothing listens on the port any more
  const record = await deliverWebhook({ url, secret: SECRET, maxAttempts: 3 }, { id: "d", body: EVENT }, deps().d);
  assert.is(record.ok, false);
  assert.is(record.attempts, 3);
  assert.is(record.status, null);
  assert.match(record.error ?? "", /^network error: .*ECONNREFUSED/);
});

test("deliverWebhook() stops when its signal aborts", async () => {
  const rx = await receiver((_, res) => res.writeHead(500).end());
  try {
    const controller = new AbortController();
    const { d } = deps({ sleep: () => (controller.abort(), Promise.resolve()) });
    const record = await deliverWebhook({ url: rx.url, secret: SECRET }, { id: "d", body: EVENT }, d, controller.signal);
    assert.equal(record, { ok: false, attempts: 1, status: 500, error: "delivery aborted" });
    assert.is(rx.received.length, 1);
  } finally {
    await rx.close();
  }
});

test("deliverWebhook() rejects invalid targets before sending anything", async () => {
  const { d } = deps({ fetch: () => Promise.reject(new Error("must not be called")) });
  const bad: [Partial<WebhookTarget>, RegExp][] = [
    [{ url: "ftp://x" }, /'url' must be an http\(s\) URL: current value is "ftp:\/\/x"/],
    [{ secret: "" }, /'secret' must be non-empty/],
    [{ maxAttempts: 0 }, /'maxAttempts' must be an integer in 1-10: current value is 0/],
    [{ maxAttempts: 11 }, /'maxAttempts' must be an integer in 1-10/],
    [{ timeoutMs: 0 }, /'timeoutMs'/],
    [{ baseDelayMs: 5_000, maxDelayMs: 1_000 }, /'baseDelayMs' must be an integer in 0-maxDelayMs \(1000\)/],
  ];
  for (const [override, message] of bad) {
    await deliverWebhook({ url: "https://siem.example/hook", secret: SECRET, ...override }, { id: "d", body: EVENT }, d).then(
      () => assert.unreachable(JSON.stringify(override)),
      (e: Error) => assert.match(e.message, message),
    );
  }
  await deliverWebhook({ url: "https://siem.example/hook", secret: SECRET }, { id: "d", body: "x".repeat(300_000) }, d).then(
    () => assert.unreachable("oversized body"),
    (e: Error) => assert.match(e.message, /'body' must be at most 262144 bytes/),
  );
});

test.run();
