/**
 * Words and numbers for the dashboard: scores ("No data", never a made-up 100 %), times relative to now and
 * in full, and the plain names of states. Pure functions; the clock is passed in.
 */

/** "86 %" or "No data". */
export function scoreText(score: number | null): string {
  return score === null ? "No data" : `${Math.floor(score)} %`;
}

/** Badge class for a score: ok from 90, warn from 70, bad below; none without data. */
export function scoreClass(score: number | null): "ok" | "warn" | "bad" | "none" {
  if (score === null) return "none";
  return score >= 90 ? "ok" : score >= 70 ? "warn" : "bad";
}

const UNITS: [number, string][] = [
  [86_400_000, "day"],
  [3_600_000, "hour"],
  [60_000, "minute"],
];

/** "3 minutes ago", "in 2 hours", "just now". */
export function relative(iso: string | null, now: number): string {
  if (!iso) return "never";
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  if (abs < 60_000) return "just now";
  for (const [ms, unit] of UNITS) {
    if (abs >= ms) {
      const n = Math.floor(abs / ms);
      const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return diff < 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "just now";
}

/** "27 Nov 2026, 12:00" in the viewer's zone (or the given one); `named` adds the zone's name: "27 Nov 2026, 12:00 UTC". */
export function fullTime(iso: string | null, timeZone?: string, named = false): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", ...(timeZone ? { timeZone } : {}), ...(named ? { timeZoneName: "short" } : {}) }).format(new Date(iso));
}

/**
 * "27 Nov 2026, 12:00 UTC": the times of monthly reports and their auditor kits. A report's month runs in UTC
 * and its PDF prints UTC (relay/report/packet-text.ts formatTime), so what shows a report beside its PDF shows
 * the same clock times, with the zone named, whatever the viewer's own zone.
 */
export const reportTime = (iso: string | null): string => fullTime(iso, "UTC", true);

export const FRAMEWORK_TEXT: Readonly<Record<string, string>> = { hipaa: "HIPAA", soc2: "SOC 2", glba: "GLBA" };
/** "HIPAA", or the framework's id in capitals for one this UI does not know. */
export const frameworkText = (framework: string): string => FRAMEWORK_TEXT[framework] ?? framework.toUpperCase();

export const STATUS_TEXT: Readonly<Record<string, string>> = { pass: "Passing", fail: "Failing", error: "Could not check", not_applicable: "Not applicable" };
export const STATUS_CLASS: Readonly<Record<string, string>> = { pass: "ok", fail: "bad", error: "warn", not_applicable: "none" };

export const CONNECTION_TEXT: Readonly<Record<string, string>> = { online: "Online", offline: "Offline", never: "Never connected", no_appliance: "No appliance" };
export const CONNECTION_CLASS: Readonly<Record<string, string>> = { online: "ok", offline: "bad", never: "warn", no_appliance: "none" };

export const OUTCOME_TEXT: Readonly<Record<string, string>> = {
  success: "Fixed",
  failed: "Fix failed",
  reverted: "Fix rolled back",
  deferred: "Scheduled for the maintenance window",
  pending_approval: "Waiting for approval",
  dry_run: "Dry run",
  escalated: "Escalated to a person",
  alert: "Alert only",
  rejected: "Refused",
  expired: "Expired",
};
/** An order's result as the orders list names it: orders are not all fixes (a token or key rotation, a scan). */
export const ORDER_RESULT_TEXT: Readonly<Record<string, string>> = {
  ...OUTCOME_TEXT,
  success: "Succeeded",
  failed: "Failed",
  reverted: "Rolled back",
  deferred: "Deferred",
};
export const OUTCOME_CLASS: Readonly<Record<string, string>> = { success: "ok", failed: "bad", reverted: "warn", deferred: "info", pending_approval: "warn", escalated: "bad", alert: "warn", rejected: "bad", expired: "none", dry_run: "none" };

export const HEALING_MODE_TEXT: Readonly<Record<string, string>> = {
  observe: "Observe — check and record only",
  advise: "Advise — say which fix would run, wait for approval",
  enforce: "Enforce — fix automatically, within the gates",
};

export const ROLE_TEXT: Readonly<Record<string, string>> = {
  msp_admin: "MSP administrator",
  msp_tech: "MSP technician",
  partner_admin: "Partner administrator",
  partner_tech: "Partner technician",
  partner_billing: "Partner billing",
  client_owner: "Clinic owner",
  client_viewer: "Clinic viewer",
};

/** "1 site", "3 sites". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
