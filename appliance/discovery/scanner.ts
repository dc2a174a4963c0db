/**
 * The network scanner: finds the devices in the site's configured subnets, the TCP services they offer, their
 * names and MAC vendors, and classifies them.
 *
 * Safety first, because clinic networks hold fragile devices (imaging modalities, old printers):
 * - every target passes `ScanScope.check` before any packet is sent: anything outside the configured subnets
 *   is refused with `DiscoveryError("out_of_scope")`;
 * - excluded devices (by IP, or by MAC through the ARP table read before probing) are never touched — no TCP,
 *   no NetBIOS, no mDNS;
 * - one probe at a time per host, at most `concurrency` hosts at once, at most `ratePerSecond` probe starts
 *   per second overall; connections are closed right after the handshake, no payload is ever sent;
 * - a host that is unreachable, or silent for its first `livenessProbes` probes and absent from the ARP
 *   table, is given up at once instead of being probed on every port.
 *
 * Liveness: with an echo probe (icmp.ts, the system `ping`), each host first gets one ICMP echo request, through
 * the same scope check and the same rate limit as every TCP probe: a reply makes it alive (all its ports are
 * probed), "unreachable" gives it up at once, silence leaves it to the TCP probes (Windows drops echo by
 * default). Otherwise, and when ping cannot run here, a host is alive when a port is open, when it answers a
 * probe with a reset (closed port), or when it appears in the ARP table after being probed.
 */
import { setMaxListeners } from "node:events";
import { isoTime } from "../../protocol/ids.ts";
import { MAX_DEVICE_PORTS, MAX_INVENTORY_HOSTS, MAC_PATTERN, type DiscoveredDevice } from "../../protocol/sync.ts";
import type { Clock, Log } from "../engine/types.ts";
import { readArpTable, type ArpEntry } from "./arp.ts";
import { hostCount, hostsOf, ipToInt, type ScanScope, type Subnet } from "./cidr.ts";
import { classifyDevice } from "./classify.ts";
import type { EchoProbe } from "./icmp.ts";
import { DiscoveryError } from "./errors.ts";
import type { NameSources, NetbiosInfo } from "./names.ts";
import { DEFAULT_OUI_TABLE, vendorFor, type OuiTable } from "./oui.ts";
import { tcpConnectProbe, type ConnectProbe, type ProbeResult } from "./probe.ts";
import { realSleep, Throttle, type Sleep } from "./throttle.ts";

/** Most probes one scan may plan (hosts × ports): a /16 at the quick depth fits, a mistake does not. */
export const MAX_PLANNED_PROBES = 3_000_000;
/** Longest name kept (the wire limit for text). */
const MAX_NAME = 253;

/** Ports tried first on every host: those most devices answer on, so a live host shows itself early. */
export const LIVENESS_ORDER: readonly number[] = [445, 80, 443, 22, 3389, 135, 139, 9100, 631, 53, 8080, 104, 2575, 5357, 548, 23];

export interface ScannerOptions {
  scope: ScanScope;
  /** Hosts probed at once (each host gets one probe at a time). */
  concurrency: number;
  /** Probe starts per second, overall. */
  ratePerSecond: number;
  connectTimeoutMs: number;
  /** Silent probes after which a host absent from the ARP table is taken as not there. */
  livenessProbes: number;
}

export interface ScannerDeps {
  clock: Clock;
  connect?: ConnectProbe;
  /** ICMP echo before the TCP probes (icmp.ts `systemPing`); none: TCP liveness only. */
  echo?: EchoProbe;
  names?: NameSources;
  /** Reads the ARP table (default `/proc/net/arp`). */
  arp?: () => Promise<ArpEntry[]>;
  oui?: OuiTable;
  sleep?: Sleep;
  log?: Pick<Log, "info" | "warn">;
}

export interface ScanRequest {
  /** CIDRs or addresses to scan, each inside the scope; default: every configured subnet. */
  targets?: readonly string[];
  ports: readonly number[];
  /** IPv4 addresses and MACs never to probe. */
  exclude?: readonly string[];
  signal?: AbortSignal;
}

export interface ScanResult {
  subnets: string[];
  ports: number[];
  started_at: string;
  finished_at: string;
  /** False when the scan was aborted or the device list truncated: absent devices are then not "gone". */
  complete: boolean;
  probed_hosts: number;
  excluded_hosts: number;
  probes: number;
  /** ICMP echo requests sent (one per probed host while ping works here). */
  echoes: number;
  /** Hosts that answered an echo request. */
  echo_replies: number;
  devices: DiscoveredDevice[];
}

const clip = (s: string | null | undefined): string | null => (s ? s.replace(/\.$/, "").slice(0, MAX_NAME) : null);

/** Orders ports so the liveness ports come first, the rest ascending. */
export function probeOrder(ports: readonly number[]): number[] {
  const rank = (p: number) => {
    const i = LIVENESS_ORDER.indexOf(p);
    return i < 0 ? LIVENESS_ORDER.length : i;
  };
  return [...new Set(ports)].sort((a, b) => rank(a) - rank(b) || a - b);
}

interface Alive {
  ip: string;
  open: number[];
}

export class Scanner {
  readonly #o: ScannerOptions;
  readonly #d: ScannerDeps;
  readonly #connect: ConnectProbe;
  readonly #arp: () => Promise<ArpEntry[]>;

  constructor(options: ScannerOptions, deps: ScannerDeps) {
    for (const [name, v] of [["connectTimeoutMs", options.connectTimeoutMs], ["livenessProbes", options.livenessProbes], ["concurrency", options.concurrency]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`Cannot scan as '${name}' must be a positive integer: current value is ${v}`);
    }
    this.#o = options;
    this.#d = deps;
    this.#connect = deps.connect ?? tcpConnectProbe;
    this.#arp = deps.arp ?? (() => readArpTable());
  }

  /**
   * Scans the targets (all inside the scope, else DiscoveryError "out_of_scope" before anything is sent).
   * Resolves with what was found; an abort ends it early with `complete: false`.
   */
  async scan(req: ScanRequest): Promise<ScanResult> {
    const { clock } = this.#d;
    const targets: Subnet[] = (req.targets ?? this.#o.scope.subnets.map((s) => s.cidr)).map((t) => this.#o.scope.check(t));
    if (targets.length === 0) throw new DiscoveryError("out_of_scope", "no discovery subnets are configured: nothing may be scanned");
    const ports = probeOrder(req.ports);
    for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new RangeError(`Cannot scan port ${p}: ports are 1-65535`);
    const hosts = dedupeHosts(targets);
    if (hosts.total * Math.max(ports.length, 1) > MAX_PLANNED_PROBES) {
      throw new DiscoveryError("too_large", `a scan of ${hosts.total} hosts × ${ports.length} ports exceeds the bound of ${MAX_PLANNED_PROBES} probes`, { hosts: hosts.total, ports: ports.length });
    }
    const started = clock.now();
    const signal = req.signal ?? new AbortController().signal;
    // Every probe in flight and every queued one listens for the abort: that many listeners are expected.
    setMaxListeners(Math.max(10, this.#o.concurrency * 4 + 10), signal);

    // Exclusions: by IP directly, by MAC through what the ARP table already knows (before we send anything).
    const exclude = new Set((req.exclude ?? []).map((x) => x.toLowerCase()));
    const arpBefore = await this.#arp();
    for (const e of arpBefore) if (exclude.has(e.mac)) exclude.add(e.ip);

    const throttle = new Throttle({ concurrency: this.#o.concurrency, ratePerSecond: this.#o.ratePerSecond, clock, sleep: this.#d.sleep ?? realSleep });
    const alive: Alive[] = [];
    let probedHosts = 0;
    let excludedHosts = 0;
    let probes = 0;
    let echoes = 0;
    let echoReplies = 0;
    let echo = this.#d.echo;
    let arpSeen = new Set(arpBefore.map((e) => e.ip));
    let arpReadAt = clock.now();

    const probe = async (ip: string, port: number): Promise<ProbeResult> => {
      probes++;
      return throttle.run(() => this.#connect(ip, port, this.#o.connectTimeoutMs, signal), signal);
    };
    const inArp = async (ip: string): Promise<boolean> => {
      // Re-read at most once per connect timeout: the kernel fills entries as our probes go out.
      if (clock.now() - arpReadAt >= this.#o.connectTimeoutMs) {
        arpSeen = new Set((await this.#arp()).map((e) => e.ip));
        arpReadAt = clock.now();
      }
      return arpSeen.has(ip);
    };

    /** One echo request; `unreachable` gives the host up. Ping that cannot run here is switched off for the scan. */
    const ping = async (ip: string): Promise<"alive" | "unreachable" | null> => {
      const send = echo;
      if (!send) return null;
      this.#o.scope.check(ip); // every target passed the scope already; the one gate is asked again per packet
      echoes++;
      const r = await throttle.run(() => send(ip, this.#o.connectTimeoutMs, signal), signal);
      if (r.result === "unavailable") {
        if (echo) this.#d.log?.warn("discovery_icmp_unavailable", { detail: r.detail ?? "", fallback: "tcp liveness only" });
        echo = undefined;
        return null;
      }
      if (r.result === "alive") echoReplies++;
      return r.result === "alive" || r.result === "unreachable" ? r.result : null;
    };

    const scanHost = async (ip: string): Promise<void> => {
      if (exclude.has(ip)) {
        excludedHosts++;
        return;
      }
      probedHosts++;
      const open: number[] = [];
      const echoed = await ping(ip);
      if (echoed === "unreachable") return;
      let answered = echoed === "alive";
      for (let i = 0; i < ports.length && !signal.aborted; i++) {
        const r = await probe(ip, ports[i]!);
        if (r === "unreachable") return;
        if (r === "open") open.push(ports[i]!);
        if (r === "open" || r === "closed") answered = true;
        if (!answered && i + 1 === Math.min(this.#o.livenessProbes, ports.length) && !(await inArp(ip))) return;
      }
      if (answered || (await inArp(ip))) alive.push({ ip, open: open.sort((a, b) => a - b) });
    };

    const iterator = hosts.iterate();
    const worker = async () => {
      for (let n = iterator.next(); !n.done && !signal.aborted; n = iterator.next()) {
        try {
          await scanHost(n.value);
        } catch (e) {
          if (!signal.aborted) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, hosts.total) }, worker));

    const arpAfter = new Map((await this.#arp()).map((e) => [e.ip, e.mac]));
    alive.sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));
    const truncated = alive.length > MAX_INVENTORY_HOSTS;
    const devices: DiscoveredDevice[] = [];
    const nameWorker = async (queue: Alive[]) => {
      for (let a = queue.shift(); a && !signal.aborted; a = queue.shift()) devices.push(await this.#describe(a, arpAfter.get(a.ip) ?? null, throttle, signal));
    };
    const queue = alive.slice(0, MAX_INVENTORY_HOSTS);
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, queue.length) }, () => nameWorker(queue)));
    devices.sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));

    const result: ScanResult = {
      subnets: targets.map((t) => t.cidr),
      ports: [...ports].sort((a, b) => a - b),
      started_at: isoTime(started),
      finished_at: isoTime(clock.now()),
      complete: !signal.aborted && !truncated,
      probed_hosts: probedHosts,
      excluded_hosts: excludedHosts,
      probes,
      echoes,
      echo_replies: echoReplies,
      devices,
    };
    this.#d.log?.info("discovery_scan", { subnets: result.subnets, hosts: hosts.total, probed: probedHosts, excluded: excludedHosts, devices: devices.length, probes, echoes, echo_replies: echoReplies, complete: result.complete, duration_ms: clock.now() - started });
    if (truncated) this.#d.log?.warn("discovery_truncated", { devices: alive.length, limit: MAX_INVENTORY_HOSTS });
    return result;
  }

  /** Names, vendor and classification of one live host (names are best effort, one lookup of each kind). */
  async #describe(a: Alive, arpMac: string | null, throttle: Throttle, signal: AbortSignal): Promise<DiscoveredDevice> {
    const n = this.#d.names ?? {};
    const guarded = async <T>(fn: ((ip: string, s: AbortSignal) => Promise<T | null>) | undefined): Promise<T | null> => {
      if (!fn || signal.aborted) return null;
      try {
        return await throttle.run(() => fn(a.ip, signal), signal);
      } catch {
        return null;
      }
    };
    const [hostname, mdns, nb] = await Promise.all([guarded(n.reverseDns), guarded(n.mdns), guarded<NetbiosInfo>(n.netbios)]);
    const mac = arpMac ?? (nb?.mac && MAC_PATTERN.test(nb.mac) ? nb.mac : null);
    const vendor = mac ? vendorFor(mac, this.#d.oui ?? DEFAULT_OUI_TABLE) : null;
    const facts = { open_ports: a.open, hostname: clip(hostname), mdns_name: clip(mdns), netbios_name: clip(nb?.name), vendor, netbios_dc: nb?.domainController ?? false, netbios_file_server: nb?.fileServer ?? false };
    const c = classifyDevice(facts);
    return {
      ip: a.ip,
      mac,
      vendor: vendor?.name ?? null,
      hostname: facts.hostname,
      mdns_name: facts.mdns_name,
      netbios_name: facts.netbios_name,
      open_ports: a.open.slice(0, MAX_DEVICE_PORTS),
      device_type: c.device_type,
      confidence: c.confidence,
      evidence: c.evidence.map((e) => e.slice(0, 256)),
    };
  }
}

/** The distinct host addresses of overlapping targets, counted and iterated lazily. */
function dedupeHosts(targets: readonly Subnet[]): { total: number; iterate: () => Iterator<string> } {
  // Drop targets contained in another one; the rest may still overlap partially only if nested, which CIDR
  // blocks cannot do, so disjoint after this step.
  const kept = targets.filter((t, i) => !targets.some((o, j) => j !== i && o.first <= t.first && o.last >= t.last && (o.first !== t.first || o.last !== t.last || j < i)));
  kept.sort((a, b) => a.first - b.first);
  return {
    total: kept.reduce((n, s) => n + hostCount(s), 0),
    iterate: function* () {
      for (const s of kept) yield* hostsOf(s);
    } as () => Iterator<string>,
  };
}

