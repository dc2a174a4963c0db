/**
 * MAC vendor look-up: a small table of the organisationally unique identifiers (first three octets) of the
 * vendors a clinic network usually holds, with the kind of device they mostly make. It is a hint for the
 * classifier, never proof (an HP prefix is a laptop as often as a printer). Not exhaustive by design: an
 * unknown prefix gives no vendor; sites can pass their own table.
 */

export const VENDOR_KINDS = ["printer", "network", "computer", "storage", "virtual", "camera", "voip", "power", "embedded"] as const;
export type VendorKind = (typeof VENDOR_KINDS)[number];

export interface Vendor {
  name: string;
  kind: VendorKind;
}

type Row = readonly [vendor: string, kind: VendorKind, prefixes: readonly string[]];

const ROWS: readonly Row[] = [
  ["Brother", "printer", ["00:1b:a9", "00:80:77", "3c:2a:f4", "30:05:5c"]],
  ["Canon", "printer", ["00:00:85", "00:1e:8f", "18:0c:ac", "f4:81:39"]],
  ["Xerox", "printer", ["00:00:aa", "9c:93:4e"]],
  ["Ricoh", "printer", ["00:00:74", "00:26:73", "58:38:79"]],
  ["Kyocera", "printer", ["00:c0:ee", "00:17:c8"]],
  ["Lexmark", "printer", ["00:04:00", "00:20:00"]],
  ["Konica Minolta", "printer", ["00:20:6b"]],
  ["Epson", "printer", ["00:00:48", "00:26:ab", "64:eb:8c"]],
  ["HP", "computer", ["3c:d9:2b", "70:5a:0f", "9c:8e:99", "00:1f:29", "00:25:b3", "94:57:a5"]],
  ["Dell", "computer", ["00:14:22", "14:18:77", "18:03:73", "b8:ca:3a", "f8:bc:12", "d4:be:d9"]],
  ["Lenovo", "computer", ["00:1e:4c", "28:d2:44", "50:46:5d"]],
  ["Apple", "computer", ["00:03:93", "00:0a:27", "3c:07:54", "a4:5e:60", "f0:18:98"]],
  ["Intel", "computer", ["00:1b:21", "00:15:17", "a0:36:9f"]],
  ["Cisco", "network", ["00:00:0c", "00:1b:54", "00:26:0b"]],
  ["Cisco Meraki", "network", ["00:18:0a", "e0:55:3d", "88:15:44"]],
  ["Ubiquiti", "network", ["00:27:22", "24:a4:3c", "44:d9:e7", "68:72:51", "78:8a:20", "f0:9f:c2", "fc:ec:da", "80:2a:a8"]],
  ["MikroTik", "network", ["00:0c:42", "4c:5e:0c", "6c:3b:6b", "d4:ca:6d", "e4:8d:8c"]],
  ["Netgear", "network", ["00:09:5b", "00:14:6c", "00:1b:2f", "20:4e:7f", "a0:40:a0", "c0:3f:0e"]],
  ["TP-Link", "network", ["50:c7:bf", "14:cc:20", "f4:f2:6d", "ec:08:6b", "98:da:c4"]],
  ["Fortinet", "network", ["00:09:0f", "08:5b:0e", "90:6c:ac", "70:4c:a5"]],
  ["SonicWall", "network", ["00:06:b1", "00:17:c5", "c0:ea:e4"]],
  ["Aruba", "network", ["00:0b:86", "00:1a:1e", "24:de:c6", "6c:f3:7f"]],
  ["Synology", "storage", ["00:11:32"]],
  ["QNAP", "storage", ["24:5e:be", "00:08:9b"]],
  ["VMware", "virtual", ["00:50:56", "00:0c:29", "00:05:69"]],
  ["Microsoft Hyper-V", "virtual", ["00:15:5d"]],
  ["Axis", "camera", ["00:40:8c", "ac:cc:8e", "b8:a4:4f"]],
  ["Hikvision", "camera", ["44:19:b6", "4c:bd:8f", "bc:ad:28"]],
  ["Polycom", "voip", ["00:04:f2", "64:16:7f"]],
  ["Yealink", "voip", ["80:5e:c0", "00:15:65"]],
  ["APC", "power", ["00:c0:b7"]],
  ["Raspberry Pi", "embedded", ["b8:27:eb", "dc:a6:32", "e4:5f:01"]],
];

/** OUI (`aa:bb:cc`, lower case) → vendor. */
export type OuiTable = ReadonlyMap<string, Vendor>;

/** Builds a table from rows; throws a TypeError naming a malformed or duplicated prefix. */
export function ouiTable(rows: readonly Row[] = ROWS): OuiTable {
  const out = new Map<string, Vendor>();
  for (const [name, kind, prefixes] of rows) {
    for (const p of prefixes) {
      if (!/^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/.test(p)) throw new TypeError(`OUI table: ${name} prefix must look like 00:1b:a9: current value is ${JSON.stringify(p)}`);
      if (out.has(p)) throw new TypeError(`OUI table: ${p} is listed for both ${out.get(p)!.name} and ${name}`);
      out.set(p, { name, kind });
    }
  }
  return out;
}

/** The shipped table. */
export const DEFAULT_OUI_TABLE: OuiTable = ouiTable();

/**
 * The vendor of a MAC address, or null (unknown prefix, or a locally administered address such as a phone's
 * randomised Wi-Fi MAC, which names no vendor at all).
 */
export function vendorFor(mac: string, table: OuiTable = DEFAULT_OUI_TABLE): Vendor | null {
  const m = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/.test(m)) return null;
  if (Number.parseInt(m.slice(0, 2), 16) & 0x02) return null;
  return table.get(m.slice(0, 8)) ?? null;
}
