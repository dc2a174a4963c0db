/**
 * Builds the status page's report (status-types.ts) from a snapshot of the appliance's state. Pure: the
 * snapshot (status-source.ts reads it from the store) and `now` go in, plain-language JSON comes out, so
 * every wording rule is tested without a database or a clock.
 *
 * What counts as "needing attention": every unresolved incident except one a fix has just repaired (its
 * re-check passed; the next scan confirms it). Unreachable devices are counted separately: not knowing is
 * neither a pass nor a fail. Before enrollment no incident is recorded (nothing is healed or sent), so every
 * failing check of the latest scans needs attention instead: a failure is never shown as "all good". The IT
 * provider "has been notified" only when an enrolled appliance syncs with a relay; a standalone appliance, or
 * one still waiting for enrollment, tells nobody, so its page asks staff to pass the news on instead.
 */
import type { Catalogue, Category } from "../../protocol/catalogue/mod.ts";
import type { CheckStatus } from "../../protocol/evidence.ts";
import type { HealingMode } from "../../protocol/sync.ts";
import type { TargetRef } from "../engine/types.ts";
import { isInWindow, parseWindow, TimeZone, type IncidentStatus, type WindowSpec } from "../heal/index.ts";
import { clockPhrase, sameLocalDay, timePhrase, timeText } from "./_time-text.ts";
import type { CategoryStatus, DeviceKind, EnrollmentState, DeviceStatus, ItemState, RelayStatus, StaffCategory, StatusItem, StatusLevel, StatusReport } from "./status-types.ts";

/** The relay counts as unreachable after this many sync intervals without a successful sync. */
export const OFFLINE_AFTER_INTERVALS = 3;
/** Characters of the evidence head hash shown: enough to compare by eye with the relay's view. */
export const SHORT_HASH_CHARS = 12;

/** Staff groups in the order the page shows them, with their titles. */
export const STAFF_CATEGORIES: readonly { id: StaffCategory; title: string }[] = [
  { id: "backups", title: "Backups" },
  { id: "antivirus", title: "Virus protection" },
  { id: "updates", title: "Updates" },
  { id: "encryption", title: "Encryption" },
  { id: "firewall", title: "Firewall and network" },
  { id: "logging", title: "Activity records" },
  { id: "time", title: "Clock accuracy" },
  { id: "accounts", title: "Accounts and sign-in" },
  { id: "system", title: "System health" },
];

/** Every catalogue category lands in exactly one staff group (`services`: disk space, crashed services). */
export const CATEGORY_GROUP: Readonly<Record<Category, StaffCategory>> = {
  backup: "backups",
  antivirus: "antivirus",
  patching: "updates",
  encryption: "encryption",
  firewall: "firewall",
  network: "firewall",
  logging: "logging",
  time: "time",
  accounts: "accounts",
  access_control: "accounts",
  services: "system",
};

const KIND_TEXT: Readonly<Record<DeviceKind, string>> = {
  windows: "Windows computer",
  linux: "Linux server",
  macos: "Mac",
  appliance: "OsirisCare appliance",
};

/** Most urgent first: people must act, then approval, then scheduled, then in progress, then fixed. */
const STATE_ORDER: readonly ItemState[] = ["notified", "waiting_approval", "scheduled", "fixing", "fixed"];

/** The latest `check_cycle` of one device. */
export interface LatestScan {
  /** When the scan finished (ms). */
  at: number;
  reachable: boolean;
  results: readonly { check: string; status: CheckStatus }[];
}

/** An incident that is not resolved. */
export interface OpenIncident {
  host_id: string;
  check: string;
  status: Exclude<IncidentStatus, "resolved">;
  /** When this episode opened (ms). */
  opened_at: number;
  /** When the engine looks at it again (ms): for `deferred`, the start of the window it waits for. */
  next_attempt_at: number | null;
  /** The last gate or healing outcome (`alert`, `dry_run`, `success`, ...), or null. */
  last_outcome: string | null;
  /** A fix passed its re-check after the last failing scan. */
  healed: boolean;
}

/** What the sync client reports (absent until it is wired in). */
export interface SyncSnapshot {
  /** When a sync last succeeded (ms), or null if never. */
  last_success_at: number | null;
  /** Appliance clock minus relay clock at the last sync (ms), or null. */
  clock_offset_ms: number | null;
  /** The relay's last answer was that this appliance's enrollment is revoked. */
  revoked?: boolean;
}

export interface StatusInput {
  now: number;
  site: { id: string; name: string | null; timezone: string; healing_mode: HealingMode; maintenance_windows: readonly WindowSpec[] };
  /** `enrollment` absent: enrolled (or standalone). */
  appliance: { id: string; fingerprint: string; enrollment?: EnrollmentState };
  devices: readonly TargetRef[];
  /** Latest scan per device id (devices never scanned are absent). */
  latest: ReadonlyMap<string, LatestScan>;
  incidents: readonly OpenIncident[];
  evidence: { seq: number; hash: string };
  relay: {
    configured: boolean;
    interval_ms: number;
    /** When this daemon started (ms): "offline" needs OFFLINE_AFTER_INTERVALS intervals of trying. */
    started_at: number;
    sync: SyncSnapshot | null;
  };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const needAttention = (n: number) => `${plural(n, "item", "items")} ${n === 1 ? "needs" : "need"} attention`;

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b/gi;

/** A device name or id with any IP address in it removed (names come from configs people type). */
export function withoutAddresses(text: string, fallback: string): string {
  const cleaned = text.replace(IPV4, "").replace(IPV6, "").replace(/\(\s*\)/g, "").replace(/\s{2,}/g, " ").trim();
  return /[a-z0-9]/i.test(cleaned) ? cleaned : fallback;
}

/** The staff group of a catalogue check, or null for a check this catalogue does not know. */
function groupOf(catalogue: Catalogue, check: string): StaffCategory | null {
  const c = catalogue.findCheck(check);
  return c ? CATEGORY_GROUP[c.category] : null;
}

function itemState(i: OpenIncident, mode: HealingMode): ItemState {
  switch (i.status) {
    case "deferred":
      return "scheduled";
    case "pending_approval":
      return "waiting_approval";
    case "escalated":
      return "notified";
    case "open":
      if (i.healed) return "fixed";
      // observe mode records only; alert / dry_run mean no fix will run by itself.
      if (mode === "observe" || i.last_outcome === "alert" || i.last_outcome === "dry_run") return "notified";
      return "fixing";
  }
}

/** What happens next for an item, in plain words; `at` phrases a time in the site's zone. */
function statusText(state: ItemState, inc: OpenIncident, notifiedText: string, at: (ms: number) => string, now: number): string {
  switch (state) {
    case "scheduled":
      return inc.next_attempt_at !== null ? `fix scheduled for ${at(inc.next_attempt_at)}` : "fix scheduled for the next maintenance window";
    case "waiting_approval":
      return "waiting for approval";
    case "notified":
      return notifiedText;
    case "fixed":
      return "fixed — the next check will confirm it";
    case "fixing":
      if (inc.last_outcome !== "failed" && inc.last_outcome !== "reverted") return "being fixed";
      return `the last automatic fix did not work${inc.last_outcome === "reverted" ? " and was undone" : ""}; it will be tried again${inc.next_attempt_at !== null && inc.next_attempt_at > now ? ` ${at(inc.next_attempt_at)}` : ""}`;
  }
}

/** Builds the report. Throws RangeError for an unknown time zone (the config validated it already). */
export function buildStatus(input: StatusInput, catalogue: Catalogue): StatusReport {
  const { now } = input;
  const zone = TimeZone.of(input.site.timezone);
  const at = (ms: number) => timeText(ms, now, zone);
  const relay = relayStatus(input, zone);
  const enrolled = input.appliance.enrollment === undefined || input.appliance.enrollment === "enrolled";
  const notifies = input.relay.configured && enrolled && input.relay.sync?.revoked !== true;
  const notifiedText = notifies ? "your IT provider has been notified" : "your IT provider needs to look at this";

  const deviceIds = new Map<string, string>();
  input.devices.forEach((d, i) => deviceIds.set(d.id, withoutAddresses(d.id, `device-${i + 1}`)));
  const byDevice = new Map(input.devices.map((d) => [d.id, d]));

  const items: StatusItem[] = [];
  type Check = NonNullable<ReturnType<Catalogue["findCheck"]>>;
  const item = (device: TargetRef, check: Check, state: ItemState, status_text: string, since: number): StatusItem => ({
    device_id: deviceIds.get(device.id)!,
    device_name: withoutAddresses(device.name, deviceIds.get(device.id)!),
    check: check.id,
    title: check.title,
    staff_text: check.staff_text,
    category: CATEGORY_GROUP[check.category],
    state,
    status_text,
    since: at(since),
  });
  for (const inc of input.incidents) {
    const device = byDevice.get(inc.host_id);
    const check = catalogue.findCheck(inc.check);
    // An incident of a device no longer configured, or of a check this catalogue lacks, has no one to show it to.
    if (!device || !check) continue;
    const state = itemState(inc, input.site.healing_mode);
    items.push(item(device, check, state, statusText(state, inc, notifiedText, (ms) => timePhrase(ms, now, zone), now), inc.opened_at));
  }
  if (!enrolled) {
    // No incidents before enrollment: the failing checks of the latest scans are the items.
    for (const device of input.devices) {
      const scan = input.latest.get(device.id);
      if (!scan?.reachable) continue;
      for (const r of scan.results) {
        const check = r.status === "fail" ? catalogue.findCheck(r.check) : undefined;
        if (check) items.push(item(device, check, "notified", "found by this appliance; nothing is fixed automatically until your IT provider has connected it", scan.at));
      }
    }
  }
  items.sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.device_name.localeCompare(b.device_name) || a.title.localeCompare(b.title));
  const attention = items.filter((i) => i.state !== "fixed");

  const devices: DeviceStatus[] = input.devices.map((d) => {
    const id = deviceIds.get(d.id)!;
    const scan = input.latest.get(d.id);
    const own = items.filter((i) => i.device_id === id);
    const open = own.filter((i) => i.state !== "fixed").length;
    let level: StatusLevel;
    let state_text: string;
    if (!scan) [level, state_text] = ["unknown", "Not checked yet"];
    else if (!scan.reachable) [level, state_text] = ["attention", "Could not be checked at the last attempt"];
    else if (open > 0) [level, state_text] = ["attention", needAttention(open)];
    else [level, state_text] = ["ok", "All checks passing"];
    return {
      id,
      name: withoutAddresses(d.name, id),
      kind: d.platform,
      kind_text: KIND_TEXT[d.platform],
      simulated: d.simulated,
      level,
      state_text,
      last_check: scan ? at(scan.at) : null,
      items: own,
    };
  });

  const unreachable = input.devices.filter((d) => input.latest.get(d.id)?.reachable === false).length;
  const categories: CategoryStatus[] = STAFF_CATEGORIES.map(({ id, title }) => {
    const n = attention.filter((i) => i.category === id).length;
    const checked = input.devices.some((d) => {
      const s = input.latest.get(d.id);
      return s?.reachable === true && s.results.some((r) => (r.status === "pass" || r.status === "fail") && groupOf(catalogue, r.check) === id);
    });
    const level: StatusLevel = n > 0 ? "attention" : checked ? "ok" : "unknown";
    return { id, title, level, attention: n, text: n > 0 ? needAttention(n) : checked ? (unreachable > 0 ? "All good where checked" : "All good") : "Not checked yet" };
  });

  const scanned = input.devices.some((d) => input.latest.has(d.id));
  const tail = notifies ? "your IT provider has been notified" : "please let your IT provider know";
  let level: StatusLevel;
  let headline: string;
  let detail: string | null = null;
  if (attention.length > 0) {
    level = "attention";
    headline = `${needAttention(attention.length)} — ${tail}`;
    if (unreachable > 0) detail = `${plural(unreachable, "device", "devices")} could not be checked at the last attempt`;
  } else if (unreachable > 0) {
    level = "attention";
    headline = `${plural(unreachable, "device", "devices")} could not be checked`;
    detail = input.devices.some((d) => input.latest.get(d.id)?.reachable === true) ? "Everything that could be checked is passing" : "No device could be checked yet, so nothing is known about them";
  } else if (!scanned) {
    level = "unknown";
    headline = "Waiting for the first check";
  } else {
    level = "ok";
    headline = "All checks passing";
  }

  const lastScan = Math.max(...input.devices.map((d) => input.latest.get(d.id)?.at ?? Number.NEGATIVE_INFINITY));
  const head = input.evidence;
  const shortHash = head.seq > 0 ? head.hash.slice(0, SHORT_HASH_CHARS) : "";
  return {
    schema: "osiris.status/v1",
    generated_at: at(now),
    site: { id: input.site.id, name: input.site.name ?? input.site.id, timezone: zone.name },
    simulated: input.devices.some((d) => d.simulated),
    overall: { level, headline, detail, attention_count: attention.length, unreachable_count: unreachable },
    last_check: Number.isFinite(lastScan) ? at(lastScan) : null,
    next_window: nextWindow(input, zone),
    relay,
    categories,
    devices,
    attention,
    appliance: {
      id: input.appliance.id,
      fingerprint: input.appliance.fingerprint,
      enrollment: input.appliance.enrollment ?? "enrolled",
      evidence: { seq: head.seq, short_hash: shortHash, text: head.seq > 0 ? `record ${head.seq}, ${shortHash}` : "no records yet" },
    },
  };
}

function relayStatus(input: StatusInput, zone: TimeZone): RelayStatus {
  const { now, relay } = input;
  const offset = relay.sync?.clock_offset_ms ?? null;
  if (!relay.configured) {
    return { state: "standalone", text: "Not connected to a relay (standalone)", last_sync: null, banner: null, clock_offset_ms: null };
  }
  const enrollment = input.appliance.enrollment ?? "enrolled";
  if (enrollment !== "enrolled") {
    return {
      state: "waiting_enrollment",
      text: enrollment === "pending" ? "Waiting for enrollment: registered, waiting for your IT provider to accept it" : "Waiting for enrollment",
      last_sync: null,
      banner: `This appliance is not connected to your IT provider yet. It already checks your computers, and starts keeping and sending its records once your IT provider has accepted it (they compare its key fingerprint, ${input.appliance.fingerprint}).`,
      clock_offset_ms: null,
    };
  }
  const last = relay.sync?.last_success_at ?? null;
  if (relay.sync?.revoked) {
    return {
      state: "offline",
      text: "Disconnected by your IT provider",
      last_sync: last === null ? null : timeText(last, now, zone),
      banner: "Your IT provider has disconnected this appliance (its enrollment was revoked): it no longer sends them its results. Checks continue here. If you did not expect this, contact your IT provider.",
      clock_offset_ms: offset,
    };
  }
  const limit = OFFLINE_AFTER_INTERVALS * relay.interval_ms;
  if (last === null) {
    const offline = now - relay.started_at > limit;
    return {
      state: offline ? "offline" : "never",
      text: "Never synced with your IT provider",
      last_sync: null,
      banner: offline ? "This appliance cannot reach your IT provider. Checks continue here and results will be sent when the connection is back." : null,
      clock_offset_ms: offset,
    };
  }
  const since = timeText(last, now, zone);
  if (now - last > limit) {
    return {
      state: "offline",
      text: `Last sent to your IT provider ${since.text}`,
      last_sync: since,
      banner: `This appliance has not reached your IT provider since ${since.text}. Checks continue here and results will be sent when the connection is back.`,
      clock_offset_ms: offset,
    };
  }
  return { state: "ok", text: `Last sent to your IT provider ${since.text}`, last_sync: since, banner: null, clock_offset_ms: offset };
}

function nextWindow(input: StatusInput, zone: TimeZone): StatusReport["next_window"] {
  if (input.site.maintenance_windows.length === 0) return null;
  const windows = input.site.maintenance_windows.map((w) => parseWindow(w));
  const status = isInWindow(windows, new Date(input.now));
  const occ = status.current ?? status.next;
  if (!occ) return null;
  const [start, end] = [occ.start.getTime(), occ.end.getTime()];
  const endText = sameLocalDay(start, end, zone) ? clockPhrase(end, zone) : timePhrase(end, input.now, zone);
  const text = status.current ? `now, until ${timePhrase(end, input.now, zone)}` : `${timePhrase(start, input.now, zone)}–${endText}`;
  return { start: timeText(start, input.now, zone), end: timeText(end, input.now, zone), text };
}
