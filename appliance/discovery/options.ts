/**
 * Discovery settings (the `discovery:` section of the appliance config), validated once at the boundary.
 * Every bound has a reason: a clinic network is small, its devices can be fragile, and a scan must end.
 */
import { z } from "zod";
import { SCAN_DEPTHS } from "../../protocol/catalogue/mod.ts";
import { ValidationError } from "../../protocol/errors.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { IPV4_PATTERN, MAC_PATTERN, MAX_DISCOVERY_SUBNETS, MAX_INVENTORY_HOSTS } from "../../protocol/sync.ts";
import { DEFAULT_ARP_PATH } from "./arp.ts";
import { parseCidr } from "./cidr.ts";
import { DiscoveryError } from "./errors.ts";
import { PING_PATH_PATTERN } from "./icmp.ts";

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const discoveryConfigSchema = z.strictObject({
  /** The only subnets discovery may ever send a packet to (IPv4 CIDR, /16 or smaller). Empty: discovery off. */
  subnets: z
    .array(z.string().max(18))
    .max(MAX_DISCOVERY_SUBNETS)
    .default([])
    .superRefine((list, ctx) => {
      list.forEach((s, i) => {
        try {
          parseCidr(s);
        } catch (e) {
          ctx.addIssue({ code: "custom", path: [i], message: (e as Error).message });
        }
      });
    }).meta({ description: "The only IPv4 subnets (CIDR, /16 or smaller) discovery may ever probe; empty: discovery off." }),
  /** `nightly`: once a day at `nightly_at` (site time zone); `off`: only when a signed order asks. */
  schedule: z.enum(["nightly", "off"]).default("nightly").meta({ description: "nightly: scan once a day at nightly_at (site time zone); off: only when a signed discovery_scan order asks." }),
  nightly_at: z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, "expected a time of day HH:MM like 02:30").default("02:30").meta({ description: "Time of day (HH:MM, site time zone) of the nightly scan." }),
  /** Port list of the scheduled scan: the catalogue's `quick` or `full` set. */
  depth: z.enum(SCAN_DEPTHS).default("quick").meta({ description: "Port list of the scheduled scan: the catalogue's quick or full set." }),
  /** Hosts probed at once; each host only ever sees one probe at a time. */
  concurrency: int(1, 256).default(16).meta({ description: "Hosts probed at once (each host sees one probe at a time)." }),
  /** Probe starts per second overall: 50/s scans a /24 at the quick depth in about three minutes. */
  rate_per_second: int(1, 2000).default(50).meta({ description: "Probe starts per second overall." }),
  connect_timeout_ms: int(100, 30_000).default(1500).meta({ description: "Timeout per probe, in milliseconds: each TCP connect, and each host's ICMP echo (rounded up to whole seconds)." }),
  /**
   * The system `ping` for ICMP echo liveness: a name found on the appliance's fixed PATH, or an absolute path;
   * null: no ICMP, TCP liveness only. It needs an unprivileged ICMP socket (net.ipv4.ping_group_range) or
   * CAP_NET_RAW; a capability wrapper cannot help a daemon with NoNewPrivileges (icmp.ts).
   */
  ping_path: z
    .string()
    .regex(PING_PATH_PATTERN, "expected a program name like ping or an absolute path like /run/current-system/sw/bin/ping")
    .nullable()
    .default("ping")
    .meta({ description: "The ping program for ICMP echo liveness (a name on the fixed PATH or an absolute path); null: TCP liveness only." }),
  name_timeout_ms: int(100, 10_000).default(1500).meta({ description: "Timeout of each name lookup (reverse DNS, NetBIOS, mDNS), in milliseconds." }),
  /** Silent probes before a host not in the ARP table is given up. */
  liveness_probes: int(1, 64).default(6).meta({ description: "Silent probes before a host not in the ARP table is given up." }),
  /** Resolvers for reverse DNS (e.g. the domain controller); empty: the system's. */
  dns_servers: z.array(z.string().regex(IPV4_PATTERN, "expected an IPv4 address")).max(4).default([]).meta({ description: "Resolvers for reverse DNS (e.g. the domain controller); empty: the system's." }),
  arp_path: z.string().min(1).max(4096).default(DEFAULT_ARP_PATH).meta({ description: "ARP table read for MAC addresses and vendors." }),
  /** Addresses and MACs never to probe, besides those the relay sends (site config `discovery_exclude`). */
  exclude: z
    .array(z.string().refine((s) => IPV4_PATTERN.test(s) || MAC_PATTERN.test(s.toLowerCase()), { error: (i) => `expected an IPv4 address or a MAC: current value is ${JSON.stringify(i.input)}` }))
    .max(MAX_INVENTORY_HOSTS)
    .default([]).meta({ description: "IPv4 addresses and MACs never to probe (fragile medical devices), besides those the relay sends." }),
  /** A scan still running after this long is stopped (its partial result is reported as incomplete). */
  max_duration_s: int(60, 6 * 3600).default(3 * 3600).meta({ description: "A scan still running after this many seconds is stopped and reported as incomplete." }),
});
export type DiscoveryConfig = z.output<typeof discoveryConfigSchema>;

/** Validates the `discovery:` section; throws DiscoveryError("invalid_options") naming the field and value. */
export function parseDiscoveryConfig(raw: unknown): DiscoveryConfig {
  try {
    return parseSchema(discoveryConfigSchema, raw ?? {}, "discovery");
  } catch (e) {
    if (e instanceof ValidationError) throw new DiscoveryError("invalid_options", e.message);
    throw e;
  }
}
