/**
 * `--trust-proxy` over real loopback sockets: the public routes' rate limit counts per X-Forwarded-For client
 * only when the TCP peer (here 127.0.0.1) is a trusted proxy; otherwise every request counts against the peer.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTrustedProxies } from "../http/client-address.ts";
import { PUBLIC_RATE_LIMIT } from "../http/rate-limit.ts";
import { memoryLog } from "../log.ts";
import { runRelay } from "./run.ts";

async function statuses(trustProxy: string, forwardedFor: (i: number) => string, n = PUBLIC_RATE_LIMIT + 5): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-trust-proxy-"));
  const relay = await runRelay({ db: join(dir, "relay.db"), keyFile: join(dir, "relay.key"), host: "127.0.0.1", port: 0, log: memoryLog().log, trustedProxies: parseTrustedProxies(trustProxy) });
  try {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${relay.url}/api/provision/02:00:00:00:00:01`, { headers: { "X-Forwarded-For": forwardedFor(i) } });
      await res.body?.cancel();
      out.push(res.status);
    }
    return out;
  } finally {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const distinct = (i: number) => `198.51.100.${i + 1}`;

test("without --trust-proxy, varying X-Forwarded-For does not escape the per-address limit", async () => {
  const s = await statuses("", distinct);
  assert.ok(s.slice(0, PUBLIC_RATE_LIMIT).every((x) => x === 200), JSON.stringify(s));
  assert.is(s[PUBLIC_RATE_LIMIT], 429);
});

test("a peer outside --trust-proxy is not believed either", async () => {
  const s = await statuses("10.0.0.0/8", distinct);
  assert.is(s[PUBLIC_RATE_LIMIT], 429);
});

test("behind a trusted proxy each forwarded client has its own bucket, keyed by the right-most untrusted address", async () => {
  const own = await statuses("127.0.0.1/32", distinct);
  assert.ok(own.every((x) => x === 200), `clients behind the proxy do not share one bucket: ${JSON.stringify(own)}`);
  // A client rotating a spoofed left-most entry is still counted by the address the proxy appended.
  const spoofing = await statuses("127.0.0.1/32", (i) => `${distinct(i)}, 203.0.113.7`);
  assert.is(spoofing[PUBLIC_RATE_LIMIT - 1], 200);
  assert.is(spoofing[PUBLIC_RATE_LIMIT], 429);
});

test.run();
