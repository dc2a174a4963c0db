import { test } from "uvu";
import * as assert from "uvu/assert";
import { hostCount, hostsOf, intToIp, ipToInt, parseCidr, ScanScope } from "./cidr.ts";
import { DiscoveryError } from "./errors.ts";

const code = (c: string) => (e: unknown) => e instanceof DiscoveryError && e.code === c;

test("parseCidr clears host bits and gives the block's first and last address", () => {
  const s = parseCidr("192.168.1.77/24");
  assert.is(s.cidr, "192.168.1.0/24");
  assert.is(intToIp(s.first), "192.168.1.0");
  assert.is(intToIp(s.last), "192.168.1.255");
  assert.is(parseCidr("10.0.0.5").cidr, "10.0.0.5/32");
});

test("ipToInt and intToIp are inverses on the edges of the address space", () => {
  for (const ip of ["0.0.0.0", "127.0.0.1", "192.168.255.254", "255.255.255.255"]) assert.is(intToIp(ipToInt(ip)), ip);
  assert.is(ipToInt("192.168.1.20"), 3232235796);
});

test("parseCidr refuses malformed input and anything larger than a /16, saying what it saw", () => {
  assert.throws(() => parseCidr("192.168.1/24"), code("invalid_subnet"));
  assert.throws(() => parseCidr("192.168.1.0/33"), code("invalid_subnet"));
  assert.throws(() => parseCidr("300.1.1.1/32"), (e: unknown) => e instanceof DiscoveryError && e.message.includes("300.1.1.1"));
  assert.throws(() => parseCidr("10.0.0.0/8"), (e: unknown) => e instanceof DiscoveryError && e.code === "too_large" && e.message.includes("16777216"));
});

test("hostsOf skips network and broadcast addresses except on /31 and /32", () => {
  assert.equal([...hostsOf(parseCidr("127.0.0.0/29"))], ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]);
  assert.equal([...hostsOf(parseCidr("10.1.1.4/31"))], ["10.1.1.4", "10.1.1.5"]);
  assert.equal([...hostsOf(parseCidr("10.1.1.9/32"))], ["10.1.1.9"]);
  assert.is(hostCount(parseCidr("192.168.0.0/16")), 65534);
});

test("ScanScope accepts targets inside a configured subnet and refuses everything else before any probe", () => {
  const scope = new ScanScope(["192.168.1.0/24", "10.20.0.0/16"]);
  assert.is(scope.check("192.168.1.20").cidr, "192.168.1.20/32");
  assert.is(scope.check("10.20.30.0/24").cidr, "10.20.30.0/24");
  assert.ok(scope.allows("192.168.1.128/25"));
  assert.not.ok(scope.allows("192.168.0.0/23"), "a block that only overlaps is outside");
  assert.throws(
    () => scope.check("8.8.8.8"),
    (e: unknown) => e instanceof DiscoveryError && e.code === "out_of_scope" && e.message === "8.8.8.8/32 is outside the configured discovery subnets (192.168.1.0/24, 10.20.0.0/16): refusing to scan it",
  );
  assert.throws(() => scope.check("192.168.2.0/24"), code("out_of_scope"));
  assert.throws(() => new ScanScope([]).check("192.168.1.1"), (e: unknown) => e instanceof DiscoveryError && e.code === "out_of_scope" && e.message.includes("(none)"));
});

test("ScanScope names the bad entry of its configuration", () => {
  assert.throws(() => new ScanScope(["192.168.1.0/24", "bogus"]), (e: unknown) => e instanceof DiscoveryError && e.code === "invalid_subnet" && e.message.startsWith("subnets[1]:"));
});

test.run();
