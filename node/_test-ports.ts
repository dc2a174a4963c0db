/**
 * Loopback ports for tests that start a real server (sqld, sshd, rsyslog, the relay, the demo) on a port
 * they must name up front. The one owner of "find a free port" for the test suite.
 */
import { createServer } from "node:net";

/** Whether TCP `port` on 127.0.0.1 can be bound right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port the kernel just handed out on 127.0.0.1 and that is free again, for a server about to bind it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("the probe server has no port"))));
    });
  });
}

/**
 * A base port such that it and the `length - 1` after it are free on 127.0.0.1 (the demo takes three in a row).
 * Drawn from 20000-31999, below Linux's ephemeral range (32768+) where the kernel hands out the ports of every
 * other test's port-0 servers and outgoing connections: a random pick in that range once collided during CI.
 */
export async function freePortRun(length: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - length));
    let free = true;
    for (let i = 0; i < length && free; i++) free = await canBind(base + i);
    if (free) return base;
  }
  throw new Error(`no ${length} free consecutive loopback ports found between 20000 and 31999`);
}
