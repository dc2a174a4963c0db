/**
 * Test tool: a small mDNS client on node:dgram and _mdns-wire.ts — deliberately not bonjour-service, so the
 * namespace test does not check bonjour-service with itself. Run inside a network namespace:
 *
 *   node --import tsx appliance/serve/_mdns-query.ts <interface-ipv4> <wait-ms> <name>:<TYPE> [<name>:<TYPE> ...]
 *
 * It joins 224.0.0.251 on the interface, asks every question three times (bonjour-service answers by
 * multicast only, anchors §5.2 pitfall 4, so the client listens on 5353 like a full resolver), and prints one
 * JSON line: every record received for the names asked about, deduplicated.
 */
import { createSocket } from "node:dgram";
import { decodeMessage, encodeQuery, sameName, type ResourceRecord, type RrTypeName, RR_TYPES } from "./_mdns-wire.ts";

const [iface, waitText, ...asks] = process.argv.slice(2);
const waitMs = Number(waitText);
if (!iface || !Number.isFinite(waitMs) || asks.length === 0) {
  console.error("usage: _mdns-query.ts <interface-ipv4> <wait-ms> <name>:<TYPE>...");
  process.exit(2);
}
const questions = asks.map((a) => {
  const i = a.lastIndexOf(":");
  const type = a.slice(i + 1) as RrTypeName;
  if (!(type in RR_TYPES)) throw new TypeError(`unknown record type in ${a}`);
  return { name: a.slice(0, i), type };
});

const socket = createSocket({ type: "udp4", reuseAddr: true });
const seen = new Map<string, ResourceRecord>();
socket.on("message", (buf: Buffer) => {
  try {
    const m = decodeMessage(new Uint8Array(buf));
    if (!m.response) return;
    for (const r of [...m.answers, ...m.additionals]) {
      if (!questions.some((q) => sameName(q.name, r.name)) && r.typeName !== "A" && r.typeName !== "SRV") continue;
      seen.set(JSON.stringify([r.name.toLowerCase(), r.type, r.data]), r);
    }
  } catch {
    // another host's malformed packet: not ours to judge
  }
});
socket.bind(5353, "0.0.0.0", () => {
  socket.addMembership("224.0.0.251", iface);
  socket.setMulticastInterface(iface);
  const packet = encodeQuery(questions);
  let sent = 0;
  const send = () => {
    socket.send(packet, 5353, "224.0.0.251");
    if (++sent < 3) setTimeout(send, 250);
  };
  send();
  setTimeout(() => {
    console.log(JSON.stringify([...seen.values()].map((r) => ({ name: r.name, type: r.typeName ?? r.type, ttl: r.ttl, data: r.data }))));
    socket.close();
  }, waitMs);
});
