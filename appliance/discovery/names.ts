/**
 * Device names, best effort (Node adapters): reverse DNS through the site's resolver, the device's own mDNS
 * responder (a unicast PTR query to its port 5353) and its NetBIOS name service (node status on UDP 137).
 * Each source answers within its timeout or not at all; a failure is "no name", never an error, and is
 * never retried. All three are injectable (`NameSources`) so tests and sites without them can leave them out.
 */
import { createSocket } from "node:dgram";
import { promises as dns } from "node:dns";
import { encodeNbstatQuery, encodeQuery, parseNodeStatus, ptrAnswer, reverseName, TYPE_PTR } from "./dns-wire.ts";

/** NetBIOS node status, reduced to what discovery keeps. */
export interface NetbiosInfo {
  /** Computer name (the unique name with suffix 0x00), or null. */
  name: string | null;
  /** Workgroup or domain (the group name with suffix 0x00), or null. */
  group: string | null;
  /** Whether the file server service (suffix 0x20) is registered. */
  fileServer: boolean;
  /** Domain controller names registered (suffix 0x1c group, or 0x1b domain master browser). */
  domainController: boolean;
  mac: string | null;
}

export interface NameSources {
  reverseDns?: (ip: string, signal: AbortSignal) => Promise<string | null>;
  mdns?: (ip: string, signal: AbortSignal) => Promise<string | null>;
  netbios?: (ip: string, signal: AbortSignal) => Promise<NetbiosInfo | null>;
}

export const MDNS_PORT = 5353;
export const NETBIOS_NS_PORT = 137;
/** Largest datagram read. */
const MAX_DATAGRAM = 9000;

/**
 * Sends one datagram to ip:port and resolves with the first reply from that address that `accept` turns into
 * a value, or null on timeout, abort or error.
 */
export function udpExchange<T>(ip: string, port: number, payload: Uint8Array, timeoutMs: number, signal: AbortSignal, accept: (buf: Uint8Array) => T | null): Promise<T | null> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(null);
    const socket = createSocket("udp4");
    let settled = false;
    const done = (v: T | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.close();
      resolve(v);
    };
    const onAbort = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.on("error", () => done(null));
    socket.on("message", (msg, rinfo) => {
      if (rinfo.address !== ip || msg.length > MAX_DATAGRAM) return;
      try {
        const v = accept(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
        if (v !== null) done(v);
      } catch {
        // a malformed answer is no answer
      }
    });
    socket.send(payload, port, ip, (e) => {
      if (e) done(null);
    });
  });
}

const queryId = (random: (n: number) => Uint8Array): number => {
  const b = random(2);
  return (b[0]! << 8) | b[1]!;
};

/** A device's own mDNS name for its address (`printer.local`), via a legacy unicast PTR query. */
export function mdnsNameSource(timeoutMs: number, random: (n: number) => Uint8Array): NonNullable<NameSources["mdns"]> {
  return (ip, signal) => {
    const id = queryId(random);
    const name = reverseName(ip);
    return udpExchange(ip, MDNS_PORT, encodeQuery(id, name, TYPE_PTR), timeoutMs, signal, (buf) => ptrAnswer(buf, id, name));
  };
}

/** NetBIOS node status of a device (Windows, Samba, many NAS and printers). */
export function netbiosSource(timeoutMs: number, random: (n: number) => Uint8Array): NonNullable<NameSources["netbios"]> {
  return (ip, signal) => {
    const id = queryId(random);
    return udpExchange(ip, NETBIOS_NS_PORT, encodeNbstatQuery(id), timeoutMs, signal, (buf) => {
      const s = parseNodeStatus(buf, id);
      if (!s) return null;
      const unique = s.names.find((n) => n.suffix === 0x00 && !n.group);
      const group = s.names.find((n) => n.suffix === 0x00 && n.group);
      return {
        name: unique?.name ?? null,
        group: group?.name ?? null,
        fileServer: s.names.some((n) => n.suffix === 0x20 && !n.group),
        domainController: s.names.some((n) => (n.suffix === 0x1c && n.group) || n.suffix === 0x1b),
        mac: s.mac,
      };
    });
  };
}

/** Reverse DNS through the system resolver, or through `servers` (e.g. the site's domain controller). */
export function reverseDnsSource(timeoutMs: number, servers?: readonly string[]): NonNullable<NameSources["reverseDns"]> {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
  if (servers && servers.length) resolver.setServers([...servers]);
  return async (ip, signal) => {
    if (signal.aborted) return null;
    const onAbort = () => resolver.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const names = await resolver.reverse(ip);
      return names[0] ?? null;
    } catch {
      return null;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  };
}

/** The three Node sources. */
export function nodeNameSources(o: { timeoutMs: number; random: (n: number) => Uint8Array; dnsServers?: readonly string[] }): Required<NameSources> {
  return { reverseDns: reverseDnsSource(o.timeoutMs, o.dnsServers), mdns: mdnsNameSource(o.timeoutMs, o.random), netbios: netbiosSource(o.timeoutMs, o.random) };
}
