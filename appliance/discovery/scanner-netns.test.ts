/**
 * Discovery on a real (virtual) Ethernet segment, without touching the host's network: three network
 * namespaces — the scanner's, with a bridge at 198.51.100.1/29 (RFC 5737 TEST-NET-2), and two "devices"
 * joined to it by veth pairs with vendor MACs. Device .2 is a domain controller (Kerberos, LDAP, SMB, a
 * NetBIOS name service and the site's DNS server); device .3 a DICOM modality that answers mDNS. The scanner
 * runs with every real adapter: TCP connect probes, the namespace's own /proc/net/arp, reverse DNS against
 * .2, unicast mDNS and NetBIOS. Addresses .4-.6 hold nobody (ARP fails: unreachable). The namespaces have no
 * other interface or route, so nothing can leave them. Removed whatever happens.
 *
 * Needs root and iproute2 + nftables; without them the tests are skipped with the reason.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ScanResult } from "./scanner.ts";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL(".", import.meta.url));
const ID = process.pid % 100_000;
const NS_S = `osd-s-${ID}`;
const NS_1 = `osd-1-${ID}`;
const NS_2 = `osd-2-${ID}`;
const BRIDGE = `odb${ID}`;
const SUBNET = "198.51.100.0/29";
const SCANNER_IP = "198.51.100.1";
const DC_IP = "198.51.100.2";
const DICOM_IP = "198.51.100.3";
const DC_MAC = "00:15:5d:00:00:02";
const DICOM_MAC = "00:14:22:00:00:03";
const PORTS = [88, 389, 445, 104, 11112, 3389, 9100];
const COMMAND_TIMEOUT_MS = 20_000;
const SCAN_TIMEOUT_MS = 60_000;

const skipReason = process.getuid?.() !== 0 ? "needs root (ip netns)" : !existsSync("/usr/sbin/ip") ? "needs iproute2 (/usr/sbin/ip)" : !existsSync("/usr/sbin/nft") ? "needs nftables (/usr/sbin/nft)" : null;

const devices: ChildProcess[] = [];
const conns = new Map<string, number>();

const ip = (...args: string[]) => run("ip", args, { timeout: COMMAND_TIMEOUT_MS });

function cleanupSync(): void {
  for (const d of devices) if (d.exitCode === null && d.pid) try { process.kill(d.pid, "SIGKILL"); } catch { /* gone */ }
  for (const ns of [NS_1, NS_2, NS_S]) try { execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }); } catch { /* not there */ }
}

async function setUp(): Promise<void> {
  for (const ns of [NS_S, NS_1, NS_2]) {
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
  }
  await ip("-n", NS_S, "link", "add", BRIDGE, "type", "bridge");
  await ip("-n", NS_S, "addr", "add", `${SCANNER_IP}/29`, "dev", BRIDGE);
  await ip("-n", NS_S, "link", "set", BRIDGE, "up");
  for (const [n, ns, addr, mac] of [[1, NS_1, DC_IP, DC_MAC], [2, NS_2, DICOM_IP, DICOM_MAC]] as const) {
    const host = `ods${n}${ID}`;
    const dev = `odt${n}${ID}`;
    await ip("link", "add", host, "type", "veth", "peer", "name", dev);
    await ip("link", "set", host, "netns", NS_S);
    await ip("link", "set", dev, "netns", ns);
    await ip("-n", NS_S, "link", "set", host, "master", BRIDGE);
    await ip("-n", NS_S, "link", "set", host, "up");
    await ip("-n", ns, "link", "set", dev, "address", mac);
    await ip("-n", ns, "addr", "add", `${addr}/29`, "dev", dev);
    await ip("-n", ns, "link", "set", dev, "up");
  }
  // RDP on the DC is firewalled (dropped, not refused): the scanner must see "filtered", not hang.
  await run("ip", ["netns", "exec", NS_1, "nft", "add table inet t; add chain inet t in { type filter hook input priority 0; }; add rule inet t in tcp dport 3389 drop"], { timeout: COMMAND_TIMEOUT_MS });
}

async function startDevice(ns: string, spec: Record<string, unknown>): Promise<void> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", join(HERE, "_netns-target.ts"), JSON.stringify(spec)], { stdio: ["pipe", "pipe", "inherit"] });
  devices.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`device in ${ns} did not start`)), COMMAND_TIMEOUT_MS);
    let buf = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === "ready") (clearTimeout(timer), resolve());
        const m = /^conn (\d+)$/.exec(line);
        if (m) conns.set(`${spec["ip"]}:${m[1]}`, (conns.get(`${spec["ip"]}:${m[1]}`) ?? 0) + 1);
      }
    });
    child.once("exit", (code) => reject(new Error(`device in ${ns} exited with ${code}`)));
  });
}

async function scan(opts: Record<string, unknown>): Promise<ScanResult & { error?: { code: string; message: string } }> {
  const { stdout } = await run("ip", ["netns", "exec", NS_S, process.execPath, "--import", "tsx", join(HERE, "_netns-scan.ts"), JSON.stringify({ subnets: [SUBNET], ports: PORTS, dnsServers: [DC_IP], ...opts })], { timeout: SCAN_TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ScanResult & { error?: { code: string; message: string } };
}

if (skipReason) {
  test.skip(`discovery in network namespaces (skipped: ${skipReason})`, () => undefined);
} else {
  test.before(async () => {
    process.once("exit", cleanupSync);
    cleanupSync();
    await setUp();
    await startDevice(NS_1, { ip: DC_IP, tcp: [88, 389, 445], netbios: { name: "DC01", group: "CLINIC", dc: true, mac: [0, 0x15, 0x5d, 0, 0, 2] }, dns: { [DC_IP]: "dc01.clinic.test", [DICOM_IP]: "xray.clinic.test" } });
    await startDevice(NS_2, { ip: DICOM_IP, tcp: [104, 11112], mdns: "xray-room.local" });
  });

  test.after(() => {
    for (const d of devices) d.stdin?.end();
    cleanupSync();
  });

  test("on a real segment the scanner finds both devices with names, ARP MACs and vendors, and nobody else", async () => {
    const t0 = Date.now();
    const r = await scan({});
    const ms = Date.now() - t0;
    assert.not.ok(r.error, JSON.stringify(r.error));
    assert.ok(r.complete);
    assert.is(r.probed_hosts, 6);
    const order = r.devices.map((d) => Number(d.ip.split(".")[3]));
    assert.equal(order, [...order].sort((x, y) => x - y), "sorted by address");
    const dc = r.devices.find((d) => d.ip === DC_IP);
    const dicom = r.devices.find((d) => d.ip === DICOM_IP);
    assert.ok(dc && dicom, JSON.stringify(r.devices.map((d) => d.ip)));
    assert.equal(dc.open_ports, [88, 389, 445], "RDP is dropped by the firewall: filtered, not open");
    assert.is(dc.mac, DC_MAC, "from the namespace's ARP table");
    assert.is(dc.vendor, "Microsoft Hyper-V");
    assert.is(dc.hostname, "dc01.clinic.test", "reverse DNS from the site's DNS server");
    assert.is(dc.netbios_name, "DC01");
    assert.is(dc.device_type, "domain_controller");
    assert.equal(dicom.open_ports, [104, 11112]);
    assert.is(dicom.mac, DICOM_MAC);
    assert.is(dicom.vendor, "Dell");
    assert.is(dicom.mdns_name, "xray-room.local");
    assert.is(dicom.hostname, "xray.clinic.test");
    assert.is(dicom.device_type, "medical_imaging");
    assert.ok(dicom.confidence >= 90, `confidence ${dicom.confidence}`);
    assert.not.ok(r.devices.some((d) => ["198.51.100.4", "198.51.100.5", "198.51.100.6"].includes(d.ip)), "empty addresses are not devices");
    // The scanner's own address answers too (its kernel resets every probe); it is reported as what it is.
    const self = r.devices.find((d) => d.ip === SCANNER_IP);
    if (self) assert.equal(self.open_ports, []);
    process.stdout.write(`    netns scan of ${SUBNET} (${r.probes} probes, ${PORTS.length} ports): ${ms} ms\n`);
  });

  test("a device excluded by MAC is never contacted again once the ARP table knows it", async () => {
    await scan({}); // fills the scanner namespace's ARP table
    const before = conns.get(`${DICOM_IP}:104`) ?? 0;
    assert.ok(before > 0);
    const r = await scan({ exclude: [DICOM_MAC.toUpperCase()] });
    await new Promise((res) => setTimeout(res, 100));
    assert.is(conns.get(`${DICOM_IP}:104`) ?? 0, before, "the DICOM modality got no connection");
    assert.is(r.excluded_hosts, 1);
    assert.not.ok(r.devices.some((d) => d.ip === DICOM_IP));
    assert.ok(r.devices.some((d) => d.ip === DC_IP));
  });

  test("inside the namespace too, a target outside the configured subnet is refused", async () => {
    const r = await scan({ targets: ["198.51.100.8/29"] });
    assert.is(r.error?.code, "out_of_scope");
  });
}

test.run();
