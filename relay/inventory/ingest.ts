/**
 * Stores a pushed `inventory` outbox entry's discovery report (protocol sync.ts `discoveryReportSchema`) in
 * the site's device inventory, inside the push transaction: devices upserted, events appended, the learning
 * period started on the site's first report, and new devices found after it alerted — at most
 * `alertsPerDay` raised per site per 24 h; the rest are recorded as `suppressed` (still listed, not pushed
 * to people). Raised alerts are queued to the site's staff notification channels in the same transaction
 * (notify/dispatch.ts `enqueueInventoryAlert`, PHI-free) when `opts.notify` is given, as the push ingest
 * does. The push ingest calls this for each newly stored inventory entry, so a resent entry (already
 * acknowledged) is never applied twice.
 */
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { DEVICE_TYPE_TITLES, type DeviceType } from "../../protocol/catalogue/mod.ts";
import type { Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { enqueueInventoryAlert } from "../notify/dispatch.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { derivedId, diffInventory, type StoredDevice } from "./diff.ts";
import { deviceFromRow } from "./devices.ts";

/** New devices are not alerted during the first day of discovery at a site (the baseline is being learnt). */
export const DEFAULT_LEARNING_MS = 24 * 3600_000;
/** Alerts raised per site per 24 h; a burst (a new Wi-Fi, a DHCP change) must not flood the MSP. */
export const DEFAULT_ALERTS_PER_DAY = 5;
const DAY_MS = 24 * 3600_000;

export interface InventoryOptions {
  learningMs?: number;
  alertsPerDay?: number;
  /** Queue raised alerts to the notification channels (clock and randomness for the delivery rows). */
  notify?: Env;
}

export interface InventoryOutcome {
  devices: number;
  new_devices: number;
  gone: number;
  events: number;
  alerts_raised: number;
  alerts_suppressed: number;
}

const EMPTY: InventoryOutcome = { devices: 0, new_devices: 0, gone: 0, events: 0, alerts_raised: 0, alerts_suppressed: 0 };

function deviceArgs(d: StoredDevice): (string | number | null)[] {
  return [d.device_key, d.ip, d.mac, d.vendor, d.hostname, d.mdns_name, d.netbios_name, JSON.stringify(d.open_ports), d.device_type, d.confidence, JSON.stringify(d.evidence), d.last_seen, d.gone_at];
}

/** Applies one inventory entry; entries without a discovery report (managed-host lists) change nothing here. */
export async function ingestInventory(tx: Tx, appliance: Pick<AuthedAppliance, "id" | "site_id">, entry: OutboxEntry, opts: InventoryOptions = {}): Promise<InventoryOutcome> {
  if (entry.type !== "inventory" || !entry.body.discovery) return EMPTY;
  const report = entry.body.discovery;
  const siteId = appliance.site_id;
  const at = report.finished_at;
  const learningMs = opts.learningMs ?? DEFAULT_LEARNING_MS;
  const perDay = opts.alertsPerDay ?? DEFAULT_ALERTS_PER_DAY;

  const stored = (await tx.execute({ sql: "SELECT * FROM devices WHERE site_id = ?", args: [siteId] })).rows.map(deviceFromRow);
  const diff = diffInventory(siteId, stored, report);

  const site = (await tx.execute({ sql: "SELECT learning_until FROM inventory_sites WHERE site_id = ?", args: [siteId] })).rows[0];
  const learningUntil = site ? String(site["learning_until"]) : isoTime(parseIsoTime(at) + learningMs);
  await tx.execute({
    sql: `INSERT INTO inventory_sites (site_id, first_scan_at, learning_until, last_scan_at, last_scan_id) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (site_id) DO UPDATE SET last_scan_at = MAX(last_scan_at, excluded.last_scan_at), last_scan_id = excluded.last_scan_id`,
    args: [siteId, at, learningUntil, at, report.scan_id],
  });

  const writes: { sql: string; args: (string | number | null)[] }[] = [];
  for (const d of diff.inserts) {
    writes.push({
      sql: `INSERT INTO devices (id, site_id, device_key, ip, mac, vendor, hostname, mdns_name, netbios_name, open_ports, device_type, confidence, evidence, last_seen, gone_at, first_seen, appliance_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [d.id, siteId, ...deviceArgs(d), d.first_seen, appliance.id],
    });
  }
  for (const d of diff.updates) {
    writes.push({
      sql: `UPDATE devices SET device_key = ?, ip = ?, mac = ?, vendor = ?, hostname = ?, mdns_name = ?, netbios_name = ?, open_ports = ?, device_type = ?, confidence = ?, evidence = ?, last_seen = ?, gone_at = ?, appliance_id = ?
            WHERE id = ? AND site_id = ?`,
      args: [...deviceArgs(d), appliance.id, d.id, siteId],
    });
  }
  diff.events.forEach((e, i) => {
    writes.push({
      sql: "INSERT INTO device_events (id, site_id, device_id, kind, details, at, scan_id, appliance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      args: [derivedId("dve", appliance.id, report.scan_id, String(i)), siteId, e.device_id, e.kind, JSON.stringify(e.details), at, report.scan_id, appliance.id],
    });
  });
  if (writes.length) await tx.batch(writes);

  // Alerts: every device first seen after the learning period, rate-limited per site.
  let raised = 0;
  let suppressed = 0;
  if (at >= learningUntil && diff.inserts.length) {
    const since = isoTime(parseIsoTime(at) - DAY_MS);
    const recent = Number((await tx.execute({ sql: "SELECT COUNT(*) AS n FROM inventory_alerts WHERE site_id = ? AND state = 'raised' AND raised_at > ?", args: [siteId, since] })).rows[0]!["n"]);
    const raisedIds: string[] = [];
    const alerts = diff.inserts.map((d) => {
      const id = derivedId("ial", report.scan_id, d.id);
      const state = recent + raised < perDay ? "raised" : "suppressed";
      if (state === "raised") {
        raised++;
        raisedIds.push(id);
      } else suppressed++;
      const name = d.hostname ?? d.netbios_name ?? d.mdns_name ?? d.ip;
      const type = DEVICE_TYPE_TITLES[d.device_type as DeviceType] ?? d.device_type;
      const message = `New device on the network: ${name} (${d.ip}${d.vendor ? `, ${d.vendor}` : ""}), looks like: ${type.toLowerCase()}`;
      return { sql: "INSERT INTO inventory_alerts (id, site_id, device_id, kind, state, message, raised_at) VALUES (?, ?, ?, 'new_device', ?, ?, ?)", args: [id, siteId, d.id, state, message, at] };
    });
    await tx.batch(alerts);
    if (opts.notify) for (const id of raisedIds) await enqueueInventoryAlert(tx, opts.notify, id);
  }
  return {
    devices: report.devices.length,
    new_devices: diff.inserts.length,
    gone: diff.events.filter((e) => e.kind === "device_gone").length,
    events: diff.events.length,
    alerts_raised: raised,
    alerts_suppressed: suppressed,
  };
}
