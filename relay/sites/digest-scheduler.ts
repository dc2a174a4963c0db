/**
 * Keeps every site's dashboard digest current in the background, so the fleet view never has to read a
 * large backlog while someone waits (its own refresh reads at most FLEET_REFRESH_BUDGET_ROWS per site).
 * Each round walks the sites in id order and refreshes each with a bounded budget; a round never overlaps
 * the previous one. Safe with several relay processes (the digest is idempotent), so it takes no lease.
 *
 *   const job = startSiteDigestScheduler(deps, { intervalMs: 60_000 });  …  await job.stop();
 */
import { str } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { refreshSiteDigest } from "./digest.ts";

/** A round every minute: appliances push about that often. */
export const DEFAULT_DIGEST_INTERVAL_MS = 60_000;
/** Rows per site per round: a week-long backlog catches up over a few rounds without one long stall. */
export const DIGEST_ROUND_BUDGET_ROWS = 50_000;

export interface SiteDigestScheduler {
  /** Runs one round now (also what the timer runs); resolves with the number of rows read. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startSiteDigestScheduler(deps: Pick<RelayDeps, "db" | "clock" | "random" | "log">, opts: { intervalMs?: number; budgetRows?: number } = {}): SiteDigestScheduler {
  const intervalMs = opts.intervalMs ?? DEFAULT_DIGEST_INTERVAL_MS;
  const budget = opts.budgetRows ?? DIGEST_ROUND_BUDGET_ROWS;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1000) throw new RangeError(`Cannot schedule the site digest as 'intervalMs' must be at least 1000: current value is ${intervalMs}`);
  let running: Promise<number> | null = null;
  let stopped = false;

  const round = async (): Promise<number> => {
    let rows = 0;
    const sites = await deps.db.execute("SELECT DISTINCT site_id FROM appliances ORDER BY site_id");
    for (const r of sites.rows) {
      if (stopped) break;
      rows += (await refreshSiteDigest(deps.db, str(r, "site_id"), deps, budget)).rows;
    }
    if (rows > 0) deps.log.info("site_digest_round", { sites: sites.rows.length, rows });
    return rows;
  };
  const runOnce = (): Promise<number> => {
    running ??= round().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => {
    runOnce().catch((e: unknown) => deps.log.error("site_digest_failed", { error: e instanceof Error ? e.message : String(e) }));
  }, intervalMs);
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
