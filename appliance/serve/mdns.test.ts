import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Log } from "../engine/types.ts";
import { advertisedAddresses, MAX_NAME_ATTEMPTS, MdnsAdvertiser, type InterfaceMap, type MdnsProber, type MdnsResponder, type Publication } from "./mdns.ts";

const LAN: InterfaceMap = {
  lo: [
    { address: "127.0.0.1", family: "IPv4", internal: true },
    { address: "::1", family: "IPv6", internal: true },
  ],
  eth0: [
    { address: "192.168.1.10", family: "IPv4", internal: false },
    { address: "fe80::1", family: "IPv6", internal: false },
    { address: "fd00::10", family: "IPv6", internal: false },
  ],
  docker0: [{ address: "172.17.0.1", family: "IPv4", internal: false }],
  wg0: [{ address: "10.8.0.2", family: "IPv4", internal: false }],
};

test("advertisedAddresses() takes a specific bind address only, and only if an interface has it", () => {
  assert.equal(advertisedAddresses(LAN, ["192.168.1.10"]), { addresses: ["192.168.1.10"], interfaces: ["192.168.1.10"] });
  assert.equal(advertisedAddresses(LAN, ["192.168.1.99"]), { addresses: [], interfaces: [] });
  assert.equal(advertisedAddresses(LAN, ["127.0.0.1"]), { addresses: [], interfaces: [] });
  // A container bridge named explicitly is the operator's choice.
  assert.equal(advertisedAddresses(LAN, ["172.17.0.1"]).addresses, ["172.17.0.1"]);
});

test("advertisedAddresses() for a wildcard bind skips loopback, container bridges, VPNs and link-local IPv6", () => {
  assert.equal(advertisedAddresses(LAN, ["0.0.0.0"]), { addresses: ["192.168.1.10"], interfaces: ["192.168.1.10"] });
  assert.equal(advertisedAddresses(LAN, ["::"]), { addresses: ["192.168.1.10", "fd00::10"], interfaces: ["192.168.1.10"] });
});

interface Recorder {
  published: Publication[];
  closed: number;
  probes: string[][];
  proberClosed: number;
  watches: { name: string; fire: () => void }[];
  logs: string[];
}

function fakes(opts: { taken?: (names: readonly string[]) => string[]; serviceConflicts?: number } = {}) {
  const rec: Recorder = { published: [], closed: 0, probes: [], proberClosed: 0, watches: [], logs: [] };
  let conflicts = opts.serviceConflicts ?? 0;
  const responder = (): MdnsResponder => ({
    async publish(p) {
      if (conflicts > 0) {
        conflicts--;
        return "conflict";
      }
      rec.published.push(p);
      return "up";
    },
    async close() {
      rec.closed++;
    },
  });
  const prober = (): MdnsProber => ({
    async probe(names) {
      rec.probes.push([...names]);
      return new Set(opts.taken?.(names) ?? []);
    },
    watch(name, _own, onConflict) {
      rec.watches.push({ name, fire: onConflict });
    },
    async close() {
      rec.proberClosed++;
    },
  });
  const log: Log = { debug() {}, info: (e) => void rec.logs.push(e), warn: (e) => void rec.logs.push(e), error: (e) => void rec.logs.push(e) };
  return { rec, responder, prober, log };
}

function advertiser(f: ReturnType<typeof fakes>, ifaces: () => InterfaceMap, bind = ["192.168.1.10"]) {
  let ticks = 0;
  let cancelled = false;
  const a = new MdnsAdvertiser({
    name: "osiriscare-appliance",
    port: 8080,
    bind,
    log: f.log,
    networkInterfaces: ifaces,
    responder: f.responder,
    prober: f.prober,
    every: () => {
      ticks++;
      return () => void (cancelled = true);
    },
  });
  return { a, polling: () => ({ ticks, cancelled }) };
}

test("MdnsAdvertiser publishes <name>.local and an HTTP service with the configured addresses only", async () => {
  const f = fakes();
  const { a, polling } = advertiser(f, () => LAN);
  await a.start();
  assert.is(f.rec.published.length, 1);
  const p = f.rec.published[0]!;
  assert.is(p.host, "osiriscare-appliance.local");
  assert.is(p.instance, "OsirisCare status page");
  assert.is(p.port, 8080);
  assert.equal(p.addresses, ["192.168.1.10"]);
  assert.equal(p.txt, { path: "/" });
  assert.equal(f.rec.probes[0], ["osiriscare-appliance.local", "OsirisCare status page._http._tcp.local"]);
  assert.is(a.host, "osiriscare-appliance.local");
  assert.is(polling().ticks, 1);
  await a.stop();
});

test("MdnsAdvertiser renames to <name>-2 when another device answers for the host name", async () => {
  const f = fakes({ taken: (names) => names.filter((n) => n === "osiriscare-appliance.local") });
  const { a } = advertiser(f, () => LAN);
  await a.start();
  assert.is(f.rec.published[0]?.host, "osiriscare-appliance-2.local");
  assert.is(f.rec.published[0]?.instance, "OsirisCare status page (2)");
  assert.ok(f.rec.logs.includes("mdns_name_conflict"));
  await a.stop();
});

test("MdnsAdvertiser renames when the responder's own probe finds the service name taken", async () => {
  const f = fakes({ serviceConflicts: 1 });
  const { a } = advertiser(f, () => LAN);
  await a.start();
  assert.is(f.rec.published[0]?.host, "osiriscare-appliance-2.local");
  assert.is(f.rec.closed, 1, "the refused responder is closed");
  await a.stop();
});

test("MdnsAdvertiser re-announces when the addresses change, withdrawing the old ones first", async () => {
  const f = fakes();
  let ifaces: InterfaceMap = { eth0: [{ address: "192.168.1.10", family: "IPv4", internal: false }] };
  const { a } = advertiser(f, () => ifaces, ["0.0.0.0"]);
  await a.start();
  await a.check();
  assert.is(f.rec.published.length, 1, "unchanged addresses: nothing new");
  ifaces = { eth0: [{ address: "192.168.1.77", family: "IPv4", internal: false }] };
  await a.check();
  assert.is(f.rec.closed, 1, "goodbye for the old address");
  assert.is(f.rec.published.length, 2);
  assert.equal(f.rec.published[1]?.addresses, ["192.168.1.77"]);
  assert.is(f.rec.published[1]?.host, "osiriscare-appliance.local");
  await a.stop();
});

test("MdnsAdvertiser waits without publishing while no interface has a served address, then publishes", async () => {
  const f = fakes();
  let ifaces: InterfaceMap = { lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }] };
  const { a } = advertiser(f, () => ifaces, ["0.0.0.0"]);
  await a.start();
  await a.check();
  assert.is(f.rec.published.length, 0);
  assert.is(f.rec.logs.filter((l) => l === "mdns_no_address").length, 1, "logged once, not every poll");
  ifaces = { ...ifaces, eth0: [{ address: "10.1.2.3", family: "IPv4", internal: false }] };
  await a.check();
  assert.equal(f.rec.published[0]?.addresses, ["10.1.2.3"]);
  await a.stop();
});

test("MdnsAdvertiser renames when another device claims the host name after publishing", async () => {
  const f = fakes();
  const { a } = advertiser(f, () => LAN);
  await a.start();
  assert.is(f.rec.watches[0]?.name, "osiriscare-appliance.local");
  f.rec.watches[0]!.fire();
  await a.check(); // queued behind the republish
  assert.is(f.rec.published.at(-1)?.host, "osiriscare-appliance-2.local");
  assert.is(f.rec.closed, 1);
  await a.stop();
});

test("MdnsAdvertiser gives up after MAX_NAME_ATTEMPTS names and says so", async () => {
  const f = fakes({ taken: (names) => [...names] });
  const { a } = advertiser(f, () => LAN);
  await a.start();
  assert.is(f.rec.published.length, 0);
  assert.is(f.rec.probes.length, MAX_NAME_ATTEMPTS);
  assert.ok(f.rec.logs.includes("mdns_gave_up"));
  assert.is(f.rec.proberClosed, 1);
  await a.stop();
});

test("MdnsAdvertiser.stop() withdraws the publication, closes the sockets and stops polling; twice is fine", async () => {
  const f = fakes();
  const { a, polling } = advertiser(f, () => LAN);
  await a.start();
  await a.stop();
  await a.stop();
  assert.is(f.rec.closed, 1);
  assert.is(f.rec.proberClosed, 1);
  assert.is(polling().cancelled, true);
  assert.is(a.host, null);
  await a.check();
  assert.is(f.rec.published.length, 1, "nothing is published after stop()");
});

test("MdnsAdvertiser refuses a name that is not one DNS label", () => {
  const f = fakes();
  assert.throws(() => new MdnsAdvertiser({ name: "bad.name", port: 80, bind: [], log: f.log, networkInterfaces: () => LAN, responder: f.responder, prober: f.prober }), /one DNS label/);
});

test.run();
