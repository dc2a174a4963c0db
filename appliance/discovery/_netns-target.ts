/**
 * Test tool (not shipped behaviour): a simulated device inside a network namespace. Run with
 * `ip netns exec <ns> node --import tsx appliance/discovery/_netns-target.ts '<json>'` where json is
 * `{ip, tcp: number[], netbios?: {name, group, dc?, mac: number[]}, mdns?: string, dns?: Record<ip, name>}`.
 * Opens the listeners and responders, prints `ready`, prints `conn <port>` for every TCP connection, and runs
 * until its stdin closes.
 */
import { listen, nbstatResponse, ptrResponse, questionName, udpResponder } from "./_test-responders.ts";

interface Spec {
  ip: string;
  tcp: number[];
  netbios?: { name: string; group: string; dc?: boolean; mac: number[] };
  mdns?: string;
  dns?: Record<string, string>;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
const rev = (ip: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
const closers: (() => Promise<void>)[] = [];
const l = await listen(spec.tcp.map((p) => [spec.ip, p] as const));
closers.push(l.close);
const seen = new Map<string, number>();
setInterval(() => {
  for (const [k, n] of l.connections) {
    for (let i = seen.get(k) ?? 0; i < n; i++) process.stdout.write(`conn ${k.split(":")[1]}\n`);
    seen.set(k, n);
  }
}, 20);
const nb = spec.netbios;
if (nb) closers.push((await udpResponder(spec.ip, 137, (q) => nbstatResponse((q[0]! << 8) | q[1]!, nb))).close);
const mdns = spec.mdns;
if (mdns) closers.push((await udpResponder(spec.ip, 5353, (q) => (questionName(q) === rev(spec.ip) ? ptrResponse(q, mdns) : null))).close);
const dns = spec.dns;
if (dns) {
  const byName = new Map(Object.entries(dns).map(([ip, name]) => [rev(ip), name]));
  closers.push((await udpResponder(spec.ip, 53, (q) => {
    const target = byName.get(questionName(q) ?? "");
    return target ? ptrResponse(q, target) : null;
  })).close);
}
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", async () => {
  for (const c of closers) await c();
  process.exit(0);
});
