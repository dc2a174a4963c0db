/** SNTP offset measurement against small NTP servers started on loopback (UDP, random ports). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSocket, type Socket } from "node:dgram";
import { measureNtpOffset } from "./sntp.ts";

const NTP_UNIX_OFFSET_S = 2_208_988_800;
const servers: Socket[] = [];
test.after.each(() => {
  for (const s of servers.splice(0)) s.close();
});

/** An NTP server whose clock is `skewMs` ahead of real time; `mangle` may corrupt its answers. */
async function fakeServer(skewMs: number, mangle?: (b: Buffer) => void): Promise<number> {
  const s = createSocket("udp4");
  servers.push(s);
  s.on("message", (req, from) => {
    const res = Buffer.alloc(48);
    res[0] = 0x24; // LI 0, version 4, mode 4 (server)
    res[1] = 2;
    req.copy(res, 24, 40, 48); // origin = the client's transmit timestamp
    const now = Date.now() + skewMs;
    for (const at of [32, 40]) {
      res.writeUInt32BE(Math.floor(now / 1000) + NTP_UNIX_OFFSET_S, at);
      res.writeUInt32BE(Math.floor(((now % 1000) / 1000) * 2 ** 32), at + 4);
    }
    mangle?.(res);
    s.send(res, from.port, from.address);
  });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return s.address().port;
}

const clock = { now: () => Date.now() };
const at = (port: number) => ({ host: "127.0.0.1", port });

test("the median offset of three servers is measured against the injected clock", async () => {
  const ports = await Promise.all([fakeServer(7_000), fakeServer(7_100), fakeServer(60_000)]);
  const offset = await measureNtpOffset(ports.map(at), { clock });
  assert.ok(offset !== null && Math.abs(offset - 7_100) < 200, String(offset));
  const behind = await measureNtpOffset(ports.map(at), { clock: { now: () => Date.now() + 7_100 } });
  assert.ok(behind !== null && Math.abs(behind) < 200, `a clock 7.1 s ahead agrees with these servers: ${behind}`);
});

test("fewer than three answers give null, not a guess", async () => {
  const ports = await Promise.all([fakeServer(0), fakeServer(0)]);
  const silent = createSocket("udp4");
  servers.push(silent);
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
  assert.is(await measureNtpOffset([...ports.map(at), at(silent.address().port)], { clock, timeoutMs: 200 }), null);
});

test("unsynchronised, wrong-mode and unsolicited answers are ignored", async () => {
  const good = await Promise.all([fakeServer(0), fakeServer(0)]);
  const alarm = await fakeServer(0, (b) => (b[0] = 0xe4)); // LI 3: not synchronised
  const client = await fakeServer(0, (b) => (b[0] = 0x23)); // mode 3 answer
  const spoof = await fakeServer(0, (b) => b.fill(0, 24, 32)); // origin does not match our request
  assert.is(await measureNtpOffset([...good, alarm, client, spoof].map(at), { clock, timeoutMs: 300 }), null);
});

test.run();
