/**
 * The scanner against real TCP listeners on loopback addresses (one /29 of 127/8, chosen per process so
 * parallel runs never share it; nothing else is ever probed): a "domain controller" on .2 (88, 389, 445),
 * a DICOM modality on .3 (104), a printer on .4 (9100, 631) and an HL7 engine on .5 (2575). Loopback has
 * no ARP, so the ARP table is an
 * injected file. Privileged ports need root; without it the suite says so and stops.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readArpTable } from "./arp.ts";
import { ScanScope } from "./cidr.ts";
import { DiscoveryError } from "./errors.ts";
import { netbiosSource } from "./names.ts";
import { tcpConnectProbe, type ConnectProbe } from "./probe.ts";
import { Scanner, type ScannerOptions } from "./scanner.ts";
import { listen, loopbackNet, nbstatResponse, udpResponder, type Listeners, type Responder } from "./_test-responders.ts";

/** This run's loopback block (127.A.1.0/29, A from the process id). */
const NET = loopbackNet(1);
const SUBNET = `${NET}.0/29`;
const PORTS = [88, 389, 445, 104, 2575, 9100, 631];
const clock = { now: () => Date.now() };
const random = (n: number) => new Uint8Array(randomBytes(n));
const log = { info: () => undefined, warn: () => undefined };

let dir = "";
let arpPath = "";
let listeners: Listeners | null = null;
let netbios: Responder | null = null;

/** Every probe the scanner makes, through the real TCP probe. */
function recording(): { connect: ConnectProbe; targets: string[] } {
  const targets: string[] = [];
  return { targets, connect: (ip, port, t, s) => (targets.push(`${ip}:${port}`), tcpConnectProbe(ip, port, t, s)) };
}

const options = (o: Partial<ScannerOptions> = {}): ScannerOptions => ({ scope: new ScanScope([SUBNET]), concurrency: 8, ratePerSecond: 500, connectTimeoutMs: 500, livenessProbes: 4, ...o });

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), "osiris-discovery-"));
  arpPath = join(dir, "arp");
  // What /proc/net/arp would say on a real segment: the DICOM box is a Dell, the printer a Brother.
  await writeFile(
    arpPath,
    [
      "IP address       HW type     Flags       HW address            Mask     Device",
      `${`${NET}.3`.padEnd(17)}0x1         0x2         00:14:22:0a:0b:0c     *        lo`,
      `${`${NET}.4`.padEnd(17)}0x1         0x2         00:1b:a9:01:02:03     *        lo`,
      "",
    ].join("\n"),
  );
  try {
    listeners = await listen([[`${NET}.2`, 88], [`${NET}.2`, 389], [`${NET}.2`, 445], [`${NET}.3`, 104], [`${NET}.4`, 9100], [`${NET}.4`, 631], [`${NET}.5`, 2575]]);
    netbios = await udpResponder(`${NET}.2`, 137, (q) => nbstatResponse((q[0]! << 8) | q[1]!, { name: "DC01", group: "CLINIC", dc: true, mac: [0, 0x15, 0x5d, 1, 2, 3] }));
  } catch (e) {
    throw new Error(`the scanner suite binds privileged ports on loopback and needs root: ${(e as Error).message}`);
  }
});

test.after(async () => {
  await listeners?.close();
  await netbios?.close();
  await rm(dir, { recursive: true, force: true });
});

test("scanning a loopback /29 finds the domain controller, the DICOM modality, the printer and the HL7 engine", async () => {
  const scanner = new Scanner(options(), { clock, log, arp: () => readArpTable(arpPath), names: { netbios: netbiosSource(300, random) } });
  const r = await scanner.scan({ ports: PORTS });
  assert.equal(r.subnets, [SUBNET]);
  assert.ok(r.complete);
  assert.is(r.probed_hosts, 6, ".1-.6: network and broadcast addresses are skipped");
  const by = new Map(r.devices.map((d) => [d.ip, d]));
  for (const d of r.devices) assert.ok(new ScanScope([SUBNET]).allows(d.ip), `${d.ip} is outside the scan`);

  const dc = by.get(`${NET}.2`);
  assert.ok(dc, "the domain controller was found");
  assert.equal(dc.open_ports, [88, 389, 445]);
  assert.is(dc.device_type, "domain_controller");
  assert.is(dc.netbios_name, "DC01");
  assert.is(dc.mac, "00:15:5d:01:02:03", "no ARP entry: the NetBIOS unit id is the MAC");
  assert.is(dc.vendor, "Microsoft Hyper-V");
  assert.ok(dc.confidence >= 80, `confidence ${dc.confidence}`);
  assert.ok(dc.evidence.includes("port 88/tcp open (kerberos)") && dc.evidence.includes("NetBIOS registers domain controller names"), dc.evidence.join("; "));

  const dicom = by.get(`${NET}.3`);
  assert.equal(dicom?.open_ports, [104]);
  assert.is(dicom?.device_type, "medical_imaging");
  assert.is(dicom?.mac, "00:14:22:0a:0b:0c");
  assert.is(dicom?.vendor, "Dell");
  assert.ok(dicom?.evidence.includes("port 104/tcp open (dicom)"));

  assert.is(by.get(`${NET}.4`)?.device_type, "printer");
  assert.is(by.get(`${NET}.4`)?.vendor, "Brother");
  assert.is(by.get(`${NET}.5`)?.device_type, "medical_imaging");
  assert.equal(by.get(`${NET}.5`)?.open_ports, [2575]);
  // Loopback answers every address with a reset: .6 is alive with nothing open.
  assert.is(by.get(`${NET}.6`)?.device_type, "unknown");
  assert.equal(by.get(`${NET}.6`)?.open_ports, []);
  assert.ok(listeners!.connections.get(`${NET}.2:445`)! >= 1);
});

test("a target outside the configured subnets is refused before a single probe is sent", async () => {
  const rec = recording();
  const scanner = new Scanner(options(), { clock, log, connect: rec.connect, arp: () => readArpTable(arpPath) });
  for (const target of ["10.0.0.1", `${NET}.8/29`, `${NET}.0/28`, "192.168.1.0/24"]) {
    const err = await scanner.scan({ targets: [target], ports: PORTS }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DiscoveryError && err.code === "out_of_scope", `${target}: ${String(err)}`);
    assert.ok((err as Error).message.includes(`outside the configured discovery subnets (${SUBNET})`), (err as Error).message);
  }
  // One bad target among good ones refuses the whole request.
  const mixed = await scanner.scan({ targets: [`${NET}.2`, `${NET}.9`], ports: PORTS }).then(() => null, (e: unknown) => e);
  assert.ok(mixed instanceof DiscoveryError && mixed.code === "out_of_scope");
  assert.equal(rec.targets, [], "nothing was probed");
});

test("excluded devices are never connected to: by IP, and by MAC through the ARP table", async () => {
  const rec = recording();
  const before = new Map(listeners!.connections);
  const scanner = new Scanner(options(), { clock, log, connect: rec.connect, arp: () => readArpTable(arpPath) });
  const r = await scanner.scan({ ports: PORTS, exclude: [`${NET}.3`, "00:1B:A9:01:02:03"] });
  assert.is(r.excluded_hosts, 2);
  assert.is(r.probed_hosts, 4);
  assert.not.ok(rec.targets.some((t) => t.startsWith(`${NET}.3:`) || t.startsWith(`${NET}.4:`)), rec.targets.join(" "));
  for (const key of [`${NET}.3:104`, `${NET}.4:9100`, `${NET}.4:631`]) assert.is(listeners!.connections.get(key), before.get(key), `${key} was contacted`);
  assert.not.ok(r.devices.some((d) => d.ip === `${NET}.3` || d.ip === `${NET}.4`));
  assert.ok(r.devices.some((d) => d.ip === `${NET}.2`));
});

test("a single-address target inside the scope scans only that address", async () => {
  const rec = recording();
  const scanner = new Scanner(options(), { clock, log, connect: rec.connect, arp: async () => [] });
  const r = await scanner.scan({ targets: [`${NET}.3`], ports: PORTS });
  assert.equal(r.subnets, [`${NET}.3/32`]);
  assert.ok(rec.targets.every((t) => t.startsWith(`${NET}.3:`)));
  assert.equal(r.devices.map((d) => d.ip), [`${NET}.3`]);
});

test("the rate limit holds: 42 probes at 60/s take at least 0.68 s, with at most 3 hosts in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const connect: ConnectProbe = async (ip, port, t, s) => {
    peak = Math.max(peak, ++inFlight);
    try {
      return await tcpConnectProbe(ip, port, t, s);
    } finally {
      inFlight--;
    }
  };
  const scanner = new Scanner(options({ concurrency: 3, ratePerSecond: 60 }), { clock, log, connect, arp: async () => [] });
  const t0 = Date.now();
  const r = await scanner.scan({ ports: PORTS });
  const ms = Date.now() - t0;
  assert.is(r.probes, 42, "6 hosts × 7 ports (every loopback address answers, so none is given up)");
  // 42 starts evenly spaced at 60/s: the last starts 41/60 s = 683 ms after the first.
  assert.ok(ms >= 675, `took ${ms} ms`);
  assert.ok(peak <= 3, `peak ${peak}`);
});

test("a silent host absent from the ARP table is given up after its liveness probes", async () => {
  const rec = recording();
  const silent: ConnectProbe = async (ip, port) => (rec.targets.push(`${ip}:${port}`), "filtered");
  const scanner = new Scanner(options({ livenessProbes: 2 }), { clock, log, connect: silent, arp: async () => [] });
  const r = await scanner.scan({ ports: PORTS });
  assert.is(r.devices.length, 0);
  assert.is(rec.targets.length, 6 * 2, "two probes per host, not seven");
});

test("an abort ends the scan early, reported as incomplete", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("time is up")), 150);
  const scanner = new Scanner(options({ concurrency: 1, ratePerSecond: 20 }), { clock, log, arp: async () => [] });
  const t0 = Date.now();
  const r = await scanner.scan({ ports: PORTS, signal: ac.signal });
  assert.not.ok(r.complete);
  assert.ok(Date.now() - t0 < 1000, "it stopped promptly");
  assert.ok(r.probes < 42);
});

test("a scan bigger than the probe bound is refused before it starts", async () => {
  const scanner = new Scanner(options({ scope: new ScanScope(["10.0.0.0/16"]) }), { clock, log, connect: async () => "closed", arp: async () => [] });
  const err = await scanner.scan({ ports: Array.from({ length: 100 }, (_, i) => i + 1) }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DiscoveryError && err.code === "too_large", String(err));
});

test.run();
