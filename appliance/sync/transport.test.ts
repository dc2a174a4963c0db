import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { createServer as createHttpServer, type Server } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { testRelay } from "../../relay/_testing.ts";
import { startServer } from "../../relay/serve/node.ts";
import { SyncError } from "./errors.ts";
import { RelayHttp } from "./relay-http.ts";
import { certificateHashes, checkRelayUrl, createRelayFetch, isLoopbackHost, MAX_RESPONSE_BYTES } from "./transport.ts";

const run = promisify(execFile);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.instance(e, SyncError, String(e));
    return (e as SyncError).code;
  }
}

test("isLoopbackHost() accepts 127.0.0.0/8, ::1 and localhost only", () => {
  for (const h of ["127.0.0.1", "127.8.9.10", "[::1]", "::1", "localhost", "LOCALHOST"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["10.0.0.1", "128.0.0.1", "relay.example.com", "localhost.example.com", "0.0.0.0", "::ffff:127.0.0.1"]) assert.not.ok(isLoopbackHost(h), h);
});

test("checkRelayUrl() refuses http:// to anything but loopback, and non-URLs", () => {
  assert.is(checkRelayUrl("https://relay.example.com").host, "relay.example.com");
  assert.is(checkRelayUrl("http://127.0.0.1:8787").port, "8787");
  assert.is(checkRelayUrl("http://[::1]:8787").hostname, "[::1]");
  for (const bad of ["http://relay.example.com", "http://10.1.2.3", "ftp://127.0.0.1", "relay.example.com", ""]) {
    try {
      checkRelayUrl(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.instance(e, SyncError);
      assert.is((e as SyncError).code, "insecure_url");
    }
  }
});

test("a request to http:// on a non-loopback host is refused before any connection is opened", async () => {
  let connections = 0;
  const server = createNetServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
  const port = (server.address() as { port: number }).port;
  try {
    // 192.0.2.1 is TEST-NET-1 (never routed); the refusal must come before any attempt to reach it.
    assert.is(await code(createRelayFetch()(`http://192.0.2.1:${port}/api/sync/pull`, { method: "GET" })), "insecure_url");
    assert.throws(() => new RelayHttp({ url: "http://relay.example.com", fetch: fetch, clock: { now: () => 0 }, random: () => new Uint8Array(16) }), (e: unknown) => e instanceof SyncError && e.code === "insecure_url");
    assert.is(connections, 0);
  } finally {
    server.close();
  }
});

test("over loopback http the relay answers through the transport, and a closed port is `unreachable`", async () => {
  const relay = await testRelay();
  const server = await startServer({ app: relay.app, host: "127.0.0.1", port: 0 });
  try {
    const res = await createRelayFetch()(`${server.url}/healthz`, { method: "GET" });
    assert.is(res.status, 200);
    assert.is(((await res.json()) as { status: string }).status, "ok");
  } finally {
    await server.close();
    await relay.close();
  }
  assert.is(await code(createRelayFetch()(`${server.url}/healthz`, { method: "GET" })), "unreachable");
});

async function slowServer(handler: Parameters<typeof createHttpServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

test("a relay that does not answer in time is `timeout`; an oversized answer is `response_too_large`", async () => {
  const hung = await slowServer(() => undefined);
  const huge = await slowServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i <= MAX_RESPONSE_BYTES / chunk.length; i++) res.write(chunk);
    res.end();
  });
  try {
    const http = new RelayHttp({ url: hung.url, fetch: createRelayFetch(), clock: { now: () => Date.now() }, random: () => new Uint8Array(16) });
    assert.is(await code(http.request("GET", "/healthz", { timeoutMs: 200 })), "timeout");
    assert.is(await code(createRelayFetch()(`${huge.url}/`, { method: "GET" })), "response_too_large");
  } finally {
    hung.server.closeAllConnections();
    hung.server.close();
    huge.server.closeAllConnections();
    huge.server.close();
  }
});

test("https: the pinned TLS key is checked on every connection; a wrong pin or an untrusted certificate is refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-tls-"));
  const relay = await testRelay();
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyPath, "-out", certPath]);
    const pem = await readFile(certPath, "utf8");
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    const { spki, cert } = certificateHashes(der);
    const server = await startServer({ app: relay.app, host: "127.0.0.1", port: 0, tls: { cert: pem, key: await readFile(keyPath) } });
    try {
      const url = `${server.url}/healthz`;
      assert.is((await createRelayFetch({ pinSha256: spki })(url, { method: "GET" })).status, 200, "SPKI pin");
      assert.is((await createRelayFetch({ pinSha256: cert })(url, { method: "GET" })).status, 200, "certificate pin");
      const pinned = createRelayFetch({ pinSha256: spki });
      for (let i = 0; i < 3; i++) assert.is((await pinned(url, { method: "GET" })).status, 200, "every connection");
      assert.is(await code(createRelayFetch({ pinSha256: "0".repeat(64) })(url, { method: "GET" })), "pin_mismatch");
      assert.is(await code(createRelayFetch()(url, { method: "GET" })), "tls_failed", "self-signed without a pin");
      assert.is((await createRelayFetch({ ca: pem })(url, { method: "GET" })).status, 200, "trusted through a CA");
      assert.throws(() => createRelayFetch({ pinSha256: "abc" }), TypeError);
    } finally {
      await server.close();
    }
  } finally {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a wrong pin is refused before the request is written (the relay sees nothing)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-tls-"));
  const relay = await testRelay();
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", keyPath, "-out", certPath]);
    let requests = 0;
    const app = { ...relay.app, fetch: (req: Request, env: unknown) => (requests++, relay.app.fetch(req, env)) } as typeof relay.app;
    const server = await startServer({ app, host: "127.0.0.1", port: 0, tls: { cert: await readFile(certPath), key: await readFile(keyPath) } });
    try {
      assert.is(await code(createRelayFetch({ pinSha256: "f".repeat(64) })(`${server.url}/api/enroll`, { method: "POST", body: "{}" })), "pin_mismatch");
      assert.is(requests, 0);
    } finally {
      await server.close();
    }
  } finally {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
