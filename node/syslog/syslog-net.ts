/**
 * Node transports for syslog (the runtime edge of the syslog output): UDP (RFC 5426, one message per
 * datagram), TCP (RFC 6587 octet-counting framing) and TLS (RFC 5425, the same framing inside TLS). Each
 * returns a `SyslogConnect` for `SyslogSender`.
 *
 * TLS trust: with `ca` (or `caFile`), the receiver's chain and name are verified against that CA; with `pinSha256`, the
 * receiver's leaf certificate must have that SHA-256 fingerprint (with or without a CA: a pin alone is how
 * MSPs use a self-signed SIEM certificate); with neither, the system CAs are used. A pin mismatch fails the
 * connection before a byte of the message is sent.
 */
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { connect as netConnect, isIP, isIPv6, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { SyslogConnect, SyslogConnection } from "./syslog-sender.ts";

export type SyslogTransport = "udp" | "tcp" | "tls";

export interface SyslogTlsOptions {
  /** PEM CA bundle the receiver's certificate must chain to. */
  ca?: string | Uint8Array;
  /** Path of a PEM CA bundle, read once when the connector is created (instead of `ca`). */
  caFile?: string;
  /** SHA-256 fingerprint of the receiver's certificate (hex, colons and case ignored). */
  pinSha256?: string;
  /** Name to verify and send as SNI when it differs from `host`. */
  servername?: string;
  /** Client certificate and key (PEM) for receivers that require mutual TLS. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
}

export interface SyslogEndpoint {
  transport: SyslogTransport;
  host: string;
  port: number;
  tls?: SyslogTlsOptions;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, so messages may contain newlines. */
export function octetCountingFrame(message: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`${message.length} `);
  const frame = new Uint8Array(prefix.length + message.length);
  frame.set(prefix);
  frame.set(message, prefix.length);
  return frame;
}

/** Lower-case hex without separators, the form pins are compared in. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/[:\s]/g, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new RangeError(`Cannot pin a syslog TLS certificate as the SHA-256 fingerprint must be 64 hex digits: current value is ${JSON.stringify(fingerprint)}`);
  }
  return hex;
}

function validate(endpoint: SyslogEndpoint): void {
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65_535) {
    throw new RangeError(`Cannot connect to syslog as 'port' must be an integer in 1-65535: current value is ${endpoint.port}`);
  }
  if (endpoint.host === "") throw new RangeError("Cannot connect to syslog as 'host' is empty");
  if (endpoint.tls !== undefined && endpoint.transport !== "tls") {
    throw new RangeError(`Cannot connect to syslog as TLS options were given for transport ${endpoint.transport}`);
  }
  if (endpoint.tls?.pinSha256 !== undefined) normalizeFingerprint(endpoint.tls.pinSha256);
  if (endpoint.tls?.ca !== undefined && endpoint.tls.caFile !== undefined) {
    throw new RangeError("Cannot connect to syslog as both 'ca' and 'caFile' were given: use one");
  }
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RangeError(`Cannot connect to syslog as the CA file ${JSON.stringify(path)} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Resolve with the socket once `ready` fires; destroy it and reject on error or abort. */
function opened<T extends Socket>(socket: T, ready: "connect" | "secureConnect", signal: AbortSignal, check?: (s: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", onError);
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error("syslog connect aborted"));
    };
    const onError = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once(ready, () => {
      cleanup();
      try {
        check?.(socket);
      } catch (error) {
        socket.destroy();
        return reject(error);
      }
      resolve(socket);
    });
  });
}

function streamConnection(socket: Socket): SyslogConnection {
  let closed = false;
  socket.on("error", () => (closed = true)); // surfaced through the next write; never an unhandled error
  socket.on("close", () => (closed = true));
  socket.resume(); // receivers do not talk back; discard anything they send so the socket never stalls
  return {
    get closed() {
      return closed || socket.destroyed;
    },
    write(message) {
      return new Promise<void>((resolve, reject) => {
        if (closed || socket.destroyed) return reject(new Error("syslog connection is closed"));
        socket.write(octetCountingFrame(message), (error) => (error ? reject(error) : resolve()));
      });
    },
    close() {
      closed = true;
      socket.destroy();
    },
  };
}

function udpConnection(socket: UdpSocket): SyslogConnection {
  let closed = false;
  // A connected UDP socket reports ICMP port-unreachable as an error on a later send; reconnecting is harmless.
  socket.on("error", () => (closed = true));
  socket.on("close", () => (closed = true));
  return {
    get closed() {
      return closed;
    },
    write(message) {
      return new Promise<void>((resolve, reject) => {
        if (closed) return reject(new Error("syslog socket is closed"));
        socket.send(message, (error) => (error ? reject(error) : resolve()));
      });
    },
    close() {
      if (!closed) socket.close();
      closed = true;
    },
  };
}

function connectUdp(host: string, port: number, signal: AbortSignal): Promise<SyslogConnection> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
    const fail = (error: Error) => {
      signal.removeEventListener("abort", onAbort);
      socket.close();
      reject(error);
    };
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error("syslog connect aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.connect(port, host, () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", fail);
      resolve(udpConnection(socket));
    });
  });
}

function checkPin(pin: string | undefined): ((socket: TLSSocket) => void) | undefined {
  if (pin === undefined) return undefined;
  const expected = normalizeFingerprint(pin);
  return (socket) => {
    const raw = socket.getPeerCertificate().raw as Buffer | undefined;
    const actual = raw === undefined ? "none" : createHash("sha256").update(raw).digest("hex");
    if (actual !== expected) {
      throw new Error(`syslog TLS certificate does not match the pinned SHA-256 fingerprint: expected ${expected}, received ${actual}`);
    }
  };
}

/** A `SyslogConnect` for the endpoint. Validates the endpoint now, so a bad config fails at start-up. */
export function syslogConnector(endpoint: SyslogEndpoint): SyslogConnect {
  validate(endpoint);
  const { host, port } = endpoint;
  switch (endpoint.transport) {
    case "udp":
      return (signal) => connectUdp(host, port, signal);
    case "tcp":
      return async (signal) => streamConnection(await opened(netConnect({ host, port }), "connect", signal));
    case "tls": {
      const tls = endpoint.tls ?? {};
      const ca = tls.caFile !== undefined ? readCa(tls.caFile) : tls.ca === undefined ? undefined : Buffer.from(tls.ca);
      const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined); // SNI must not be an IP address
      // A pin without a CA replaces chain validation (self-signed receivers); with a CA, both must hold.
      const pinOnly = tls.pinSha256 !== undefined && ca === undefined;
      const check = checkPin(tls.pinSha256);
      return async (signal) => {
        const socket = tlsConnect({
          host,
          port,
          ...(servername === undefined ? {} : { servername }),
          ...(ca === undefined ? {} : { ca }),
          ...(tls.cert === undefined ? {} : { cert: Buffer.from(tls.cert) }),
          ...(tls.key === undefined ? {} : { key: Buffer.from(tls.key) }),
          rejectUnauthorized: !pinOnly,
          minVersion: "TLSv1.2",
        });
        return streamConnection(await opened(socket, "secureConnect", signal, check));
      };
    }
  }
}
