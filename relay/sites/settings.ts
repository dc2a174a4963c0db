/**
 * A site's operating settings (`PUT /api/sites/:site_id/settings`): healing mode, L2 on/off and maintenance
 * windows. Every window is checked with the appliance's own window code (a rule the appliance would refuse
 * is refused here, with the reason) and stored with its zone written out. The change, its audit entry and
 * the re-validation of the whole configuration against the wire schema happen in one transaction; the
 * site's appliances pick the new configuration up at their next pull.
 */
import { z } from "zod";
import { nextWindows, parseWindow, WindowError } from "../../protocol/windows/windows.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { HEALING_MODES, MAX_MAINTENANCE_WINDOWS, type SiteConfig } from "../../protocol/sync.ts";
import { audit } from "../auth/audit.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { siteConfig } from "../tenants/tenants.ts";
import { mayIssueOrderType } from "./order-access.ts";

export const windowInputSchema = z.strictObject({
  rrule: z.string().trim().min(1).max(512),
  duration: z.string().trim().min(1).max(32),
  /** IANA zone; the site's zone when left out. */
  tz: z.string().trim().min(1).max(64).optional(),
});

export const settingsInputSchema = z
  .strictObject({
    healing_mode: z.enum(HEALING_MODES).optional(),
    l2_enabled: z.boolean().optional(),
    maintenance_windows: z.array(windowInputSchema).max(MAX_MAINTENANCE_WINDOWS).optional(),
  })
  .refine((s) => s.healing_mode !== undefined || s.l2_enabled !== undefined || s.maintenance_windows !== undefined, { message: "name at least one of healing_mode, l2_enabled, maintenance_windows" });
export type SettingsInput = z.output<typeof settingsInputSchema>;

/** Validates windows with the appliance's parser; RelayError `schema` naming the window and the problem. */
export function checkWindows(windows: readonly z.output<typeof windowInputSchema>[], siteTz: string, now: number): { rrule: string; duration: string; tz: string }[] {
  return windows.map((w, i) => {
    const spec = { rrule: w.rrule, duration: w.duration, tz: w.tz ?? siteTz };
    let window;
    try {
      window = parseWindow(spec);
    } catch (e) {
      if (e instanceof WindowError) throw new RelayError("schema", `maintenance_windows[${i}]: ${e.message}`, { index: i, code: e.code });
      throw e;
    }
    // A window lasting longer than the gap to its next start never closes: disruptive fixes would run at
    // any time, which is what windows are there to prevent.
    const next = nextWindows(window, new Date(now), OVERLAP_LOOKAHEAD);
    for (let k = 1; k < next.length; k++) {
      if (next[k]!.start.getTime() < next[k - 1]!.end.getTime()) {
        throw new RelayError("schema", `maintenance_windows[${i}]: each window lasts ${spec.duration} but the next one starts before it ends (${next[k - 1]!.start.toISOString()} and ${next[k]!.start.toISOString()}): the site would always be in a window`, { index: i, code: "overlapping" });
      }
    }
    return spec;
  });
}

/** Occurrences checked for a window that overlaps its successor (a week of a daily window, several of a weekly one). */
const OVERLAP_LOOKAHEAD = 8;

/** Applies the settings and records the change; returns the configuration appliances will pull. */
export async function updateSettings(db: RelayDb, clock: Clock, principal: Principal, siteId: string, body: unknown): Promise<SiteConfig> {
  const input = parseSchema(settingsInputSchema, body, "site settings");
  return db.transaction(async (tx) => {
    const before = await siteConfig(tx, siteId);
    const org = (await tx.execute({ sql: "SELECT org_id FROM sites WHERE id = ?", args: [siteId] })).rows[0]!;
    const changes: Record<string, unknown> = {};
    if (input.healing_mode !== undefined && input.healing_mode !== before.healing_mode) {
      // The same decision as a set_healing_mode order, so the same right: turning healing off (or on) at a
      // clinic must not be open to whoever may not sign that order.
      if (!mayIssueOrderType(principal, "set_healing_mode")) {
        throw new RelayError("forbidden", `Only an MSP administrator may change how a site heals (healing_mode ${before.healing_mode} → ${input.healing_mode}): your role is ${principal.role}`);
      }
      await tx.execute({ sql: "UPDATE sites SET healing_mode = ? WHERE id = ?", args: [input.healing_mode, siteId] });
      changes["healing_mode"] = { from: before.healing_mode, to: input.healing_mode };
    }
    if (input.l2_enabled !== undefined && input.l2_enabled !== before.l2_enabled) {
      await tx.execute({ sql: "UPDATE sites SET l2_enabled = ? WHERE id = ?", args: [input.l2_enabled ? 1 : 0, siteId] });
      changes["l2_enabled"] = { from: before.l2_enabled, to: input.l2_enabled };
    }
    if (input.maintenance_windows !== undefined) {
      const windows = checkWindows(input.maintenance_windows, before.timezone, clock.now());
      if (JSON.stringify(windows) !== JSON.stringify(before.maintenance_windows)) {
        await tx.execute({ sql: "UPDATE sites SET maintenance_windows = ? WHERE id = ?", args: [JSON.stringify(windows), siteId] });
        changes["maintenance_windows"] = { from: before.maintenance_windows, to: windows };
      }
    }
    const after = await siteConfig(tx, siteId); // the wire schema again: a value appliances would refuse rolls back here
    if (Object.keys(changes).length > 0) {
      await audit(tx, clock, principal, { action: "site.settings.update", target: siteId, site_id: siteId, org_id: str(org, "org_id"), details: changes });
    }
    return after;
  });
}
