/**
 * Classifies a discovered device from what it answered: open TCP ports, names (reverse DNS, mDNS, NetBIOS)
 * and the MAC vendor. Every device type has weighted signals; a device scores the sum of the signals it
 * shows for each type, and the best type wins when it scores at least MIN_SCORE. Signals are never proof —
 * the result carries the evidence behind it so an MSP can see why, and correct it on the relay.
 *
 * Confidence (0–100) is the winning score minus half the runner-up's, capped at MAX_CONFIDENCE: a device
 * that looks like two things at once (a Windows server with SMB and SQL) is less certain than one that only
 * looks like one. `unknown` has confidence 0.
 */
import { serviceForPort, type DeviceType } from "../../protocol/catalogue/mod.ts";
import type { Vendor, VendorKind } from "./oui.ts";

/** Below this score a device is `unknown`. */
export const MIN_SCORE = 20;
/** Discovery never claims certainty. */
export const MAX_CONFIDENCE = 95;
/** Evidence lines kept per device (the wire limit is 16). */
export const MAX_EVIDENCE = 12;

export interface DeviceFacts {
  open_ports: readonly number[];
  hostname: string | null;
  mdns_name: string | null;
  netbios_name: string | null;
  vendor: Vendor | null;
  /** From NetBIOS node status: registers domain-controller names / the file server service. */
  netbios_dc?: boolean;
  netbios_file_server?: boolean;
}

export interface Classification {
  device_type: DeviceType;
  confidence: number;
  evidence: string[];
}

type Scored = Exclude<DeviceType, "unknown">;

/** Port signals: weight each open port adds to a type. */
const PORT_SIGNALS: Readonly<Record<Scored, Readonly<Record<number, number>>>> = {
  domain_controller: { 88: 40, 389: 25, 3268: 30, 3269: 10, 464: 15, 636: 10, 53: 10, 9389: 20, 5722: 15 },
  file_server: { 445: 15, 139: 5, 2049: 35, 111: 10, 548: 30, 5000: 25, 5001: 25, 3260: 30, 21: 10, 873: 10 },
  sql_server: { 1433: 55, 1521: 55, 3306: 50, 5432: 50, 27017: 45, 6379: 35, 9200: 35, 2638: 50, 3050: 45 },
  backup_server: { 9392: 60, 6160: 40, 6162: 40, 10000: 35, 873: 15 },
  mail_server: { 25: 35, 587: 20, 465: 15, 110: 15, 995: 15, 143: 15, 993: 15 },
  printer: { 9100: 55, 631: 35, 515: 35, 6566: 15 },
  web_device: { 80: 12, 443: 12, 8080: 10, 8443: 10, 8000: 8, 554: 30, 8554: 25, 37777: 40, 1883: 25, 8883: 25, 502: 30, 5060: 20, 5061: 20, 2000: 20, 1720: 20 },
  workstation: { 135: 10, 139: 5, 445: 10, 3389: 20, 5900: 15, 5800: 10, 3283: 25, 5357: 15, 22: 5 },
  network_gear: { 23: 20, 179: 40, 830: 35, 8291: 50, 8728: 45, 4786: 50, 49: 35, 7547: 30, 1194: 15, 1723: 15 },
  medical_imaging: { 104: 70, 11112: 70, 2762: 70, 2575: 60, 4242: 45, 8042: 35 },
};

/** Name signals (host, mDNS or NetBIOS name): a pattern and the weight it adds. */
const NAME_SIGNALS: readonly (readonly [Scored, RegExp, number, string])[] = [
  ["domain_controller", /(^|[-_.])(dc|pdc|ad)\d*([-_.]|$)|domain-?controller/i, 30, "domain-controller naming"],
  ["file_server", /(^|[-_.])(fs|file|files|nas|share|storage|diskstation)\d*([-_.]|$)|fileserver|synology|qnap/i, 30, "file-server naming"],
  ["sql_server", /(^|[-_.])(sql|db|database|mssql)\d*([-_.]|$)/i, 30, "database-server naming"],
  ["backup_server", /backup|veeam|(^|[-_.])bkp\d*([-_.]|$)|datto/i, 35, "backup naming"],
  ["mail_server", /(^|[-_.])(mail|smtp|exchange|mx)\d*([-_.]|$)/i, 30, "mail-server naming"],
  ["printer", /print|(^|[-_.])prn\d*([-_.]|$)|mfp|copier|laserjet|officejet|bizhub|imagerunner|ecosys|workcentre|(^|[-_.])brw[0-9a-f]/i, 35, "printer naming"],
  ["network_gear", /(^|[-_.])(sw|switch|router|rtr|fw|firewall|gw|gateway|ap|wap|core|edge)\d*([-_.]|$)|fortigate|sonicwall|meraki|unifi|edgerouter/i, 30, "network-device naming"],
  ["workstation", /(^|[-_.])(ws|pc|desktop|laptop|nb|wkst|station|reception|frontdesk|exam)\d*([-_.]|$)|macbook|imac|desktop-[a-z0-9]{7}|laptop-[a-z0-9]{7}/i, 25, "workstation naming"],
  ["medical_imaging", /pacs|dicom|modality|x-?ray|ultrasound|imaging|(^|[-_.])(mri|ct|cr|dx|us|cbct|pano)\d*([-_.]|$)|orthanc/i, 30, "medical-imaging naming"],
];

/** Vendor kinds: which type a vendor's usual product suggests, and how strongly. */
const VENDOR_SIGNALS: Readonly<Partial<Record<VendorKind, readonly [Scored, number]>>> = {
  printer: ["printer", 30],
  network: ["network_gear", 35],
  storage: ["file_server", 35],
  computer: ["workstation", 10],
  camera: ["web_device", 30],
  voip: ["web_device", 25],
  power: ["web_device", 25],
};

const TYPES = Object.keys(PORT_SIGNALS) as Scored[];

function portLabel(port: number): string {
  const s = serviceForPort(port);
  return s ? `port ${port}/tcp open (${s.service})` : `port ${port}/tcp open`;
}

/** Classifies one device; see the module comment for how. Pure. */
export function classifyDevice(f: DeviceFacts): Classification {
  const score = new Map<Scored, number>(TYPES.map((t) => [t, 0]));
  const why = new Map<Scored, string[]>(TYPES.map((t) => [t, []]));
  const add = (t: Scored, w: number, e: string) => {
    score.set(t, score.get(t)! + w);
    why.get(t)!.push(e);
  };
  const ports = [...new Set(f.open_ports)].sort((a, b) => a - b);
  for (const t of TYPES) for (const p of ports) {
    const w = PORT_SIGNALS[t][p];
    if (w) add(t, w, portLabel(p));
  }
  const names: (readonly [string, string])[] = [];
  for (const [label, n] of [["host name", f.hostname], ["mDNS name", f.mdns_name], ["NetBIOS name", f.netbios_name]] as const) if (n) names.push([label, n]);
  for (const [t, re, w, label] of NAME_SIGNALS) {
    const hit = names.find(([, n]) => re.test(n.split(".")[0]!) || re.test(n));
    if (hit) add(t, w, `${hit[0]} ${hit[1]} matches ${label}`);
  }
  if (f.vendor) {
    const v = VENDOR_SIGNALS[f.vendor.kind];
    if (v) add(v[0], v[1], `MAC vendor ${f.vendor.name} (${f.vendor.kind} maker)`);
  }
  if (f.netbios_dc) add("domain_controller", 35, "NetBIOS registers domain controller names");
  if (f.netbios_file_server) add("file_server", 5, "NetBIOS registers the file server service");

  const ranked = TYPES.map((t) => [t, score.get(t)!] as const).sort((a, b) => b[1] - a[1] || TYPES.indexOf(a[0]) - TYPES.indexOf(b[0]));
  const [best, second] = ranked as [readonly [Scored, number], readonly [Scored, number]];
  if (best[1] < MIN_SCORE) {
    const seen = [...ports.map(portLabel), ...names.map(([k, n]) => `${k} ${n}`), ...(f.vendor ? [`MAC vendor ${f.vendor.name}`] : [])];
    return { device_type: "unknown", confidence: 0, evidence: (seen.length ? seen : ["no open ports or names matched a device type"]).slice(0, MAX_EVIDENCE) };
  }
  const confidence = Math.max(1, Math.min(MAX_CONFIDENCE, Math.round(best[1] - second[1] / 2)));
  return { device_type: best[0], confidence, evidence: why.get(best[0])!.slice(0, MAX_EVIDENCE) };
}
