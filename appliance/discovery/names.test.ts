/**
 * Name sources against real UDP responders on loopback addresses (a 127/8 block per process): a NetBIOS
 * name service on .2:137, an mDNS responder on .3:5353, a DNS server on .9:5300. Nothing leaves the machine; the
 * system resolver is never used here.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mdnsNameSource, netbiosSource, reverseDnsSource } from "./names.ts";
import { loopbackNet, nbstatResponse, ptrResponse, questionName, udpResponder, type Responder } from "./_test-responders.ts";

const random = (n: number) => new Uint8Array(randomBytes(n));
const signal = () => new AbortController().signal;
const responders: Responder[] = [];
/** This run's loopback block (127.A.3.0/24, A from the process id). */
const NET = loopbackNet(3);
const rev = (ip: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;

test.before(async () => {
  responders.push(
    await udpResponder(`${NET}.2`, 137, (q) => nbstatResponse((q[0]! << 8) | q[1]!, { name: "DC01", group: "CLINIC", dc: true, mac: [0x00, 0x15, 0x5d, 0x01, 0x02, 0x03] })),
    await udpResponder(`${NET}.3`, 5353, (q) => (questionName(q) === rev(`${NET}.3`) ? ptrResponse(q, "xray-room.local") : null)),
    await udpResponder(`${NET}.9`, 5300, (q) => (questionName(q) === rev(`${NET}.2`) ? ptrResponse(q, "dc01.clinic.lan") : null)),
  );
});
test.after(async () => {
  for (const r of responders) await r.close();
});

test("NetBIOS node status gives the computer name, workgroup, DC role and MAC", async () => {
  const nb = netbiosSource(500, random);
  assert.equal(await nb(`${NET}.2`, signal()), { name: "DC01", group: "CLINIC", fileServer: true, domainController: true, mac: "00:15:5d:01:02:03" });
});

test("a host without a NetBIOS name service gives no name within the timeout", async () => {
  const t0 = Date.now();
  assert.is(await netbiosSource(200, random)(`${NET}.4`, signal()), null);
  assert.ok(Date.now() - t0 < 1000);
});

test("the device's own mDNS responder names it by legacy unicast PTR query", async () => {
  assert.is(await mdnsNameSource(500, random)(`${NET}.3`, signal()), "xray-room.local");
  assert.is(await mdnsNameSource(200, random)(`${NET}.5`, signal()), null);
});

test("reverse DNS asks the configured resolver", async () => {
  const rdns = reverseDnsSource(500, [`${NET}.9:5300`]);
  assert.is(await rdns(`${NET}.2`, signal()), "dc01.clinic.lan");
  assert.is(await reverseDnsSource(300, [`${NET}.9:5300`])(`${NET}.6`, signal()), null, "no PTR record: no name");
});

test("an aborted lookup resolves null at once", async () => {
  const ac = new AbortController();
  ac.abort();
  assert.is(await netbiosSource(5000, random)(`${NET}.2`, ac.signal), null);
});

test.run();
