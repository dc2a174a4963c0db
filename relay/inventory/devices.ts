/**
 * A site's device inventory as the MSP sees and steers it: listing, the MSP's decision per device
 * (`monitored`: credentials and checks apply; `excluded`: never probed again; `medical`: fragile, handle with
 * care; `discovered`: no decision yet), recent events and alerts, and the exclusion list the site's
 * appliances receive in their site config.
 */
import { z } from "zod";
import { DEVICE_TYPES } from "../../protocol/catalogue/mod.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MAX_INVENTORY_HOSTS } from "../../protocol/sync.ts";
import { num, str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { DEVICE_EVENT_KINDS, DEVICE_STATUSES, type DeviceStatus, type StoredDevice } from "./diff.ts";

/** Most events or alerts returned in one list. */
export const MAX_LIST = 500;

const json = <T>(row: Row, column: string): T => JSON.parse(str(row, column)) as T;

export function deviceFromRow(r: Row): StoredDevice {
  return {
    id: str(r, "id"),
    device_key: str(r, "device_key"),
    ip: str(r, "ip"),
    mac: strOrNull(r, "mac"),
    vendor: strOrNull(r, "vendor"),
    hostname: strOrNull(r, "hostname"),
    mdns_name: strOrNull(r, "mdns_name"),
    netbios_name: strOrNull(r, "netbios_name"),
    open_ports: json<number[]>(r, "open_ports"),
    device_type: str(r, "device_type"),
    confidence: num(r, "confidence"),
    evidence: json<string[]>(r, "evidence"),
    status: str(r, "status") as DeviceStatus,
    first_seen: str(r, "first_seen"),
    last_seen: str(r, "last_seen"),
    gone_at: strOrNull(r, "gone_at"),
  };
}

export const deviceSchema = z.object({
  id: z.string(),
  site_id: z.string(),
  ip: z.string(),
  mac: z.string().nullable(),
  vendor: z.string().nullable(),
  hostname: z.string().nullable(),
  mdns_name: z.string().nullable(),
  netbios_name: z.string().nullable(),
  open_ports: z.array(z.number()),
  device_type: z.enum(DEVICE_TYPES),
  confidence: z.number(),
  evidence: z.array(z.string()),
  status: z.enum(DEVICE_STATUSES),
  status_changed_at: z.string().nullable(),
  status_changed_by: z.string().nullable(),
  first_seen: z.string(),
  last_seen: z.string(),
  gone_at: z.string().nullable(),
});
export type DeviceView = z.output<typeof deviceSchema>;

function view(r: Row): DeviceView {
  const { device_key: _key, ...d } = deviceFromRow(r);
  return { ...d, device_type: d.device_type as DeviceView["device_type"], site_id: str(r, "site_id"), status_changed_at: strOrNull(r, "status_changed_at"), status_changed_by: strOrNull(r, "status_changed_by") };
}

export const deviceStatusBodySchema = z.strictObject({ status: z.enum(DEVICE_STATUSES) });

/** A site's devices, by address (gone ones only with `includeGone`), plus where its learning period stands. */
export async function listDevices(db: RelayDb, siteId: string, opts: { status?: DeviceStatus; includeGone?: boolean } = {}) {
  const where = ["site_id = ?"];
  const args: string[] = [siteId];
  if (opts.status) (where.push("status = ?"), args.push(opts.status));
  if (!opts.includeGone) where.push("gone_at IS NULL");
  const rows = (await db.execute({ sql: `SELECT * FROM devices WHERE ${where.join(" AND ")}`, args })).rows.map(view);
  const ipn = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  rows.sort((a, b) => ipn(a.ip) - ipn(b.ip) || a.id.localeCompare(b.id));
  const site = (await db.execute({ sql: "SELECT * FROM inventory_sites WHERE site_id = ?", args: [siteId] })).rows[0];
  return {
    devices: rows,
    learning_until: site ? str(site, "learning_until") : null,
    last_scan_at: site ? str(site, "last_scan_at") : null,
  };
}

/** Sets the MSP's decision for a device; returns the device before and after. Throws not_found. */
export async function setDeviceStatus(db: RelayDb | Tx, deviceId: string, status: DeviceStatus, by: string, clock: Clock): Promise<{ before: DeviceView; after: DeviceView }> {
  const rs = await db.execute({ sql: "SELECT * FROM devices WHERE id = ?", args: [deviceId] });
  if (!rs.rows[0]) throw new RelayError("not_found", `device ${JSON.stringify(deviceId)} does not exist`);
  const before = view(rs.rows[0]);
  await db.execute({ sql: "UPDATE devices SET status = ?, status_changed_at = ?, status_changed_by = ? WHERE id = ?", args: [status, isoTime(clock.now()), by, deviceId] });
  const after = view((await db.execute({ sql: "SELECT * FROM devices WHERE id = ?", args: [deviceId] })).rows[0]!);
  return { before, after };
}

/**
 * What the site's appliances must never probe: the address and MAC of every excluded device (site config
 * `discovery_exclude`). Both, because a DHCP lease can move the address while the MAC stays.
 */
export async function discoveryExclusions(db: RelayDb | Tx, siteId: string): Promise<string[]> {
  const rs = await db.execute({ sql: "SELECT ip, mac FROM devices WHERE site_id = ? AND status = 'excluded' ORDER BY ip, id", args: [siteId] });
  const out = new Set<string>();
  for (const r of rs.rows) {
    out.add(str(r, "ip"));
    const mac = strOrNull(r, "mac");
    if (mac) out.add(mac);
  }
  return [...out].slice(0, MAX_INVENTORY_HOSTS);
}

export const deviceEventSchema = z.object({ id: z.string(), device_id: z.string(), kind: z.enum(DEVICE_EVENT_KINDS), details: z.record(z.string(), z.unknown()), at: z.string(), scan_id: z.string() });
export const inventoryAlertSchema = z.object({ id: z.string(), device_id: z.string(), state: z.enum(["raised", "suppressed"]), message: z.string(), raised_at: z.string() });

/** A site's latest inventory events and alerts, newest first. */
export async function listDeviceEvents(db: RelayDb, siteId: string, limit = 100) {
  const n = Math.min(Math.max(limit, 1), MAX_LIST);
  const events = (await db.execute({ sql: `SELECT * FROM device_events WHERE site_id = ? ORDER BY at DESC, id LIMIT ${n}`, args: [siteId] })).rows.map((r) => ({
    id: str(r, "id"),
    device_id: str(r, "device_id"),
    kind: str(r, "kind") as (typeof DEVICE_EVENT_KINDS)[number],
    details: json<Record<string, unknown>>(r, "details"),
    at: str(r, "at"),
    scan_id: str(r, "scan_id"),
  }));
  const alerts = (await db.execute({ sql: `SELECT * FROM inventory_alerts WHERE site_id = ? ORDER BY raised_at DESC, id LIMIT ${n}`, args: [siteId] })).rows.map((r) => ({
    id: str(r, "id"),
    device_id: str(r, "device_id"),
    state: str(r, "state") as "raised" | "suppressed",
    message: str(r, "message"),
    raised_at: str(r, "raised_at"),
  }));
  return { events, alerts };
}
