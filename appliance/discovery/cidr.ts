/**
 * IPv4 subnets and the scan scope. Discovery may only ever send a packet to an address inside the subnets the
 * site configured; `ScanScope` is the one gate every target passes through, and it refuses anything else with
 * `DiscoveryError("out_of_scope")` before a socket is opened.
 */
import { IPV4_PATTERN } from "../../protocol/sync.ts";
import { DiscoveryError } from "./errors.ts";

/** Largest subnet accepted: a /16 (65 534 hosts); anything bigger is a typo, not a clinic network. */
export const MIN_PREFIX = 16;

export interface Subnet {
  /** Canonical text, e.g. `192.168.1.0/24` (host bits cleared). */
  cidr: string;
  prefix: number;
  /** First and last address of the block as unsigned 32-bit integers. */
  first: number;
  last: number;
}

/** `192.168.1.20` → 3232235796; throws DiscoveryError("invalid_subnet") for anything that is not dotted-quad IPv4. */
export function ipToInt(ip: string): number {
  if (typeof ip !== "string" || !IPV4_PATTERN.test(ip)) throw new DiscoveryError("invalid_subnet", `expected an IPv4 address like 192.168.1.20: current value is ${JSON.stringify(String(ip).slice(0, 40))}`);
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** 3232235796 → `192.168.1.20`. */
export function intToIp(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`Cannot format an IPv4 address: ${n} is not a 32-bit unsigned integer`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses `a.b.c.d/p` (or a bare address, taken as /32). Host bits are cleared; prefixes below MIN_PREFIX are refused. */
export function parseCidr(text: string): Subnet {
  const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(typeof text === "string" ? text.trim() : "");
  if (!m) throw new DiscoveryError("invalid_subnet", `expected an IPv4 CIDR like 192.168.1.0/24: current value is ${JSON.stringify(String(text).slice(0, 40))}`);
  const prefix = m[2] === undefined ? 32 : Number(m[2]);
  if (prefix > 32) throw new DiscoveryError("invalid_subnet", `prefix must be 0-32: current value is ${JSON.stringify(text)}`);
  if (prefix < MIN_PREFIX) throw new DiscoveryError("too_large", `subnet ${text} is larger than a /${MIN_PREFIX}: refusing to scan ${2 ** (32 - prefix)} addresses`, { cidr: text });
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ipToInt(m[1]!) / size) * size;
  return { cidr: `${intToIp(first)}/${prefix}`, prefix, first, last: first + size - 1 };
}

/** Whether `inner` lies entirely inside `outer`. */
export const subnetContains = (outer: Subnet, inner: Subnet): boolean => inner.first >= outer.first && inner.last <= outer.last;

/** The host addresses of a subnet: without network and broadcast addresses, except for /31 and /32 (RFC 3021). */
export function* hostsOf(s: Subnet): Generator<string> {
  const [from, to] = s.prefix >= 31 ? [s.first, s.last] : [s.first + 1, s.last - 1];
  for (let n = from; n <= to; n++) yield intToIp(n);
}

/** Number of host addresses `hostsOf` yields. */
export const hostCount = (s: Subnet): number => (s.prefix >= 31 ? s.last - s.first + 1 : s.last - s.first - 1);

/** The configured subnets, and the check that a target lies inside them. */
export class ScanScope {
  readonly subnets: readonly Subnet[];

  /** Throws DiscoveryError("invalid_subnet" | "too_large") naming the bad entry; an empty list scans nothing. */
  constructor(subnets: readonly string[]) {
    this.subnets = subnets.map((s, i) => {
      try {
        return parseCidr(s);
      } catch (e) {
        if (e instanceof DiscoveryError) throw new DiscoveryError(e.code, `subnets[${i}]: ${e.message}`, e.details);
        throw e;
      }
    });
  }

  /** Whether every address of `target` (a CIDR or an address) is inside a configured subnet. */
  allows(target: string): boolean {
    try {
      const t = parseCidr(target);
      return this.subnets.some((s) => subnetContains(s, t));
    } catch {
      return false;
    }
  }

  /**
   * The subnet `target` names, if it is inside the scope. Throws DiscoveryError("out_of_scope") otherwise —
   * the one place a scan target is accepted, so nothing outside the configured subnets is ever probed.
   */
  check(target: string): Subnet {
    const t = parseCidr(target);
    if (!this.subnets.some((s) => subnetContains(s, t))) {
      const configured = this.subnets.map((s) => s.cidr).join(", ") || "none";
      throw new DiscoveryError("out_of_scope", `${t.cidr} is outside the configured discovery subnets (${configured}): refusing to scan it`, { target: t.cidr, subnets: this.subnets.map((s) => s.cidr) });
    }
    return t;
  }
}
