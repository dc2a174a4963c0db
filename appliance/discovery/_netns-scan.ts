/**
 * Test tool (not shipped behaviour): runs one discovery scan with the real Node adapters (TCP probe,
 * /proc/net/arp of the current namespace, reverse DNS, mDNS, NetBIOS) inside a network namespace:
 * `ip netns exec <ns> node --import tsx appliance/discovery/_netns-scan.ts '<json>'` with
 * `{subnets, targets?, ports, exclude?, dnsServers}`. Prints the ScanResult as one JSON line.
 */
import { randomBytes } from "node:crypto";
import { ScanScope } from "./cidr.ts";
import { nodeNameSources } from "./names.ts";
import { Scanner } from "./scanner.ts";

const o = JSON.parse(process.argv[2] ?? "{}") as { subnets: string[]; targets?: string[]; ports: number[]; exclude?: string[]; dnsServers: string[] };
const scanner = new Scanner(
  { scope: new ScanScope(o.subnets), concurrency: 8, ratePerSecond: 200, connectTimeoutMs: 800, livenessProbes: 4 },
  { clock: { now: () => Date.now() }, names: nodeNameSources({ timeoutMs: 800, random: (n) => new Uint8Array(randomBytes(n)), dnsServers: o.dnsServers }) },
);
try {
  const r = await scanner.scan({ ports: o.ports, ...(o.targets ? { targets: o.targets } : {}), ...(o.exclude ? { exclude: o.exclude } : {}) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: { code: (e as { code?: string }).code, message: (e as Error).message } })}\n`);
}
