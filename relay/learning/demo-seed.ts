/**
 * Demo seeding: a labelled, simulated history of past L2 resolutions at given sites, so the learning loop has
 * something to learn from the moment `osiris demo` starts. Every row says so: `appliance_id` is `simulated`
 * and `provenance` starts with `simulated:`; nothing here is ever presented as a real resolution.
 *
 * The default history is two fixes the built-in rules leave to L2 (their built-in rule has a condition the
 * facts do not meet), each resolved by the L2 planner a few times at every site over the last days, with the
 * facts the appliance would have seen (so shadow replay can judge them). Deterministic given the sites and
 * `now` (attempt ids are derived, not random), so seeding twice adds nothing.
 */
import { canonicalize } from "../../protocol/canonical.ts";
import type { JsonObject } from "../../protocol/evidence.ts";
import { sha256 } from "../../protocol/hash.ts";
import { isoTime, toBase32Lower } from "../../protocol/ids.ts";
import { str, type RelayDb } from "../db/index.ts";
import { insertAttempt } from "./attempts.ts";
import { HOUR_MS } from "./thresholds.ts";

export const SIMULATED_PROVENANCE = "simulated:osiris demo seed, a labelled simulated history (not a real resolution)";
/** Stands in for an appliance id on simulated rows. */
export const SIMULATED_APPLIANCE = "simulated";
/** Most rows one call writes (sites × fixes × per site). */
export const MAX_SEED_ROWS = 10_000;

/** One fix to seed: what failed, what fixed it, and the facts before. */
export interface SeedFix {
  check: string;
  platform: string;
  runbook: string;
  params: JsonObject;
  host_id: string;
  facts: JsonObject;
}

export const DEFAULT_SEED_FIXES: readonly SeedFix[] = [
  {
    // Built-in rule needs defender.running_mode = "Normal"; with the mode unreadable, L2 found the same fix.
    check: "windows.defender_realtime",
    platform: "windows",
    runbook: "windows.enable_defender_realtime",
    params: {},
    host_id: "sim-ws-01",
    facts: { "defender.running_mode": null, "defender.realtime_enabled": false, "defender.antivirus_enabled": true },
  },
  {
    // Built-in rule needs wu.service_start_mode to exist; with it unreadable, L2 restarted the service.
    check: "windows.update_service",
    platform: "windows",
    runbook: "windows.restart_windows_update",
    params: {},
    host_id: "sim-ws-02",
    facts: { "wu.service_start_mode": null },
  },
];

export interface SeedOptions {
  /** Sites to attribute the history to (at least two for fleet-wide candidates). */
  sites: readonly string[];
  /** End of the history (ms); the runs are spread over the `days` before it. */
  now: number;
  /** Resolutions per site and fix (default 3). */
  perSite?: number;
  /** Days the history spans (default 5, inside the default 7-day window). */
  days?: number;
  fixes?: readonly SeedFix[];
}

/** Inserts the simulated history; returns how many rows were new. */
export async function seedSimulatedHistory(db: RelayDb, opts: SeedOptions): Promise<{ inserted: number }> {
  const perSite = opts.perSite ?? 3;
  const days = opts.days ?? 5;
  const fixes = opts.fixes ?? DEFAULT_SEED_FIXES;
  if (!Number.isInteger(perSite) || perSite < 1) throw new RangeError(`perSite must be a positive integer: current value is ${perSite}`);
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new RangeError(`days must be an integer from 1 to 365: current value is ${days}`);
  if (opts.sites.length * fixes.length * perSite > MAX_SEED_ROWS) throw new RangeError(`Seeding ${opts.sites.length * fixes.length * perSite} rows is over the limit of ${MAX_SEED_ROWS}`);
  const spanMs = days * 24 * HOUR_MS;
  return db.transaction(async (tx) => {
    let inserted = 0;
    for (const [s, siteId] of opts.sites.entries()) {
      const row = (await tx.execute({ sql: "SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?", args: [siteId] })).rows[0];
      if (!row) throw new RangeError(`Cannot seed history for site ${JSON.stringify(siteId)}: no such site`);
      const mspId = str(row, "msp_id");
      for (const [f, fix] of fixes.entries()) {
        for (let i = 0; i < perSite; i++) {
          // Spread evenly over the span, staggered per site and fix so no two runs share a time.
          const at = opts.now - Math.floor(((i + 1) * spanMs) / (perSite + 1)) - (s * fixes.length + f) * 7 * 60_000;
          const duration = 3_000 + ((i * 1_733 + s * 977 + f * 311) % 6_000);
          const attemptId = `att_${toBase32Lower(sha256(`${SIMULATED_PROVENANCE}|${siteId}|${fix.check}|${fix.runbook}|${canonicalize(fix.params)}|${i}|${opts.now}`).slice(0, 16))}`;
          const fresh = await insertAttempt(tx, {
            appliance_id: SIMULATED_APPLIANCE,
            attempt_id: attemptId,
            msp_id: mspId,
            site_id: siteId,
            outbox_seq: null,
            body: {
              incident_id: null,
              host_id: fix.host_id,
              check: fix.check,
              platform: fix.platform,
              runbook: fix.runbook,
              params: fix.params,
              tier: "L2",
              outcome: "success",
              duration_ms: duration,
              rule_id: null,
              started_at: isoTime(at - duration),
              finished_at: isoTime(at),
            },
            pre_state: fix.facts,
            provenance: SIMULATED_PROVENANCE,
            received_at: isoTime(opts.now),
          });
          if (fresh) inserted++;
        }
      }
    }
    return { inserted };
  });
}
