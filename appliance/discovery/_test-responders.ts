/**
 * Test fixtures (not shipped behaviour): real TCP listeners and small UDP responders bound to loopback or
 * namespace addresses, built from the RFC message formats by hand (not from dns-wire.ts's encoders, so the
 * decoder is checked against an independent encoding). Every socket is closed by `close()`.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server } from "node:net";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const labels = (name: string) => [...name.split(".").flatMap((l) => [l.length, ...ascii(l)]), 0];

export interface Listeners {
  /** Connections accepted per "ip:port". */
  connections: Map<string, number>;
  close(): Promise<void>;
}

/** TCP listeners on each ip:port; each accepted connection is counted and closed. */
export async function listen(targets: readonly (readonly [string, number])[]): Promise<Listeners> {
  const servers: Server[] = [];
  const connections = new Map<string, number>();
  for (const [ip, port] of targets) {
    const key = `${ip}:${port}`;
    connections.set(key, 0);
    const server = createServer((sock) => {
      connections.set(key, connections.get(key)! + 1);
      sock.on("error", () => undefined);
      sock.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: ip, port }, () => resolve());
    });
    servers.push(server);
  }
  return { connections, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) };
}

/** RFC 1002 §4.2.18 node status response. */
export function nbstatResponse(id: number, o: { name: string; group: string; dc?: boolean; mac: readonly number[] }): Uint8Array {
  const pad = (s: string) => ascii(s.padEnd(15, " "));
  const entries = [
    [...pad(o.name), 0x00, 0x04, 0x00],
    [...pad(o.group), 0x00, 0x84, 0x00],
    [...pad(o.name), 0x20, 0x04, 0x00],
    ...(o.dc ? [[...pad(o.group), 0x1c, 0x84, 0x00]] : []),
  ];
  const rdata = [entries.length, ...entries.flat(), ...o.mac, ...new Array<number>(40).fill(0)];
  return new Uint8Array([id >> 8, id & 255, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x20, ...ascii("CK" + "A".repeat(30)), 0, 0, 0x21, 0, 1, 0, 0, 0, 0, rdata.length >> 8, rdata.length & 255, ...rdata]);
}

/** A DNS PTR answer to `query`: its question echoed, the answer name compressed to offset 12. */
export function ptrResponse(query: Uint8Array, target: string): Uint8Array {
  let pos = 12;
  while (pos < query.length && query[pos] !== 0) pos += query[pos]! + 1;
  const question = [...query.subarray(12, pos + 5)];
  const rdata = labels(target);
  return new Uint8Array([query[0]!, query[1]!, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0, ...question, 0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 10, rdata.length >> 8, rdata.length & 255, ...rdata]);
}

/** Reads the PTR question's name of a query (lower-case), or null. */
export function questionName(q: Uint8Array): string | null {
  const parts: string[] = [];
  let pos = 12;
  while (pos < q.length && q[pos] !== 0) {
    const len = q[pos]!;
    parts.push(String.fromCharCode(...q.subarray(pos + 1, pos + 1 + len)));
    pos += len + 1;
  }
  return parts.length ? parts.join(".").toLowerCase() : null;
}

export interface Responder {
  queries: number;
  close(): Promise<void>;
}

/** A UDP responder on ip:port answering each datagram with `answer(query)` (null: stay silent). */
export async function udpResponder(ip: string, port: number, answer: (q: Uint8Array) => Uint8Array | null): Promise<Responder> {
  const socket: UdpSocket = createSocket({ type: "udp4", reuseAddr: false });
  const r: Responder = { queries: 0, close: () => new Promise((res) => socket.close(() => res())) };
  socket.on("message", (msg, rinfo) => {
    r.queries++;
    const out = answer(new Uint8Array(msg));
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: ip, port }, () => resolve());
  });
  return r;
}

/**
 * A loopback /24 prefix (`127.A.B`) for one test file in this process: A from the process id, B the file's
 * tag, so concurrent runs of the suite (several people, the parallel runner) never bind the same address.
 */
export function loopbackNet(tag: number): string {
  return `127.${16 + (process.pid % 200)}.${tag}`;
}
