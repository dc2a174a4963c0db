/**
 * TCP connect probe (Node adapter): opens a connection and closes it at once, sending no data. The answer
 * tells us about the port and the host:
 *
 * - `open`: the handshake completed (a service listens).
 * - `closed`: the host answered with a reset — the port is closed but the host is alive.
 * - `unreachable`: no route or no ARP answer (EHOSTUNREACH, ENETUNREACH) — nobody is at that address.
 * - `filtered`: no answer within the timeout (a firewall drops it, or nobody is there off-segment).
 */
import { Socket } from "node:net";

export type ProbeResult = "open" | "closed" | "filtered" | "unreachable";

/** Probes one TCP port; never rejects (an abort resolves as `filtered`). */
export type ConnectProbe = (ip: string, port: number, timeoutMs: number, signal?: AbortSignal) => Promise<ProbeResult>;

const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL"]);

export const tcpConnectProbe: ConnectProbe = (ip, port, timeoutMs, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve("filtered");
    const socket = new Socket();
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => done("filtered");
    const timer = setTimeout(() => done("filtered"), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done("open"));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "closed" : UNREACHABLE.has(e.code ?? "") ? "unreachable" : "filtered"));
    socket.connect({ host: ip, port });
  });
