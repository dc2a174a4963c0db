import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeMessage, encodeQuery, MAX_POINTER_JUMPS, sameName } from "./_mdns-wire.ts";

const name = (n: string) => [...n.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]), 0];
const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [...u16(Math.floor(n / 65536)), ...u16(n % 65536)];

test("encodeQuery() writes an mDNS query that decodeMessage() reads back", () => {
  const q = encodeQuery([{ name: "osiriscare-appliance.local", type: "A" }, { name: "_http._tcp.local", type: "PTR", unicast: true }]);
  assert.equal([...q.subarray(0, 12)], [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
  const m = decodeMessage(q);
  assert.is(m.response, false);
  assert.equal(m.questions, [
    { name: "osiriscare-appliance.local", type: 1 },
    { name: "_http._tcp.local", type: 12 },
  ]);
});

test("decodeMessage() reads A, AAAA, SRV, TXT and PTR answers, following compression pointers", () => {
  const header = [0, 0, 0x84, 0, ...u16(0), ...u16(4), ...u16(0), ...u16(1)];
  const hostAt = header.length; // the first record's name is the host name; later names point at it
  const host = name("osiriscare-appliance.local");
  const a = [...host, ...u16(1), ...u16(0x8001), ...u32(120), ...u16(4), 192, 0, 2, 10];
  const aaaa = [0xc0, hostAt, ...u16(28), ...u16(0x8001), ...u32(120), ...u16(16), 0xfd, 0, ...Array(13).fill(0), 0x10];
  const srvName = name("OsirisCare status page._http._tcp.local");
  const srv = [...srvName, ...u16(33), ...u16(0x8001), ...u32(120), ...u16(8), ...u16(0), ...u16(0), ...u16(8080), 0xc0, hostAt];
  const txt = [0xc0, hostAt, ...u16(16), ...u16(1), ...u32(4500), ...u16(7), 6, ...new TextEncoder().encode("path=/")];
  const ptr = [...name("_http._tcp.local"), ...u16(12), ...u16(1), ...u32(4500), ...u16(2), 0xc0, hostAt];
  const m = decodeMessage(new Uint8Array([...header, ...a, ...aaaa, ...srv, ...txt, ...ptr]));
  assert.is(m.response, true);
  assert.equal(
    m.answers.map((r) => [r.name, r.typeName, r.ttl, r.data]),
    [
      ["osiriscare-appliance.local", "A", 120, "192.0.2.10"],
      ["osiriscare-appliance.local", "AAAA", 120, "fd00::10"],
      ["OsirisCare status page._http._tcp.local", "SRV", 120, { priority: 0, weight: 0, port: 8080, target: "osiriscare-appliance.local" }],
      ["osiriscare-appliance.local", "TXT", 4500, ["path=/"]],
    ],
  );
  assert.equal(m.additionals.map((r) => [r.name, r.typeName, r.data]), [["_http._tcp.local", "PTR", "osiriscare-appliance.local"]]);
});

test("decodeMessage() refuses truncated messages, pointer loops and oversized sections", () => {
  assert.throws(() => decodeMessage(new Uint8Array([0, 0, 0x84])), /truncated/);
  const loop = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
  assert.throws(() => decodeMessage(new Uint8Array(loop)), new RegExp(`too many compression pointers|${MAX_POINTER_JUMPS}`));
  assert.throws(() => decodeMessage(new Uint8Array([0, 0, 0x84, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0])), /more than 64 records/);
  const runsPast = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 30, 1, 2];
  assert.throws(() => decodeMessage(new Uint8Array(runsPast)), /runs past/);
});

test("sameName() compares DNS names case-insensitively, ignoring a trailing dot", () => {
  assert.ok(sameName("OsirisCare-Appliance.local.", "osiriscare-appliance.local"));
  assert.not.ok(sameName("osiriscare-appliance-2.local", "osiriscare-appliance.local"));
});

test.run();
