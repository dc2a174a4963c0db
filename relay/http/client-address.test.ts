import { test } from "uvu";
import * as assert from "uvu/assert";
import { clientAddress, isTrusted, parseAddress, parseAddressBlock, parseTrustedProxies } from "./client-address.ts";

test("addresses parse as IPv4, IPv6 and IPv4-mapped IPv6 alike; anything else is null", () => {
  assert.is(parseAddress("10.1.2.3"), parseAddress("::ffff:10.1.2.3"));
  assert.is(parseAddress("2001:db8::1"), parseAddress("2001:0db8:0:0:0:0:0:1"));
  assert.is(parseAddress("fe80::1%eth0"), parseAddress("fe80::1"));
  for (const bad of ["", "unknown", "1.2.3", "256.1.1.1", "01.2.3.4", "1::2::3", "2001:db8::g", "1.2.3.4:80"]) assert.is(parseAddress(bad), null, bad);
});

test("--trust-proxy takes CIDRs and bare addresses, and refuses anything else naming it", () => {
  const t = parseTrustedProxies("10.0.0.0/8, 192.168.1.7,fd00::/8");
  assert.equal(t.map((b) => b.cidr), ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
  assert.ok(isTrusted("10.200.3.4", t));
  assert.ok(isTrusted("::ffff:10.200.3.4", t), "a dual-stack socket's mapped address");
  assert.ok(isTrusted("fd12:3456::1", t));
  assert.not.ok(isTrusted("192.168.1.8", t));
  assert.not.ok(isTrusted("11.0.0.1", t));
  assert.equal(parseTrustedProxies(""), []);
  for (const bad of ["10.0.0.0/33", "fd00::/129", "proxy.example", "10.0.0.0/8/1"]) {
    assert.throws(() => parseAddressBlock(bad), (e: unknown) => e instanceof RangeError && e.message.includes(JSON.stringify(bad)), bad);
  }
});

const PROXIES = parseTrustedProxies("10.0.0.0/8");

test("X-Forwarded-For is ignored unless the peer is a trusted proxy", () => {
  assert.is(clientAddress("203.0.113.9", "198.51.100.1", []), "203.0.113.9", "no trusted proxies");
  assert.is(clientAddress("203.0.113.9", "198.51.100.1", PROXIES), "203.0.113.9", "peer is not a trusted proxy");
  assert.is(clientAddress("10.0.0.2", null, PROXIES), "10.0.0.2", "trusted peer without the header");
});

test("behind trusted proxies the right-most untrusted X-Forwarded-For entry is the client; spoofed entries left of it are not", () => {
  assert.is(clientAddress("10.0.0.2", "198.51.100.1", PROXIES), "198.51.100.1");
  assert.is(clientAddress("10.0.0.2", "1.1.1.1, 198.51.100.1", PROXIES), "198.51.100.1", "a client-written entry is skipped");
  assert.is(clientAddress("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3", PROXIES), "198.51.100.1", "two trusted proxies");
  assert.is(clientAddress("10.0.0.2", "garbage, 10.0.0.3", PROXIES), "10.0.0.3", "a malformed entry stops at the nearest trusted hop");
  assert.is(clientAddress("10.0.0.2", "10.0.0.4, 10.0.0.3", PROXIES), "10.0.0.4", "all trusted: the left-most");
});

test.run();
