/**
 * The kernel's ARP table (`/proc/net/arp`, one per network namespace): which MAC answered for which IPv4
 * address on a directly attached segment. Discovery reads it before probing (to honour exclusions by MAC)
 * and after (MAC and vendor of the hosts it reached). Off-segment hosts never appear here.
 *
 *   IP address       HW type     Flags       HW address            Mask     Device
 *   192.168.1.20     0x1         0x2         00:1b:a9:12:34:56     *        eth0
 *
 * Flags 0x2 (ATF_COM) marks a complete entry; incomplete ones (no answer yet) carry 00:00:00:00:00:00.
 */
import { readFile } from "node:fs/promises";
import { IPV4_PATTERN, MAC_PATTERN } from "../../protocol/sync.ts";

export const DEFAULT_ARP_PATH = "/proc/net/arp";
/** Most ARP rows read (a /16 fully populated, plus slack); a bigger file is not a real ARP table. */
export const MAX_ARP_ROWS = 70_000;
/** Largest file read (bytes). */
export const MAX_ARP_BYTES = 8 * 1024 * 1024;

const ATF_COM = 0x2;

export interface ArpEntry {
  ip: string;
  /** Lower-case, colon-separated. */
  mac: string;
  device: string;
}

/** Complete entries of an ARP table text; malformed lines and incomplete entries are skipped. */
export function parseArpTable(text: string): ArpEntry[] {
  const out: ArpEntry[] = [];
  const lines = text.split("\n");
  for (let i = 1; i < lines.length && out.length < MAX_ARP_ROWS; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [ip, , flags, hw, , device] = f as [string, string, string, string, string, string];
    const mac = hw.toLowerCase();
    if (!IPV4_PATTERN.test(ip) || !MAC_PATTERN.test(mac) || mac === "00:00:00:00:00:00") continue;
    if ((Number.parseInt(flags, 16) & ATF_COM) === 0) continue;
    out.push({ ip, mac, device });
  }
  return out;
}

/** Reads and parses the ARP table at `path`; a missing file (not Linux, no permission) is an empty table. */
export async function readArpTable(path = DEFAULT_ARP_PATH): Promise<ArpEntry[]> {
  let text: string;
  try {
    const buf = await readFile(path);
    text = buf.subarray(0, MAX_ARP_BYTES).toString("utf8");
  } catch {
    return [];
  }
  return parseArpTable(text);
}
