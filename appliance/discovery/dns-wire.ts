/**
 * The few DNS-format messages discovery sends and reads (pure, no I/O):
 *
 * - a PTR query for an address's reverse name (`20.1.168.192.in-addr.arpa`), sent unicast to the device's
 *   mDNS port 5353 — a "legacy unicast" query (RFC 6762 §6.7) that Bonjour/avahi responders answer directly;
 * - a NetBIOS node status request (RFC 1002 §4.2.17) to UDP 137, whose answer (§4.2.18) lists the names a
 *   Windows machine registered (computer name, workgroup/domain) and its MAC ("unit id").
 *
 * Answers are untrusted bytes from the network: every read is bounds-checked, compression pointers are
 * followed at most MAX_POINTER_JUMPS times, and a malformed message throws a RangeError (callers treat that
 * as "no name"), never reads past the buffer.
 */

export const TYPE_PTR = 12;
export const TYPE_NBSTAT = 0x21;
const CLASS_IN = 1;
/** Compression pointers followed in one name: more means a loop or garbage. */
export const MAX_POINTER_JUMPS = 16;
/** Answer records read from one message. */
export const MAX_ANSWERS = 32;
/** Names in a node status answer (the count is one byte anyway). */
export const MAX_NBSTAT_NAMES = 255;

/** `192.168.1.20` → `20.1.168.192.in-addr.arpa`. */
export const reverseName = (ip: string): string => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;

function header(id: number, flags: number, qd: number): number[] {
  return [id >> 8, id & 255, flags >> 8, flags & 255, 0, qd, 0, 0, 0, 0, 0, 0];
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".").filter(Boolean)) {
    const bytes = new TextEncoder().encode(label);
    if (bytes.length > 63) throw new RangeError(`DNS label longer than 63 bytes: ${label.slice(0, 20)}…`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

/** A standard query (no recursion) for one name and type. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  return new Uint8Array([...header(id, 0x0000, 1), ...encodeName(name), type >> 8, type & 255, 0, CLASS_IN]);
}

/** NetBIOS first-level encoding of the wildcard name `*` (RFC 1001 §14.1): 32 characters `CKAAAA…`. */
const NBSTAT_WILDCARD = [0x2a, ...new Array<number>(15).fill(0)].flatMap((b) => [0x41 + (b >> 4), 0x41 + (b & 15)]);

/** A NetBIOS node status request for the wildcard name (RFC 1002 §4.2.17). */
export function encodeNbstatQuery(id: number): Uint8Array {
  return new Uint8Array([...header(id, 0x0000, 1), 32, ...NBSTAT_WILDCARD, 0, 0, TYPE_NBSTAT, 0, CLASS_IN]);
}

function u16(buf: Uint8Array, at: number): number {
  if (at + 2 > buf.length) throw new RangeError(`DNS message truncated at byte ${at}`);
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** Reads a (possibly compressed) name at `at`; returns it and the offset after it in the original position. */
export function readName(buf: Uint8Array, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = at;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new RangeError(`DNS name runs past the message at byte ${pos}`);
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (++jumps > MAX_POINTER_JUMPS) throw new RangeError("DNS name has too many compression pointers");
      if (next < 0) next = pos + 2;
      pos = u16(buf, pos) & 0x3fff;
      continue;
    }
    if (len > 63) throw new RangeError(`DNS label length ${len} is invalid`);
    if (pos + 1 + len > buf.length) throw new RangeError(`DNS label runs past the message at byte ${pos}`);
    labels.push(new TextDecoder().decode(buf.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.join("."), next };
}

export interface Answer {
  name: string;
  type: number;
  /** Offset of the record data in the message (PTR data may point back into it). */
  dataAt: number;
  dataLength: number;
}

/** The id, response flag and answer records of a DNS-format message. */
export function decodeMessage(buf: Uint8Array): { id: number; response: boolean; answers: Answer[] } {
  const id = u16(buf, 0);
  const flags = u16(buf, 2);
  const qd = u16(buf, 4);
  const an = Math.min(u16(buf, 6), MAX_ANSWERS);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(buf, pos).next + 4;
  const answers: Answer[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, pos);
    const type = u16(buf, next);
    const dataLength = u16(buf, next + 8);
    const dataAt = next + 10;
    if (dataAt + dataLength > buf.length) throw new RangeError(`DNS record data runs past the message at byte ${dataAt}`);
    answers.push({ name, type, dataAt, dataLength });
    pos = dataAt + dataLength;
  }
  return { id, response: (flags & 0x8000) !== 0, answers };
}

/** The target of the first PTR answer for `name` in a response with this id, or null. */
export function ptrAnswer(buf: Uint8Array, id: number, name: string): string | null {
  const m = decodeMessage(buf);
  if (!m.response || m.id !== id) return null;
  const a = m.answers.find((x) => x.type === TYPE_PTR && x.name.toLowerCase() === name.toLowerCase());
  return a ? readName(buf, a.dataAt).name : null;
}

export interface NodeStatus {
  /** Unique names with their suffix (0x00 workstation, 0x20 file server service, …). */
  names: { name: string; suffix: number; group: boolean }[];
  /** The adapter's MAC ("unit id"), lower case; null when all zero (Samba reports zeros). */
  mac: string | null;
}

/** Parses a node status response with this id (RFC 1002 §4.2.18), or null if it is not one. */
export function parseNodeStatus(buf: Uint8Array, id: number): NodeStatus | null {
  const m = decodeMessage(buf);
  if (!m.response || m.id !== id) return null;
  const a = m.answers.find((x) => x.type === TYPE_NBSTAT);
  if (!a) return null;
  const end = a.dataAt + a.dataLength;
  const count = Math.min(buf[a.dataAt] ?? 0, MAX_NBSTAT_NAMES);
  const names: NodeStatus["names"] = [];
  let pos = a.dataAt + 1;
  for (let i = 0; i < count; i++, pos += 18) {
    if (pos + 18 > end) throw new RangeError("NetBIOS node status name table runs past its record");
    const raw = buf.subarray(pos, pos + 15);
    const name = String.fromCharCode(...raw).replace(/[\s\0]+$/, "");
    const flags = u16(buf, pos + 16);
    if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(name)) continue;
    names.push({ name, suffix: buf[pos + 15]!, group: (flags & 0x8000) !== 0 });
  }
  let mac: string | null = null;
  if (pos + 6 <= end) {
    const unit = [...buf.subarray(pos, pos + 6)];
    if (unit.some((b) => b !== 0)) mac = unit.map((b) => b.toString(16).padStart(2, "0")).join(":");
  }
  return { names, mac };
}
