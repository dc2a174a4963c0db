/**
 * The status page's JSON (`GET /api/status`, and each `status` event of `GET /api/events`): what the clinic's
 * staff see, already in plain language. The appliance builds it (status-api.ts); the page (ui/status/) and
 * anything else that reads it import these types, so both ends share one definition.
 *
 * Types only: no runtime code, so the browser bundle imports nothing from the appliance.
 *
 * What it never holds: patient data, secrets, credentials, IP addresses, relay URLs, raw facts or error
 * messages (those can carry addresses). Devices appear by their display name only.
 */

/** Schema tag of the report; bumped when a field changes meaning. */
export type StatusSchema = "osiris.status/v1";

/** How things stand, for colour and icon (the text always says it too, never colour alone). */
export type StatusLevel = "ok" | "attention" | "unknown";

/** A moment, as an ISO 8601 time with the site's UTC offset plus a short phrase in the site's zone. */
export interface TimeText {
  /** e.g. "2026-11-25T10:15:00-05:00". */
  at: string;
  /** e.g. "today 10:15", "yesterday 23:40", "Sat 02:00", "Tue 12 Jan 09:00". */
  text: string;
}

/** The staff-facing groups the catalogue's categories are shown in. */
export type StaffCategory = "backups" | "antivirus" | "updates" | "encryption" | "firewall" | "logging" | "time" | "accounts" | "system";

/**
 * Where a problem stands, in staff terms:
 * - `scheduled`: a fix waits for the next maintenance window (row status `deferred`);
 * - `waiting_approval`: a fix waits for the IT provider's approval (`pending_approval`);
 * - `notified`: people have to look at it (`escalated`);
 * - `fixing`: found, a fix is on its way (`open`);
 * - `fixed`: a fix worked and the next check will confirm it (not counted as needing attention).
 */
export type ItemState = "scheduled" | "waiting_approval" | "notified" | "fixing" | "fixed";

export interface StatusItem {
  device_id: string;
  device_name: string;
  /** Catalogue check id, e.g. "windows.smb1_disabled". */
  check: string;
  /** Catalogue title: what should be true, e.g. "Firewall is on". */
  title: string;
  /** Catalogue `staff_text`: what it means and why it matters, no jargon. */
  staff_text: string;
  category: StaffCategory;
  state: ItemState;
  /** e.g. "fix scheduled for Sat 02:00", "waiting for approval", "your IT provider has been notified". */
  status_text: string;
  /** When the problem was first seen in this episode. */
  since: TimeText;
}

export interface CategoryStatus {
  id: StaffCategory;
  title: string;
  level: StatusLevel;
  /** e.g. "All good", "1 item needs attention", "Not checked yet". */
  text: string;
  /** Items needing attention in this group. */
  attention: number;
}

export type DeviceKind = "windows" | "linux" | "macos" | "appliance";

export interface DeviceStatus {
  id: string;
  /** Display name from the config or the lab site; never an address. */
  name: string;
  kind: DeviceKind;
  /** e.g. "Windows computer". */
  kind_text: string;
  /** The lab collector: not a real computer. */
  simulated: boolean;
  level: StatusLevel;
  /** e.g. "All checks passing", "2 items need attention", "Could not be checked at the last attempt". */
  state_text: string;
  last_check: TimeText | null;
  /** Problems on this device, including ones just fixed. */
  items: StatusItem[];
}

/**
 * Connection to the IT provider's relay:
 * - `standalone`: no relay configured;
 * - `never`: configured, no sync has succeeded yet;
 * - `ok`: synced recently;
 * - `offline`: no successful sync for more than OFFLINE_AFTER_INTERVALS sync intervals;
 * - `waiting_enrollment`: configured, but the appliance is not enrolled yet (unclaimed, or pending until the
 *   IT provider accepts it after comparing the key fingerprint).
 */
export type RelayState = "standalone" | "never" | "ok" | "offline" | "waiting_enrollment";

/** The appliance's enrollment with its relay (a standalone appliance counts as enrolled). */
export type EnrollmentState = "unclaimed" | "pending" | "enrolled";

export interface RelayStatus {
  state: RelayState;
  /** e.g. "Last sent to your IT provider today 10:14", "Not connected to a relay (standalone)". */
  text: string;
  last_sync: TimeText | null;
  /** Shown as a banner while offline, else null. */
  banner: string | null;
  /** Appliance clock minus relay clock (ms) as measured at the last sync, or null. */
  clock_offset_ms: number | null;
}

export interface StatusReport {
  schema: StatusSchema;
  generated_at: TimeText;
  site: { id: string; name: string; timezone: string };
  /** True when any device comes from the lab collector: the page must say "simulated" prominently. */
  simulated: boolean;
  overall: {
    level: StatusLevel;
    /** "All checks passing", "2 items need attention — your IT provider has been notified", ... */
    headline: string;
    /** A second line, e.g. "1 device could not be checked at the last attempt", or null. */
    detail: string | null;
    attention_count: number;
    unreachable_count: number;
  };
  last_check: TimeText | null;
  next_window: { start: TimeText; end: TimeText; text: string } | null;
  relay: RelayStatus;
  categories: CategoryStatus[];
  devices: DeviceStatus[];
  /** Every item needing attention (state other than `fixed`), most urgent first. */
  attention: StatusItem[];
  appliance: {
    id: string;
    /** Public evidence key fingerprint, compared by the MSP when it accepts a drop-shipped appliance. */
    fingerprint: string;
    enrollment: EnrollmentState;
    evidence: { seq: number; short_hash: string; text: string };
  };
}
