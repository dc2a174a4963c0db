/**
 * A small DNS message codec (RFC 1035 §4, with mDNS's cache-flush and unicast-response bits from RFC 6762
 * §10.2 and §5.4): enough to send a probe or a query and read the answers. Used by the name prober (our own
 * conflict detection, which bonjour-service lacks for host names) and by the tests' mDNS client, which must
 * not be bonjour-service. Decoding is bounded: untrusted packets from the LAN cannot loop or allocate much.
 */

export const RR_TYPES = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;
export type RrTypeName = keyof typeof RR_TYPES;

/** Most records read per section; a real mDNS packet carries a handful. */
export const MAX_RECORDS_PER_SECTION = 64;
/** Compression pointers followed per name at most (a pointer loop would otherwise never end). */
export const MAX_POINTER_JUMPS = 32;
const MAX_NAME_LENGTH = 255;

export interface Question {
  name: string;
  type: RrTypeName;
  /** Ask for a unicast answer (the QU bit). */
  unicast?: boolean;
}

export type RecordData = string | string[] | { priority: number; weight: number; port: number; target: string } | null;

export interface ResourceRecord {
  name: string;
  /** Numeric type; `typeName` when it is one we know. */
  type: number;
  typeName: RrTypeName | null;
  ttl: number;
  /** A/AAAA: address text; PTR: a name; SRV: target and port; TXT: strings; other types: null. */
  data: RecordData;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  questions: { name: string; type: number }[];
  answers: ResourceRecord[];
  additionals: ResourceRecord[];
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, "").split(".")) {
    const bytes = new TextEncoder().encode(label);
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`Cannot encode the DNS name ${JSON.stringify(name)}: a label must have 1 to 63 bytes`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  if (out.length > MAX_NAME_LENGTH) throw new RangeError(`Cannot encode the DNS name ${JSON.stringify(name)}: longer than ${MAX_NAME_LENGTH} bytes`);
  return out;
}

/** A query message (mDNS queries use id 0 and no flags). */
export function encodeQuery(questions: readonly Question[], id = 0): Uint8Array {
  const out = [id >> 8, id & 0xff, 0, 0, 0, questions.length, 0, 0, 0, 0, 0, 0];
  for (const q of questions) out.push(...encodeName(q.name), 0, RR_TYPES[q.type], q.unicast ? 0x80 : 0, 1);
  return new Uint8Array(out);
}

class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError("DNS message is truncated");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return this.u16() * 65536 + this.u16();
  }
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    let jumps = 0;
    let length = 0;
    for (;;) {
      if (pos >= this.buf.length) throw new RangeError("DNS name runs past the message");
      const len = this.buf[pos]!;
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new RangeError("DNS name pointer is truncated");
        if (++jumps > MAX_POINTER_JUMPS) throw new RangeError("DNS name has too many compression pointers");
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        if (!jumped) this.pos = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (len === 0) {
        if (!jumped) this.pos = pos + 1;
        break;
      }
      if (len > 63) throw new RangeError("DNS label is longer than 63 bytes");
      if (pos + 1 + len > this.buf.length) throw new RangeError("DNS label runs past the message");
      length += len + 1;
      if (length > MAX_NAME_LENGTH) throw new RangeError("DNS name is longer than 255 bytes");
      labels.push(new TextDecoder().decode(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    return labels.join(".");
  }
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

function typeNameOf(type: number): RrTypeName | null {
  for (const [name, value] of Object.entries(RR_TYPES)) if (value === type) return name as RrTypeName;
  return null;
}

function record(r: Reader): ResourceRecord {
  const name = r.name();
  const type = r.u16();
  r.u16(); // class (top bit: mDNS cache-flush)
  const ttl = r.u32();
  const len = r.u16();
  r.need(len);
  const end = r.pos + len;
  const rdata = r.buf.subarray(r.pos, end);
  let data: RecordData = null;
  if (type === RR_TYPES.A && len === 4) data = [...rdata].join(".");
  else if (type === RR_TYPES.AAAA && len === 16) data = ipv6Text(rdata);
  else if (type === RR_TYPES.PTR) data = r.name();
  else if (type === RR_TYPES.SRV && len >= 7) data = { priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
  else if (type === RR_TYPES.TXT) {
    const strings: string[] = [];
    for (let i = 0; i < rdata.length; ) {
      const n = rdata[i]!;
      strings.push(new TextDecoder().decode(rdata.subarray(i + 1, i + 1 + n)));
      i += 1 + n;
    }
    data = strings;
  }
  r.pos = end;
  return { name, type, typeName: typeNameOf(type), ttl, data };
}

/** Decodes a DNS message. Throws RangeError on a malformed or oversized one. */
export function decodeMessage(buf: Uint8Array): DnsMessage {
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  if (counts.some((n) => n > MAX_RECORDS_PER_SECTION)) throw new RangeError(`DNS message has more than ${MAX_RECORDS_PER_SECTION} records in a section`);
  const questions: DnsMessage["questions"] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const name = r.name();
    const type = r.u16();
    r.u16();
    questions.push({ name, type });
  }
  const section = (n: number) => Array.from({ length: n }, () => record(r));
  const answers = section(counts[1]!);
  section(counts[2]!); // authorities: probe tie-breaking data, not needed here
  const additionals = section(counts[3]!);
  return { id, response: (flags & 0x8000) !== 0, questions, answers, additionals };
}

/** DNS names compare case-insensitively (RFC 4343), without a trailing dot. */
export function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();
}
