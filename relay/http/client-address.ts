/**
 * The caller's address for per-address rate limits, with an explicit list of trusted reverse proxies
 * (`osiris relay serve --trust-proxy CIDR[,CIDR]`, none by default).
 *
 * X-Forwarded-For is only believed when the TCP peer is a trusted proxy, and then only as far as the chain of
 * trusted proxies goes: walking the header from the right (the entry the nearest proxy appended), every
 * trusted address is skipped and the first untrusted one is the client. Entries further left were written by
 * whoever sent the request and are never used. With no trusted proxies, or a peer that is not one, the peer
 * address is the caller, whatever the headers say.
 */

/** A CIDR block: IPv4 and IPv6 as 128-bit numbers (IPv4 as IPv4-mapped IPv6, so both compare alike). */
export interface AddressBlock {
  /** The block as given with its prefix, e.g. `10.0.0.0/8`, `fd00::/8`, `192.0.2.7/32`. */
  cidr: string;
  first: bigint;
  last: bigint;
}

export type TrustedProxies = readonly AddressBlock[];

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAPPED_PREFIX = 0xffffn << 32n;

function ipv4(text: string): bigint | null {
  const m = V4.exec(text);
  if (!m) return null;
  let n = 0n;
  for (const part of m.slice(1)) {
    const o = Number(part);
    if (o > 255 || (part.length > 1 && part.startsWith("0"))) return null;
    n = (n << 8n) | BigInt(o);
  }
  return MAPPED_PREFIX | n;
}

function ipv6(text: string): bigint | null {
  let t = text;
  let tail: bigint | null = null;
  const lastColon = t.lastIndexOf(":");
  if (lastColon >= 0 && t.slice(lastColon + 1).includes(".")) {
    const v4 = ipv4(t.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = v4 & 0xffff_ffffn;
    t = `${t.slice(0, lastColon + 1)}0:0`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let n = 0n;
  for (const g of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return tail === null ? n : (n & ~0xffff_ffffn) | tail;
}

/** An IPv4 or IPv6 address (zone id dropped) as a 128-bit number; IPv4 and ::ffff:a.b.c.d are the same. Null when not an address. */
export function parseAddress(text: string): bigint | null {
  const t = text.trim().replace(/%.*$/, "");
  return t.includes(":") ? ipv6(t) : ipv4(t);
}

/** Parses one CIDR (`10.0.0.0/8`, `2001:db8::/32`, or a bare address); throws RangeError naming what was wrong. */
export function parseAddressBlock(text: string): AddressBlock {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const address = m ? parseAddress(m[1]!) : null;
  if (!m || address === null) throw new RangeError(`expected an IP address or CIDR such as 10.0.0.0/8 or fd00::/8: current value is ${JSON.stringify(text)}`);
  const isV4 = !m[1]!.includes(":");
  const max = isV4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) throw new RangeError(`prefix of ${JSON.stringify(text)} must be 0-${max}`);
  const hostBits = BigInt(max - prefix);
  const first = (address >> hostBits) << hostBits;
  const last = first | ((1n << hostBits) - 1n);
  return { cidr: `${m[1]}/${prefix}`, first, last };
}

/** Parses `CIDR[,CIDR...]` (the --trust-proxy value; empty entries ignored). Throws RangeError. */
export function parseTrustedProxies(spec: string): TrustedProxies {
  return spec
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map(parseAddressBlock);
}

export function isTrusted(address: string, trusted: TrustedProxies): boolean {
  const n = parseAddress(address);
  return n !== null && trusted.some((b) => n >= b.first && n <= b.last);
}

/**
 * The client address for a request whose TCP peer is `peer` and whose X-Forwarded-For header (all values,
 * comma-joined) is `forwardedFor`; see the module comment.
 */
export function clientAddress(peer: string, forwardedFor: string | null, trusted: TrustedProxies): string {
  if (trusted.length === 0 || !isTrusted(peer, trusted) || !forwardedFor) return peer;
  const hops = forwardedFor.split(",").map((h) => h.trim());
  let nearest = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A malformed entry ends the chain: the last trusted hop is as near to the client as we can tell.
    if (parseAddress(hop) === null) return nearest;
    if (!isTrusted(hop, trusted)) return hop;
    nearest = hop;
  }
  // Every hop is a trusted proxy: the left-most is the nearest to the client we know.
  return nearest;
}
