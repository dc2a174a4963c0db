/**
 * SNTP (RFC 4330) offset measurement for the appliance's `time.offset_ms_abs`: one client request to each
 * configured server, the offset ((T2 − T1) + (T3 − T4)) / 2 of each answer, and the median when at least
 * MIN_SNTP_ANSWERS servers answered (null otherwise: one server cannot outvote a wrong clock). An answer counts
 * only if it is a server-mode reply to *our* request (its origin timestamp equals what we sent), synchronised
 * (leap indicator not 3, stratum 1–15). Times come from the injected clock, so tests can skew it.
 */
import { createSocket } from "node:dgram";
import { isIP } from "node:net";
import type { Clock } from "../../engine/types.ts";

export const NTP_PORT = 123;
/** Fewest answers for a median: with three, one bad server cannot move it far. */
export const MIN_SNTP_ANSWERS = 3;
/** Most servers asked per measurement. */
export const MAX_SNTP_SERVERS = 8;
/** A LAN or ISP time server answers in milliseconds; 2 s allows a slow uplink. */
export const SNTP_TIMEOUT_MS = 2_000;
/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const PACKET_BYTES = 48;

export interface SntpServer {
  readonly host: string;
  readonly port?: number;
}

function writeTime(buf: Uint8Array, at: number, ms: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const seconds = Math.floor(ms / 1000) + NTP_UNIX_OFFSET_S;
  view.setUint32(at, seconds >>> 0);
  view.setUint32(at + 4, Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0);
}

function readTime(buf: Uint8Array, at: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return (view.getUint32(at) - NTP_UNIX_OFFSET_S) * 1000 + (view.getUint32(at + 4) / 2 ** 32) * 1000;
}

/** One server's offset in ms (positive: the server is ahead of our clock), or undefined. */
async function query(server: SntpServer, clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  const family = isIP(server.host) === 6 ? "udp6" : "udp4";
  const socket = createSocket(family);
  return await new Promise<number | undefined>((resolve) => {
    let done = false;
    const finish = (v: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.close();
      resolve(v);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    const request = new Uint8Array(PACKET_BYTES);
    request[0] = 0x23; // LI 0, version 4, mode 3 (client)
    const t1 = clock.now();
    writeTime(request, 40, t1);
    const sent = request.slice(40, 48);
    socket.on("error", () => finish(undefined));
    socket.on("message", (msg: Buffer) => {
      const t4 = clock.now();
      if (msg.length < PACKET_BYTES) return;
      const b = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
      const li = b[0]! >> 6;
      const mode = b[0]! & 7;
      const stratum = b[1]!;
      if (mode !== 4 || li === 3 || stratum < 1 || stratum > 15) return finish(undefined);
      if (!b.slice(24, 32).every((x, i) => x === sent[i])) return; // not an answer to our request
      const t2 = readTime(b, 32);
      const t3 = readTime(b, 40);
      finish((t2 - t1 + (t3 - t4)) / 2);
    });
    socket.send(request, server.port ?? NTP_PORT, server.host, (err) => {
      if (err) finish(undefined);
    });
  });
}

/**
 * Median offset (ms, signed) over the servers that answered, or null when fewer than MIN_SNTP_ANSWERS did.
 * The appliance's fact is its absolute value.
 */
export async function measureNtpOffset(servers: readonly SntpServer[], o: { readonly clock: Clock; readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<number | null> {
  if (servers.length > MAX_SNTP_SERVERS) throw new RangeError(`Cannot ask more than ${MAX_SNTP_SERVERS} time servers: current count is ${servers.length}`);
  const answers = (await Promise.all(servers.map((s) => query(s, o.clock, o.timeoutMs ?? SNTP_TIMEOUT_MS, o.signal)))).filter((v): v is number => v !== undefined);
  if (answers.length < MIN_SNTP_ANSWERS) return null;
  answers.sort((a, b) => a - b);
  const mid = answers.length >> 1;
  return Math.round(answers.length % 2 ? answers[mid]! : (answers[mid - 1]! + answers[mid]!) / 2);
}
