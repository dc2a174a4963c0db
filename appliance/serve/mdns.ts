/**
 * Advertises the status page over mDNS: an `_http._tcp` service and the host name `<mdns_name>.local`, with
 * A/AAAA answers for the addresses the page is served on — and only those. It works around the
 * bonjour-service pitfalls (anchors §5.2) this way:
 *
 * - the host name always ends in `.local`;
 * - addresses are chosen here (`advertisedAddresses`), from the configured bind addresses, never taken from
 *   every interface; a wildcard bind advertises the LAN interfaces but not container bridges, VPNs or tunnels;
 * - the interfaces are polled every ADDRESS_POLL_MS: a changed address set is withdrawn (goodbye, TTL 0) and
 *   published again, so a DHCP change reaches clients;
 * - before publishing, the host name and the service name are probed (RFC 6762 §8.1: three queries 250 ms
 *   apart); a name another responder answers for is renamed `<name>-2`, `-3`, ... (RFC 6762 §9), and the
 *   chosen name is kept for later republishing. After publishing, a responder that claims our host name with
 *   other addresses triggers the same rename;
 * - stop() sends goodbyes and closes every socket.
 *
 * The sockets live behind two small interfaces (`MdnsResponder`, `MdnsProber`; Node adapters in
 * mdns-node.ts), so this logic is tested with fakes and the real thing runs in network namespaces.
 */
import type { Log } from "../engine/types.ts";

/** How often the interfaces are looked at for changed addresses. */
export const ADDRESS_POLL_MS = 10_000;
/** Names tried before giving up (`name`, `name-2`, ... `name-16`): more means something answers everything. */
export const MAX_NAME_ATTEMPTS = 16;
/** Default service instance name (what a service browser lists). */
export const DEFAULT_INSTANCE = "OsirisCare status page";
/**
 * Interfaces a wildcard bind does not advertise on: container bridges, VPNs and tunnels (their addresses are
 * not where clinic staff can reach the page). A specific bind address is advertised whatever its interface.
 */
export const VIRTUAL_INTERFACES = /^(docker|br-|virbr|cni|flannel|cali|vxlan|tun|tap|wg|tailscale|zt|utun|ppp|ipsec)/;

/** One address as `os.networkInterfaces()` reports it. */
export interface InterfaceAddress {
  address: string;
  family: "IPv4" | "IPv6" | string | number;
  internal: boolean;
}
export type InterfaceMap = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

export interface AdvertisedAddresses {
  /** Addresses for A/AAAA answers, IPv4 first, sorted. */
  addresses: string[];
  /** IPv4 addresses of the interfaces to send and receive mDNS on (one per interface). */
  interfaces: string[];
}

const isV4 = (a: InterfaceAddress) => a.family === "IPv4" || a.family === 4;
const isV6 = (a: InterfaceAddress) => a.family === "IPv6" || a.family === 6;
/** Link-local IPv6 needs a zone id in a URL, which browsers do not take: useless for the page. */
const linkLocalV6 = (address: string) => /^fe[89ab]/i.test(address);

/**
 * The addresses to advertise for a page bound to `bind`: a specific address if an interface has it; for
 * `0.0.0.0` every LAN IPv4 address; for `::` every LAN IPv4 and global or ULA IPv6 address. Loopback and
 * internal addresses never (a page bound only to loopback is not advertised at all).
 */
export function advertisedAddresses(ifaces: InterfaceMap, bind: readonly string[]): AdvertisedAddresses {
  const any4 = bind.includes("0.0.0.0") || bind.includes("::");
  const any6 = bind.includes("::");
  const addresses = new Set<string>();
  const interfaces = new Set<string>();
  for (const [name, list] of Object.entries(ifaces)) {
    if (!list) continue;
    const virtual = VIRTUAL_INTERFACES.test(name);
    let used = false;
    for (const a of list) {
      if (a.internal) continue;
      const wanted = bind.includes(a.address) || (!virtual && ((isV4(a) && any4) || (isV6(a) && any6 && !linkLocalV6(a.address))));
      if (!wanted || (isV6(a) && linkLocalV6(a.address))) continue;
      addresses.add(a.address);
      used = true;
    }
    const v4 = list.find((a) => isV4(a) && !a.internal);
    if (used && v4) interfaces.add(v4.address);
  }
  const sorted = [...addresses].sort((a, b) => Number(a.includes(":")) - Number(b.includes(":")) || a.localeCompare(b));
  return { addresses: sorted, interfaces: [...interfaces].sort() };
}

/** What is published: the service and its host's addresses. */
export interface Publication {
  /** Service instance name, e.g. "OsirisCare status page". */
  instance: string;
  /** Host name with `.local`. */
  host: string;
  port: number;
  addresses: readonly string[];
  txt: Readonly<Record<string, string>>;
}

/** An mDNS responder (bonjour-service underneath). */
export interface MdnsResponder {
  /** Publishes and announces; resolves "conflict" when the responder's own probe found the service name taken. */
  publish(p: Publication): Promise<"up" | "conflict">;
  /** Sends goodbyes (TTL 0) for what is published and closes the socket. */
  close(): Promise<void>;
}

/** Finds names another responder on the link already answers for. */
export interface MdnsProber {
  /** Probes `names` (RFC 6762 §8.1); returns those answered with records that are not ours. */
  probe(names: readonly string[], own: readonly string[]): Promise<Set<string>>;
  /** Calls `onConflict` when a response claims `name` with addresses that are not `own` (once per watch). */
  watch(name: string, own: readonly string[], onConflict: () => void): void;
  close(): Promise<void>;
}

export interface MdnsAdvertiserOptions {
  /** `status_page.mdns_name`: one DNS label. */
  name: string;
  port: number;
  /** `status_page.bind`. */
  bind: readonly string[];
  instance?: string;
  log: Log;
  networkInterfaces: () => InterfaceMap;
  /** Opens a responder sending and listening on these IPv4 interface addresses. */
  responder: (interfaces: readonly string[]) => MdnsResponder | Promise<MdnsResponder>;
  prober: (interfaces: readonly string[]) => MdnsProber | Promise<MdnsProber>;
  /** Runs `fn` every `ms` until the returned function is called (injected so tests drive time). */
  every?: (ms: number, fn: () => void) => () => void;
  pollMs?: number;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const defaultEvery = (ms: number, fn: () => void) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

/** Keeps the status page advertised while the daemon runs. */
export class MdnsAdvertiser {
  readonly #o: MdnsAdvertiserOptions & { instance: string; pollMs: number };
  #attempt = 1;
  #current: { host: string; addresses: string[]; responder: MdnsResponder; prober: MdnsProber } | null = null;
  /** The address set last acted on (published, or found empty, or given up on): a poll with the same set does nothing. */
  #lastKey: string | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #stopPoll: (() => void) | null = null;
  #stopped = false;

  constructor(options: MdnsAdvertiserOptions) {
    if (!LABEL.test(options.name)) throw new TypeError(`Cannot advertise as ${JSON.stringify(options.name)}: the mDNS name must be one DNS label (a-z, 0-9, -)`);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) throw new RangeError(`Cannot advertise the status page as 'port' must be 1 to 65535: current value is ${options.port}`);
    const pollMs = options.pollMs ?? ADDRESS_POLL_MS;
    if (!Number.isFinite(pollMs) || pollMs <= 0) throw new RangeError(`Cannot advertise the status page as 'pollMs' must be positive: current value is ${pollMs}`);
    this.#o = { ...options, instance: options.instance ?? DEFAULT_INSTANCE, pollMs };
  }

  /** The host name published now (e.g. "osiriscare-appliance.local"), or null. */
  get host(): string | null {
    return this.#current?.host ?? null;
  }

  /** The addresses published now. */
  get addresses(): readonly string[] {
    return this.#current?.addresses ?? [];
  }

  /** Publishes (when there is an address to publish) and starts watching the interfaces. */
  async start(): Promise<void> {
    await this.check();
    if (!this.#stopped && !this.#stopPoll) {
      this.#stopPoll = (this.#o.every ?? defaultEvery)(this.#o.pollMs, () => {
        void this.check().catch((e: unknown) => this.#o.log.error("mdns_check_failed", { error: e instanceof Error ? e.message : String(e) }));
      });
    }
  }

  /** Republishes if the advertised addresses changed since the last publication. */
  check(): Promise<void> {
    return this.#serial(async () => {
      const next = advertisedAddresses(this.#o.networkInterfaces(), this.#o.bind);
      const key = JSON.stringify(next);
      if (this.#lastKey === key) return;
      this.#lastKey = key;
      await this.#republish(next);
    });
  }

  /** Withdraws the publication (goodbye packets) and stops watching. Idempotent. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#stopPoll?.();
    this.#stopPoll = null;
    return this.#serial(() => this.#withdraw());
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #withdraw(): Promise<void> {
    const c = this.#current;
    this.#current = null;
    if (!c) return;
    await c.responder.close();
    await c.prober.close();
    this.#o.log.info("mdns_withdrawn", { host: c.host });
  }

  #names(attempt: number) {
    const suffix = attempt === 1 ? "" : `-${attempt}`;
    const host = `${this.#o.name}${suffix}.local`;
    const instance = attempt === 1 ? this.#o.instance : `${this.#o.instance} (${attempt})`;
    return { host, instance, fqdn: `${instance}._http._tcp.local` };
  }

  async #republish(next: AdvertisedAddresses): Promise<void> {
    await this.#withdraw();
    if (this.#stopped) return;
    if (next.addresses.length === 0) {
      this.#o.log.warn("mdns_no_address", { bind: this.#o.bind, note: "no interface has an address the status page is served on; not advertising" });
      return;
    }
    const prober = await this.#o.prober(next.interfaces);
    for (; this.#attempt <= MAX_NAME_ATTEMPTS; this.#attempt++) {
      const names = this.#names(this.#attempt);
      const taken = await prober.probe([names.host, names.fqdn], next.addresses);
      if (taken.size > 0) {
        this.#o.log.warn("mdns_name_conflict", { names: [...taken], next: this.#names(this.#attempt + 1).host });
        continue;
      }
      const responder = await this.#o.responder(next.interfaces);
      const result = await responder.publish({ instance: names.instance, host: names.host, port: this.#o.port, addresses: next.addresses, txt: { path: "/" } });
      if (result === "conflict") {
        await responder.close();
        this.#o.log.warn("mdns_name_conflict", { names: [names.fqdn], next: this.#names(this.#attempt + 1).host });
        continue;
      }
      if (this.#stopped) {
        await responder.close();
        await prober.close();
        return;
      }
      this.#current = { host: names.host, addresses: next.addresses, responder, prober };
      this.#o.log.info("mdns_published", { host: names.host, service: names.fqdn, addresses: next.addresses, port: this.#o.port });
      prober.watch(names.host, next.addresses, () => {
        this.#o.log.warn("mdns_name_conflict", { names: [names.host], next: this.#names(this.#attempt + 1).host, note: "another device claimed our name" });
        this.#attempt++;
        void this.#serial(() => this.#republish(next)).catch((e: unknown) => this.#o.log.error("mdns_republish_failed", { error: e instanceof Error ? e.message : String(e) }));
      });
      return;
    }
    await prober.close();
    this.#o.log.error("mdns_gave_up", { tried: MAX_NAME_ATTEMPTS, name: this.#o.name, note: "every name tried is in use on the network; not advertising" });
  }
}
