import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArpTable, readArpTable } from "./arp.ts";

/** As the Linux kernel prints it (net/ipv4/arp.c arp_format_neigh_entry). */
const TABLE = `IP address       HW type     Flags       HW address            Mask     Device
192.168.1.20     0x1         0x2         00:1B:A9:12:34:56     *        eth0
192.168.1.21     0x1         0x0         00:00:00:00:00:00     *        eth0
192.168.1.1      0x1         0x2         f0:9f:c2:aa:bb:cc     *        eth0
192.168.1.30     0x1         0x6         00:11:32:01:02:03     *        eth0
garbage line
999.1.1.1        0x1         0x2         00:11:32:01:02:04     *        eth0
`;

test("parseArpTable keeps complete entries, lower-cases MACs, and skips incomplete and malformed lines", () => {
  assert.equal(parseArpTable(TABLE), [
    { ip: "192.168.1.20", mac: "00:1b:a9:12:34:56", device: "eth0" },
    { ip: "192.168.1.1", mac: "f0:9f:c2:aa:bb:cc", device: "eth0" },
    { ip: "192.168.1.30", mac: "00:11:32:01:02:03", device: "eth0" },
  ]);
});

test("readArpTable reads an injected file, and a missing file is an empty table", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-arp-"));
  try {
    await writeFile(join(dir, "arp"), TABLE);
    assert.is((await readArpTable(join(dir, "arp"))).length, 3);
    assert.equal(await readArpTable(join(dir, "missing")), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the real /proc/net/arp of this namespace parses (whatever it holds)", async () => {
  const rows = await readArpTable();
  for (const r of rows) assert.match(r.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
});

test.run();
