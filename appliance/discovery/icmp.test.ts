/**
 * ICMP echo liveness with the REAL system ping (Debian iputils-ping) on loopback, and inside a network
 * namespace this test creates (root + iproute2 + nftables; skipped with the reason otherwise) for the answers
 * loopback cannot give: silence (echo requests dropped by nft) and unreachable (no route). Nothing else is
 * ever pinged. The TCP side of the scans below is a recording stand-in (no packets), so the assertions are
 * about what ICMP decided.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { createLocalTransport, type Transport } from "../collect/index.ts";
import { ScanScope } from "./cidr.ts";
import { DiscoveryError } from "./errors.ts";
import { echoAnswer, pingArgv, systemPing, type EchoProbe } from "./icmp.ts";
import type { ConnectProbe } from "./probe.ts";
import { Scanner, type ScannerOptions } from "./scanner.ts";
import { loopbackNet } from "./_test-responders.ts";

const run = promisify(execFile);
const NET = loopbackNet(7);
const SUBNET = `${NET}.0/29`;
const clock = { now: () => Date.now() };
const PING = existsSync("/usr/bin/ping") || existsSync("/bin/ping") ? "ping" : null;
if (!PING) throw new Error("icmp.test.ts needs the system ping (Debian package iputils-ping)");

/** The local transport with a fixed prefix in front of every program (e.g. `ip netns exec NS`). */
function prefixed(prefix: readonly string[]): Transport {
  const local = createLocalTransport();
  return {
    ...local,
    kind: local.kind,
    target: local.target,
    run: (cmd, opts) => ("program" in cmd ? local.run({ program: prefix[0]!, args: [...prefix.slice(1), cmd.program, ...cmd.args] }, opts) : local.run(cmd, opts)),
    close: () => local.close(),
  };
}

function recordingConnect(): { connect: ConnectProbe; targets: string[] } {
  const targets: string[] = [];
  return { targets, connect: async (ip, port) => (targets.push(`${ip}:${port}`), "filtered") };
}
function recordingEcho(inner: EchoProbe): { echo: EchoProbe; targets: string[] } {
  const targets: string[] = [];
  return { targets, echo: (ip, t, s) => (targets.push(ip), inner(ip, t, s)) };
}
const options = (o: Partial<ScannerOptions> = {}): ScannerOptions => ({ scope: new ScanScope([SUBNET]), concurrency: 4, ratePerSecond: 500, connectTimeoutMs: 1000, livenessProbes: 2, ...o });

test("pingArgv builds one argument vector and refuses anything that is not an IPv4 address or a program path", () => {
  assert.equal(pingArgv("ping", "127.0.0.1", 1500), ["ping", "-n", "-q", "-c", "1", "-W", "2", "--", "127.0.0.1"]);
  assert.equal(pingArgv("/run/current-system/sw/bin/ping", "10.0.0.5", 100), ["/run/current-system/sw/bin/ping", "-n", "-q", "-c", "1", "-W", "1", "--", "10.0.0.5"]);
  for (const ip of ["127.0.0.1; reboot", "-f", "localhost", "10.0.0.256", "::1"]) assert.throws(() => pingArgv("ping", ip, 1000), (e: unknown) => e instanceof RangeError && /expected an IPv4 address/.test((e as Error).message), ip);
  for (const path of ["ping -f", "../ping", "$(reboot)", ""]) assert.throws(() => pingArgv(path, "127.0.0.1", 1000), (e: unknown) => e instanceof RangeError && /program name or an absolute path/.test((e as Error).message), path);
});

test("the real ping: 127.0.0.1 and an unused address of this run's loopback block both answer (all of 127/8 is the loopback)", async () => {
  const echo = systemPing({ path: PING });
  assert.equal(await echo("127.0.0.1", 1000), { result: "alive" });
  assert.equal(await echo(`${NET}.6`, 1000), { result: "alive" });
});

test("a ping that cannot run is 'unavailable' with its reason: no such program, and the real ping run like the daemon (no capabilities at all)", async () => {
  const missing = await systemPing({ path: "/nonexistent/ping" })("127.0.0.1", 1000);
  assert.is(missing.result, "unavailable");
  assert.match(missing.detail ?? "", /ping exited 127: .*not found/);
  // What the NixOS daemon is (user osiris, CapabilityBoundingSet="", NoNewPrivileges): Debian's ping carries
  // cap_net_raw=ep, which the kernel refuses to exec without the capability in the bounding set; a NixOS
  // capability wrapper fails the same way ("failed to inherit capabilities"). The helper falls back to TCP.
  if ((process.getuid?.() ?? 1) !== 0) return console.log("icmp.test.ts: skipping the no-capabilities case (needs root to drop to nobody)");
  const asDaemon = systemPing({ path: PING, transport: prefixed(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]) });
  const r = await asDaemon("127.0.0.1", 1000);
  assert.is(r.result, "unavailable");
  assert.match(r.detail ?? "", /ping exited (2|126): .*Operation not permitted/);
});

test("echoAnswer reads ping's statistics: a reply, silence, ICMP errors", () => {
  const stats = (sent: number, got: number, errors = "") => `--- x ping statistics ---\n${sent} packets transmitted, ${got} received,${errors} ${got ? 0 : 100}% packet loss, time 0ms\n`;
  assert.equal(echoAnswer(0, stats(1, 1), ""), { result: "alive" });
  assert.equal(echoAnswer(1, stats(1, 0), ""), { result: "silent" });
  assert.equal(echoAnswer(1, `From 198.51.100.1 icmp_seq=1 Destination Host Unreachable\n${stats(1, 0, " +1 errors,")}`, ""), { result: "unreachable" });
  assert.equal(echoAnswer(2, "", "ping: connect: Network is unreachable\n"), { result: "unreachable" });
  assert.equal(echoAnswer(1, "", "failed to inherit capabilities: Operation not permitted\n"), { result: "unavailable", detail: "ping exited 1: failed to inherit capabilities: Operation not permitted" }, "a NixOS capability wrapper under NoNewPrivileges");
});

test("a target outside the configured subnets is refused before a single echo or probe is sent", async () => {
  const e = recordingEcho(systemPing({ path: PING }));
  const c = recordingConnect();
  const scanner = new Scanner(options(), { clock, connect: c.connect, echo: e.echo, arp: async () => [] });
  for (const target of ["127.0.0.1", "10.0.0.1", `${NET}.8/29`, "192.168.1.0/24"]) {
    const err = await scanner.scan({ targets: [target], ports: [445] }).then(() => null, (x: unknown) => x);
    assert.ok(err instanceof DiscoveryError && err.code === "out_of_scope", `${target}: ${String(err)}`);
  }
  assert.equal(e.targets, [], "no echo request was sent");
  assert.equal(c.targets, [], "no TCP probe was sent");
});

test("hosts that answer ping are found even with every TCP port silent; echoes share the probe rate limit", async () => {
  const e = recordingEcho(systemPing({ path: PING }));
  const c = recordingConnect();
  const scanner = new Scanner(options({ concurrency: 6, ratePerSecond: 10 }), { clock, connect: c.connect, echo: e.echo, arp: async () => [] });
  const t0 = Date.now();
  const r = await scanner.scan({ ports: [] });
  const ms = Date.now() - t0;
  assert.equal(r.devices.map((d) => d.ip), [1, 2, 3, 4, 5, 6].map((n) => `${NET}.${n}`));
  assert.equal([r.echoes, r.echo_replies, r.probes], [6, 6, 0]);
  assert.equal([...e.targets].sort(), [1, 2, 3, 4, 5, 6].map((n) => `${NET}.${n}`));
  // Six starts at 10/s: the last starts 5/10 s after the first, whatever the concurrency.
  assert.ok(ms >= 490, `took ${ms} ms`);
  // With ports, an echo reply keeps the host past its liveness probes: every port is tried.
  const withPorts = await new Scanner(options({ livenessProbes: 1 }), { clock, connect: c.connect, echo: systemPing({ path: PING }), arp: async () => [] }).scan({ targets: [`${NET}.3`], ports: [22, 80, 445] });
  assert.is(withPorts.probes, 3);
  assert.equal(withPorts.devices.map((d) => [d.ip, d.open_ports]), [[`${NET}.3`, []]]);
});

test("when ping cannot run, the scan falls back to TCP liveness after one try and says so once", async () => {
  const warnings: string[] = [];
  const e = recordingEcho(systemPing({ path: "/nonexistent/ping" }));
  const c = recordingConnect();
  const scanner = new Scanner(options({ concurrency: 1 }), { clock, connect: c.connect, echo: e.echo, arp: async () => [], log: { info: () => undefined, warn: (m) => void warnings.push(m) } });
  const r = await scanner.scan({ ports: [445, 80] });
  assert.is(e.targets.length, 1, "ping was tried once, then left off");
  assert.equal(warnings, ["discovery_icmp_unavailable"]);
  assert.is(r.probes, 6 * 2, "every host still got its TCP liveness probes");
  assert.is(r.devices.length, 0);
});

// ---- inside a network namespace: silence and unreachable ----

const NS = `osd-icmp-${process.pid % 100_000}`;
const nsSkip = (process.getuid?.() ?? 1) !== 0 ? "needs root (ip netns)" : !existsSync("/usr/sbin/ip") ? "needs iproute2" : !existsSync("/usr/sbin/nft") ? "needs nftables" : null;
if (nsSkip) console.log(`icmp.test.ts: skipping the network-namespace tests (${nsSkip})`);

test("in a namespace: an address whose echo requests are dropped is silent, an address without a route is unreachable", async () => {
  if (nsSkip) return;
  try {
    await run("ip", ["netns", "add", NS]);
    await run("ip", ["-n", NS, "link", "set", "lo", "up"]);
    // 127.0.0.2 drops echo requests (a Windows host's default firewall); nothing routes to 198.51.100.0/24.
    await run("ip", ["netns", "exec", NS, "nft", "add table inet t; add chain inet t out { type filter hook output priority 0; }; add rule inet t out ip daddr 127.0.0.2 icmp type echo-request drop"]);
    const echo = systemPing({ path: PING, transport: prefixed(["ip", "netns", "exec", NS]) });
    assert.equal(await echo("127.0.0.1", 1000), { result: "alive" });
    assert.equal(await echo("127.0.0.2", 1000), { result: "silent" });
    assert.equal(await echo("198.51.100.2", 1000), { result: "unreachable" });

    // The scanner gives the unreachable host up without a single TCP probe; the silent one is left to TCP.
    const c = recordingConnect();
    const scanner = new Scanner(options({ scope: new ScanScope(["127.0.0.2/32", "198.51.100.0/30"]) }), { clock, connect: c.connect, echo, arp: async () => [] });
    const r = await scanner.scan({ ports: [445, 80, 22] });
    assert.equal([r.echoes, r.echo_replies], [3, 0]);
    assert.equal(c.targets.sort(), ["127.0.0.2:445", "127.0.0.2:80"], "the silent host got its 2 liveness probes; 198.51.100.1-2 none");
    assert.equal(r.devices, []);
  } finally {
    try {
      execFileSync("ip", ["netns", "del", NS], { stdio: "ignore" });
    } catch {
      /* not created */
    }
  }
});

test.run();
