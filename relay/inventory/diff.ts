/**
 * The inventory diff (pure): what a discovery report changes in a site's device inventory.
 *
 * Matching: a reported device with a MAC is the stored device with that MAC; without one (a routed subnet,
 * no ARP), it is the stored device at that address that has no MAC or the same one. Otherwise it is new.
 * Events: `new_device`; `device_returned` (seen again after being gone); `port_opened` / `port_closed` (only
 * for ports this scan probed); `type_changed`. A stored device whose last address lies in a scanned subnet
 * and that this scan did not find is `device_gone` — only when the scan was complete, and never for an
 * excluded device (the scanner does not probe those, so not seeing them says nothing).
 *
 * Ids are derived from the site and the device key (a MAC or an address), so the same device always gets
 * the same id, whichever appliance reports it.
 */
import { toBase32Lower } from "../../protocol/ids.ts";
import { sha256 } from "../../protocol/hash.ts";
import { serviceForPort } from "../../protocol/catalogue/mod.ts";
import type { DiscoveredDevice, DiscoveryReport } from "../../protocol/sync.ts";

export const DEVICE_STATUSES = ["discovered", "monitored", "excluded", "medical"] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];
export const DEVICE_EVENT_KINDS = ["new_device", "device_gone", "device_returned", "port_opened", "port_closed", "type_changed"] as const;
export type DeviceEventKind = (typeof DEVICE_EVENT_KINDS)[number];

export interface StoredDevice {
  id: string;
  device_key: string;
  ip: string;
  mac: string | null;
  vendor: string | null;
  hostname: string | null;
  mdns_name: string | null;
  netbios_name: string | null;
  open_ports: number[];
  device_type: string;
  confidence: number;
  evidence: string[];
  status: DeviceStatus;
  first_seen: string;
  last_seen: string;
  gone_at: string | null;
}

export interface DeviceEventDraft {
  device_id: string;
  kind: DeviceEventKind;
  details: Record<string, unknown>;
}

export interface InventoryDiff {
  /** Devices not stored before. */
  inserts: StoredDevice[];
  /** Stored devices seen again or gone, with their new state. */
  updates: StoredDevice[];
  events: DeviceEventDraft[];
}

/** A short deterministic id `<prefix>_<26 base32>` from the parts. */
export function derivedId(prefix: string, ...parts: string[]): string {
  return `${prefix}_${toBase32Lower(sha256(parts.join("\n")).subarray(0, 16))}`;
}

export const deviceKey = (d: { mac: string | null; ip: string }): string => (d.mac ? `mac:${d.mac}` : `ip:${d.ip}`);

const ipInt = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);

/** Whether `ip` lies in one of the CIDRs. */
export function inSubnets(ip: string, cidrs: readonly string[]): boolean {
  const n = ipInt(ip);
  return cidrs.some((c) => {
    const [base, bits] = c.split("/") as [string, string];
    const size = 2 ** (32 - Number(bits));
    const first = Math.floor(ipInt(base) / size) * size;
    return n >= first && n < first + size;
  });
}

const portInfo = (port: number) => ({ port, service: serviceForPort(port)?.service ?? null });

/** The changes `report` makes to a site's `stored` devices; see the module comment. */
export function diffInventory(siteId: string, stored: readonly StoredDevice[], report: DiscoveryReport): InventoryDiff {
  const at = report.finished_at;
  const byMac = new Map(stored.filter((d) => d.mac).map((d) => [d.mac!, d]));
  const byIp = new Map<string, StoredDevice[]>();
  for (const d of stored) byIp.set(d.ip, [...(byIp.get(d.ip) ?? []), d]);
  const probed = new Set(report.ports);
  const matched = new Set<string>();
  const out: InventoryDiff = { inserts: [], updates: [], events: [] };

  const find = (r: DiscoveredDevice): StoredDevice | undefined => {
    if (r.mac) {
      const m = byMac.get(r.mac);
      if (m) return m;
    }
    const candidates = (byIp.get(r.ip) ?? []).filter((d) => !matched.has(d.id) && (d.mac === null || d.mac === r.mac));
    // Prefer the one seen most recently (an address may have been reused).
    return candidates.sort((a, b) => (a.last_seen < b.last_seen ? 1 : -1))[0];
  };

  for (const r of report.devices) {
    const prev = find(r);
    if (prev && matched.has(prev.id)) continue; // two reports of one device in one scan: keep the first
    const next: StoredDevice = {
      id: prev?.id ?? derivedId("dev", siteId, deviceKey(r)),
      device_key: prev && (prev.mac || !r.mac) ? prev.device_key : deviceKey(r),
      ip: r.ip,
      mac: r.mac ?? prev?.mac ?? null,
      vendor: r.vendor ?? prev?.vendor ?? null,
      hostname: r.hostname ?? prev?.hostname ?? null,
      mdns_name: r.mdns_name ?? prev?.mdns_name ?? null,
      netbios_name: r.netbios_name ?? prev?.netbios_name ?? null,
      open_ports: [...r.open_ports].sort((a, b) => a - b),
      device_type: r.device_type,
      confidence: r.confidence,
      evidence: r.evidence,
      status: prev?.status ?? "discovered",
      first_seen: prev?.first_seen ?? at,
      last_seen: at,
      gone_at: null,
    };
    if (!prev) {
      out.inserts.push(next);
      out.events.push({ device_id: next.id, kind: "new_device", details: { ip: r.ip, mac: r.mac, device_type: r.device_type, open_ports: next.open_ports } });
      continue;
    }
    matched.add(prev.id);
    out.updates.push(next);
    if (prev.gone_at) out.events.push({ device_id: prev.id, kind: "device_returned", details: { ip: r.ip, gone_at: prev.gone_at } });
    const before = new Set(prev.open_ports);
    const now = new Set(next.open_ports);
    for (const p of next.open_ports) if (!before.has(p)) out.events.push({ device_id: prev.id, kind: "port_opened", details: portInfo(p) });
    for (const p of prev.open_ports) if (!now.has(p) && probed.has(p)) out.events.push({ device_id: prev.id, kind: "port_closed", details: portInfo(p) });
    if (prev.device_type !== next.device_type) out.events.push({ device_id: prev.id, kind: "type_changed", details: { from: prev.device_type, to: next.device_type, confidence: next.confidence } });
  }

  if (report.complete) {
    for (const d of stored) {
      if (matched.has(d.id) || d.gone_at !== null || d.status === "excluded" || !inSubnets(d.ip, report.subnets)) continue;
      out.updates.push({ ...d, gone_at: at });
      out.events.push({ device_id: d.id, kind: "device_gone", details: { ip: d.ip, last_seen: d.last_seen } });
    }
  }
  return out;
}
