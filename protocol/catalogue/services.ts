/**
 * Network services and device types of the catalogue: which TCP port means which service (for network
 * discovery on the appliance, the relay's device inventory and the dashboards), and the device types the
 * discovery classifier sorts devices into. The data lives in `data/services.json` and is validated when this
 * module loads: a duplicate port, an unknown category or a malformed id fails at import, naming the entry.
 *
 * `depth` says which scans probe the port: `quick` (the nightly default) probes the common ports, `full` also
 * the legacy and specialist ones (the `discovery_scan` order's `depth` parameter).
 */
import { z } from "zod";
import services from "./data/services.json" with { type: "json" };

/** What a service is for; the classifier and the inventory view group by it. */
export const SERVICE_CATEGORIES = [
  "directory",
  "file_sharing",
  "storage",
  "database",
  "backup",
  "mail",
  "print",
  "web",
  "remote_access",
  "windows",
  "network",
  "name_service",
  "monitoring",
  "virtualization",
  "voip",
  "camera",
  "iot",
  "messaging",
  "medical",
] as const;
export type ServiceCategory = (typeof SERVICE_CATEGORIES)[number];

export const SCAN_DEPTHS = ["quick", "full"] as const;
export type ScanDepth = (typeof SCAN_DEPTHS)[number];

/**
 * Device types a discovered device is classified as (`unknown` when the evidence is too weak). Order matters
 * only for display; the classifier decides by score.
 */
export const DEVICE_TYPES = [
  "domain_controller",
  "file_server",
  "sql_server",
  "backup_server",
  "mail_server",
  "printer",
  "web_device",
  "workstation",
  "network_gear",
  "medical_imaging",
  "unknown",
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Plain-language names of the device types (dashboards, statements, the status page). */
export const DEVICE_TYPE_TITLES: Readonly<Record<DeviceType, string>> = {
  domain_controller: "Domain controller",
  file_server: "File server",
  sql_server: "SQL server",
  backup_server: "Backup server",
  mail_server: "Mail server",
  printer: "Printer / copier",
  web_device: "Web-managed device",
  workstation: "Workstation",
  network_gear: "Network gear",
  medical_imaging: "Medical / imaging device",
  unknown: "Unknown device",
};

/** Most service mappings the catalogue may hold (a bound on every port list built from it). */
export const MAX_SERVICES = 1024;

const serviceSchema = z.strictObject({
  port: z.number().int().min(1).max(65_535),
  service: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, "expected a lower-case service id like smb or dicom_tls"),
  title: z.string().min(1).max(80),
  category: z.enum(SERVICE_CATEGORIES),
  depth: z.enum(SCAN_DEPTHS),
});
/** One port → service mapping (TCP). */
export type Service = z.output<typeof serviceSchema>;

/** Validates service mappings: each entry's shape, then unique ports and unique service ids. Throws naming the entry. */
export function loadServices(raw: readonly unknown[]): readonly Service[] {
  if (raw.length > MAX_SERVICES) throw new RangeError(`Cannot load services: ${raw.length} entries, the limit is ${MAX_SERVICES}`);
  const out: Service[] = [];
  const ports = new Map<number, string>();
  const ids = new Set<string>();
  raw.forEach((entry, i) => {
    const r = serviceSchema.safeParse(entry);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new TypeError(`services[${i}].${issue.path.join(".") || "value"}: ${issue.message}: current value is ${JSON.stringify(entry).slice(0, 120)}`);
    }
    const s = r.data;
    const taken = ports.get(s.port);
    if (taken !== undefined) throw new TypeError(`services[${i}].port: ${s.port} is already mapped to ${taken}`);
    if (ids.has(s.service)) throw new TypeError(`services[${i}].service: ${s.service} appears twice`);
    ports.set(s.port, s.service);
    ids.add(s.service);
    out.push(Object.freeze(s));
  });
  return Object.freeze(out.sort((a, b) => a.port - b.port));
}

const SHIPPED = loadServices(services);
const BY_PORT: ReadonlyMap<number, Service> = new Map(SHIPPED.map((s) => [s.port, s]));
const BY_ID: ReadonlyMap<string, Service> = new Map(SHIPPED.map((s) => [s.service, s]));

/** Every shipped port → service mapping, by port. */
export const listServices = (): readonly Service[] => SHIPPED;
/** The service usually behind a TCP port, or undefined. */
export const serviceForPort = (port: number): Service | undefined => BY_PORT.get(port);
/** The mapping of a service id, or undefined. */
export const findService = (id: string): Service | undefined => BY_ID.get(id);
/** The ports a scan of this depth probes (`full` includes the `quick` ones), ascending. */
export const probePorts = (depth: ScanDepth): number[] => SHIPPED.filter((s) => depth === "full" || s.depth === "quick").map((s) => s.port);
