import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeMessage, encodeNbstatQuery, encodeQuery, parseNodeStatus, ptrAnswer, readName, reverseName, TYPE_PTR } from "./dns-wire.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const label = (s: string) => [s.length, ...ascii(s)];
const pad15 = (s: string) => ascii(s.padEnd(15, " "));

test("reverseName writes the in-addr.arpa name of an address", () => {
  assert.is(reverseName("192.168.1.20"), "20.1.168.192.in-addr.arpa");
});

test("encodeQuery builds a one-question standard query (RFC 1035 §4.1)", () => {
  const q = encodeQuery(0x1234, "20.1.168.192.in-addr.arpa", TYPE_PTR);
  assert.equal([...q], [
    0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ...label("20"), ...label("1"), ...label("168"), ...label("192"), ...label("in-addr"), ...label("arpa"), 0x00,
    0x00, 0x0c, 0x00, 0x01,
  ]);
});

test("encodeNbstatQuery is the node status request for `*` (RFC 1002 §4.2.17)", () => {
  const q = encodeNbstatQuery(0x4242);
  assert.equal([...q], [0x42, 0x42, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, ...ascii("CK" + "A".repeat(30)), 0x00, 0x00, 0x21, 0x00, 0x01]);
});

/** A legacy-unicast mDNS answer as avahi sends it: the question echoed, the answer name compressed. */
const PTR_RESPONSE = new Uint8Array([
  0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // id, QR+AA, 1 question, 1 answer
  ...label("20"), ...label("1"), ...label("168"), ...label("192"), ...label("in-addr"), ...label("arpa"), 0x00, 0x00, 0x0c, 0x00, 0x01,
  0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x12, // name → offset 12, PTR, IN, TTL 10, 18 bytes
  ...label("reception1"), ...label("local"), 0x00,
]);

test("ptrAnswer reads the PTR target of the matching response, following compression", () => {
  assert.is(ptrAnswer(PTR_RESPONSE, 0x1234, "20.1.168.192.in-addr.arpa"), "reception1.local");
  assert.is(ptrAnswer(PTR_RESPONSE, 0x9999, "20.1.168.192.in-addr.arpa"), null, "another query's answer");
  assert.is(ptrAnswer(PTR_RESPONSE, 0x1234, "21.1.168.192.in-addr.arpa"), null, "an answer about another name");
  assert.is(ptrAnswer(encodeQuery(0x1234, "20.1.168.192.in-addr.arpa", TYPE_PTR), 0x1234, "20.1.168.192.in-addr.arpa"), null, "a query is not an answer");
});

/** Node status response (RFC 1002 §4.2.18) of a Windows PC in workgroup CLINIC with MAC 00:1b:21:aa:bb:cc. */
function nbstatResponse(id: number): Uint8Array {
  const names = [
    [...pad15("FRONTDESK-PC"), 0x00, 0x04, 0x00], // unique, active: the computer name
    [...pad15("CLINIC"), 0x00, 0x84, 0x00], // group: the workgroup
    [...pad15("FRONTDESK-PC"), 0x20, 0x04, 0x00], // unique: file server service
  ].flat();
  const stats = [0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc, ...new Array<number>(40).fill(0)];
  const rdata = [3, ...names, ...stats];
  return new Uint8Array([
    id >> 8, id & 255, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x20, ...ascii("CK" + "A".repeat(30)), 0x00, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    rdata.length >> 8, rdata.length & 255, ...rdata,
  ]);
}

test("parseNodeStatus lists the registered names, marks group names, and reads the unit id as the MAC", () => {
  const s = parseNodeStatus(nbstatResponse(0x4242), 0x4242);
  assert.equal(s, {
    names: [
      { name: "FRONTDESK-PC", suffix: 0x00, group: false },
      { name: "CLINIC", suffix: 0x00, group: true },
      { name: "FRONTDESK-PC", suffix: 0x20, group: false },
    ],
    mac: "00:1b:21:aa:bb:cc",
  });
  assert.is(parseNodeStatus(nbstatResponse(0x4242), 0x4243), null);
});

test("malformed answers throw RangeError instead of reading past the buffer", () => {
  assert.throws(() => decodeMessage(PTR_RESPONSE.subarray(0, 40)), (e: unknown) => e instanceof RangeError);
  const loop = new Uint8Array([0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12]);
  assert.throws(() => decodeMessage(loop), (e: unknown) => e instanceof RangeError && e.message.includes("compression pointers"));
  assert.throws(() => readName(new Uint8Array([5, 65, 66]), 0), (e: unknown) => e instanceof RangeError);
  const truncated = nbstatResponse(1);
  assert.throws(() => parseNodeStatus(truncated.subarray(0, truncated.length - 50), 1), (e: unknown) => e instanceof RangeError);
});

test.run();
