/**
 * Node adapters for mdns.ts: the responder is bonjour-service (with its address records replaced by ours),
 * the prober a plain UDP socket on 5353 speaking the small codec in _mdns-wire.ts.
 *
 * bonjour-service computes a service's A/AAAA records from every interface whenever it announces
 * (`Service.records()`). We replace that method on the service object right after `publish()` returns —
 * bonjour-service probes first (timers, ≥ 250 ms), so its first announcement already uses our records, and
 * its goodbye packets do too. Its own probe only covers the service name and, on a conflict, stops the
 * service and writes to console.log without an event: our prober checks both names before publishing, and a
 * service that never came up counts as a conflict.
 */
import { createSocket, type Socket } from "node:dgram";
import type { EventEmitter } from "node:events";
import { Bonjour, type ServiceConfig } from "bonjour-service";
import type { Log } from "../engine/types.ts";
import { decodeMessage, encodeQuery, sameName, type DnsMessage, type ResourceRecord } from "./_mdns-wire.ts";
import type { MdnsProber, MdnsResponder, Publication } from "./mdns.ts";

export const MDNS_GROUP = "224.0.0.251";
export const MDNS_PORT = 5353;
/** RFC 6762 §8.1: three probes, 250 ms apart, then 250 ms more for late answers. */
export const PROBE_COUNT = 3;
export const PROBE_INTERVAL_MS = 250;
/** A service that is not up this long after publish() never will be (its probe takes about one second). */
export const PUBLISH_TIMEOUT_MS = 5_000;
/** Goodbye packets and socket close must not hold up daemon shutdown for longer than this. */
export const CLOSE_TIMEOUT_MS = 2_000;
/** RFC 6762 §10: TTL of address and SRV records (what bonjour-service uses too). */
const HOST_TTL_S = 120;

/** multicast-dns options that bonjour-service passes through (its typings name them ServiceConfig). */
type MulticastOptions = Partial<ServiceConfig> & { interface?: string; bind?: string };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return Promise.race([p, sleep(ms)]);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function hasEmitter(v: unknown): v is { mdns: EventEmitter } {
  return typeof v === "object" && v !== null && "mdns" in v && typeof (v as { mdns: unknown }).mdns === "object";
}

/**
 * A bonjour-service responder that sends and listens on `interfaces` (one IPv4 address: only that
 * interface; several: every interface, multicast-dns's default, with our records still limited).
 */
export function bonjourResponder(interfaces: readonly string[], log: Log): MdnsResponder {
  const options: MulticastOptions = interfaces.length === 1 ? { interface: interfaces[0]!, bind: "0.0.0.0" } : {};
  const bonjour = new Bonjour(options, (err: Error) => log.warn("mdns_error", { error: err.message }));
  // multicast-dns emits 'error' when it cannot bind 5353; with no listener that would crash the daemon.
  const server: unknown = Reflect.get(bonjour, "server");
  if (hasEmitter(server)) server.mdns.on("error", (err: Error) => log.error("mdns_socket_error", { error: err.message }));
  return {
    publish(p: Publication): Promise<"up" | "conflict"> {
      const service = bonjour.publish({ name: p.instance, type: "http", port: p.port, host: p.host, txt: { ...p.txt }, disableIPv6: !p.addresses.some((a) => a.includes(":")) });
      const base = service.records.bind(service);
      service.records = () => [
        ...base().filter((r) => r.type !== "A" && r.type !== "AAAA"),
        ...p.addresses.map((a) => ({ name: p.host, type: a.includes(":") ? ("AAAA" as const) : ("A" as const), ttl: HOST_TTL_S, data: a })),
      ];
      return new Promise((resolve) => {
        const up = () => {
          clearTimeout(timer);
          resolve("up");
        };
        const timer = setTimeout(() => {
          service.removeListener("up", up);
          if (!service.activated) resolve("conflict");
          else {
            log.warn("mdns_not_confirmed", { host: p.host, note: "announcement not confirmed; keeping the publication" });
            resolve("up");
          }
        }, PUBLISH_TIMEOUT_MS);
        service.once("up", up);
      });
    },
    close(): Promise<void> {
      const done = new Promise<void>((resolve) => bonjour.unpublishAll(() => bonjour.destroy(() => resolve())));
      return withTimeout(done, CLOSE_TIMEOUT_MS);
    },
  };
}

/** Whether a record for one of our names is someone else's: live (TTL > 0) and not one of our addresses. */
function foreign(r: ResourceRecord, own: readonly string[]): boolean {
  if (r.ttl === 0) return false;
  if ((r.typeName === "A" || r.typeName === "AAAA") && typeof r.data === "string" && own.includes(r.data)) return false;
  return true;
}

/** A prober on its own socket (bound to 5353 with SO_REUSEADDR, beside the responder's). */
export async function dgramProber(interfaces: readonly string[], log: Log): Promise<MdnsProber> {
  const socket: Socket = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(MDNS_PORT, "0.0.0.0", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", (e) => log.warn("mdns_probe_socket_error", { error: e.message }));
  for (const i of interfaces) {
    try {
      socket.addMembership(MDNS_GROUP, i);
    } catch (e) {
      log.warn("mdns_membership_failed", { interface: i, error: message(e) });
    }
  }
  socket.setMulticastTTL(255);
  const listeners = new Set<(m: DnsMessage) => void>();
  socket.on("message", (buf: Buffer) => {
    let m: DnsMessage;
    try {
      m = decodeMessage(new Uint8Array(buf));
    } catch {
      return; // not ours to judge: a malformed packet from the LAN is ignored
    }
    if (!m.response) return;
    for (const l of listeners) l(m);
  });
  const send = async (names: readonly string[]) => {
    const packet = encodeQuery(names.map((name) => ({ name, type: "ANY" as const })));
    for (const i of interfaces) {
      try {
        socket.setMulticastInterface(i);
        await new Promise<void>((resolve, reject) => socket.send(packet, MDNS_PORT, MDNS_GROUP, (e) => (e ? reject(e) : resolve())));
      } catch (e) {
        log.warn("mdns_probe_send_failed", { interface: i, error: message(e) });
      }
    }
  };
  let closed = false;
  return {
    async probe(names, own) {
      const taken = new Set<string>();
      const listener = (m: DnsMessage) => {
        for (const r of [...m.answers, ...m.additionals]) for (const n of names) if (sameName(r.name, n) && foreign(r, own)) taken.add(n);
      };
      listeners.add(listener);
      try {
        for (let k = 0; k < PROBE_COUNT && !closed; k++) {
          await send(names);
          await sleep(PROBE_INTERVAL_MS);
        }
        await sleep(PROBE_INTERVAL_MS);
      } finally {
        listeners.delete(listener);
      }
      return taken;
    },
    watch(name, own, onConflict) {
      const listener = (m: DnsMessage) => {
        if ([...m.answers, ...m.additionals].some((r) => sameName(r.name, name) && (r.typeName === "A" || r.typeName === "AAAA") && foreign(r, own))) {
          listeners.delete(listener);
          onConflict();
        }
      };
      listeners.add(listener);
    },
    close() {
      closed = true;
      listeners.clear();
      return withTimeout(new Promise<void>((resolve) => socket.close(() => resolve())), CLOSE_TIMEOUT_MS);
    },
  };
}
