/**
 * The MSP's L2 settings: the kill switch, budgets and the confidence floor. Budgets count calls to the model
 * (rows of `l2_decisions` with `llm_called = 1`) over the last hour and day, per site and for the whole MSP
 * ("global"); a request over any budget escalates without calling the model. Changing settings is audited.
 */
import { z } from "zod";
import { isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { num, str, type RelayDb, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import type { Principal } from "../http/types.ts";
import { endpointFor, type L2Config } from "./config.ts";

/** Largest budget accepted: a runaway setting still has a ceiling. */
export const MAX_BUDGET = 100_000;

export interface L2Settings {
  /** False: the kill switch is on, every request escalates without calling the model. */
  enabled: boolean;
  site_per_hour: number;
  site_per_day: number;
  global_per_hour: number;
  global_per_day: number;
  /** Plans below this confidence escalate (the appliance applies its own floor too). */
  min_confidence: number;
}

/** Defaults for an MSP that never saved settings: a handful of calls per site, a few hundred per MSP. */
export const DEFAULT_L2_SETTINGS: Readonly<L2Settings> = Object.freeze({
  enabled: true,
  site_per_hour: 10,
  site_per_day: 50,
  global_per_hour: 200,
  global_per_day: 2_000,
  min_confidence: 0.8,
});

const budget = z.number().int().min(0).max(MAX_BUDGET);
export const l2SettingsUpdateSchema = z.strictObject({
  enabled: z.boolean().optional(),
  site_per_hour: budget.optional(),
  site_per_day: budget.optional(),
  global_per_hour: budget.optional(),
  global_per_day: budget.optional(),
  min_confidence: z.number().min(0).max(1).optional(),
});

export const l2SettingsViewSchema = z.object({
  enabled: z.boolean(),
  site_per_hour: z.number(),
  site_per_day: z.number(),
  global_per_hour: z.number(),
  global_per_day: z.number(),
  min_confidence: z.number(),
  llm: z.object({ configured: z.boolean(), model: z.string().nullable(), host: z.string().nullable() }),
  usage: z.object({ last_hour: z.number(), last_day: z.number() }),
  updated_at: z.string().nullable(),
});
export type L2SettingsView = z.output<typeof l2SettingsViewSchema>;

/** The MSP's settings (defaults when none were saved). */
export async function l2Settings(db: RelayDb | Tx, mspId: string): Promise<L2Settings & { updated_at: string | null }> {
  const rs = await db.execute({ sql: "SELECT * FROM l2_settings WHERE msp_id = ?", args: [mspId] });
  const r = rs.rows[0];
  if (!r) return { ...DEFAULT_L2_SETTINGS, updated_at: null };
  return {
    enabled: num(r, "enabled") === 1,
    site_per_hour: num(r, "site_per_hour"),
    site_per_day: num(r, "site_per_day"),
    global_per_hour: num(r, "global_per_hour"),
    global_per_day: num(r, "global_per_day"),
    min_confidence: Number(r["min_confidence"]),
    updated_at: str(r, "updated_at"),
  };
}

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;

export interface Usage {
  site_hour: number;
  site_day: number;
  msp_hour: number;
  msp_day: number;
}

/** Model calls in the last hour and day, for a site and its MSP. */
export async function usage(db: RelayDb | Tx, mspId: string, siteId: string, nowMs: number): Promise<Usage> {
  const hour = isoTime(nowMs - HOUR_MS);
  const day = isoTime(nowMs - DAY_MS);
  const rs = await db.execute({
    sql: `SELECT
            COALESCE(SUM(CASE WHEN site_id = ?1 AND created_at > ?2 THEN 1 ELSE 0 END), 0) AS site_hour,
            COALESCE(SUM(CASE WHEN site_id = ?1 THEN 1 ELSE 0 END), 0) AS site_day,
            COALESCE(SUM(CASE WHEN created_at > ?2 THEN 1 ELSE 0 END), 0) AS msp_hour,
            COUNT(*) AS msp_day
          FROM l2_decisions WHERE msp_id = ?3 AND llm_called = 1 AND created_at > ?4`,
    args: [siteId, hour, mspId, day],
  });
  const r = rs.rows[0]!;
  return { site_hour: num(r, "site_hour"), site_day: num(r, "site_day"), msp_hour: num(r, "msp_hour"), msp_day: num(r, "msp_day") };
}

/** Which budget a call now would exceed, or null when every budget has room. */
export function exceededBudget(s: L2Settings, u: Usage): string | null {
  if (u.site_hour >= s.site_per_hour) return `site budget of ${s.site_per_hour} calls per hour is used up`;
  if (u.site_day >= s.site_per_day) return `site budget of ${s.site_per_day} calls per day is used up`;
  if (u.msp_hour >= s.global_per_hour) return `MSP budget of ${s.global_per_hour} calls per hour is used up`;
  if (u.msp_day >= s.global_per_day) return `MSP budget of ${s.global_per_day} calls per day is used up`;
  return null;
}

/** The settings as the dashboard shows them: with where the model is (never the key) and recent usage. */
export async function l2SettingsView(db: RelayDb, config: L2Config | undefined, mspId: string, nowMs: number): Promise<L2SettingsView> {
  const s = await l2Settings(db, mspId);
  const endpoint = endpointFor(config, mspId);
  const u = await usage(db, mspId, "", nowMs);
  return {
    ...s,
    llm: { configured: endpoint !== null, model: endpoint?.model ?? null, host: endpoint ? new URL(endpoint.url).host : null },
    usage: { last_hour: u.msp_hour, last_day: u.msp_day },
  };
}

/** Changes some settings (the rest keep their value); audited with the before and after values. */
export async function updateL2Settings(db: RelayDb, env: Env, principal: Principal, body: unknown): Promise<void> {
  const change = parseSchema(l2SettingsUpdateSchema, body, "L2 settings");
  await db.transaction(async (tx) => {
    const before = await l2Settings(tx, principal.msp_id);
    const after: L2Settings = {
      enabled: change.enabled ?? before.enabled,
      site_per_hour: change.site_per_hour ?? before.site_per_hour,
      site_per_day: change.site_per_day ?? before.site_per_day,
      global_per_hour: change.global_per_hour ?? before.global_per_hour,
      global_per_day: change.global_per_day ?? before.global_per_day,
      min_confidence: change.min_confidence ?? before.min_confidence,
    };
    const now = isoTime(env.clock.now());
    await tx.execute({
      sql: `INSERT INTO l2_settings (msp_id, enabled, site_per_hour, site_per_day, global_per_hour, global_per_day, min_confidence, updated_at, updated_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (msp_id) DO UPDATE SET enabled = excluded.enabled, site_per_hour = excluded.site_per_hour, site_per_day = excluded.site_per_day,
              global_per_hour = excluded.global_per_hour, global_per_day = excluded.global_per_day, min_confidence = excluded.min_confidence,
              updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      args: [principal.msp_id, after.enabled ? 1 : 0, after.site_per_hour, after.site_per_day, after.global_per_hour, after.global_per_day, after.min_confidence, now, principal.user_id],
    });
    const { updated_at: _u, ...was } = before;
    await audit(tx, env.clock, principal, { action: after.enabled === was.enabled ? "l2.settings.update" : after.enabled ? "l2.enable" : "l2.kill_switch", target: principal.msp_id, details: { before: was, after } });
  });
}
