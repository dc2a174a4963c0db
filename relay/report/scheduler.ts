/**
 * Monthly packets without anyone asking: after a month closes, every site that was active in it gets its
 * packets. `startPacketScheduler` runs a pass at once (catching up after downtime) and then every hour;
 * `runPacketSchedule` is one pass (tests call it with a moved clock).
 *
 * A pass holds a lease in the database (report_leases), so with several relay processes only one generates
 * at a time; generation is idempotent anyway, so a lost lease costs work, never a second packet.
 *
 * When: a site's month is generated once each of its appliances has caught up (sent a bundle finished after
 * the month's end, covered by a countersigned checkpoint), so a packet is not cut short by an appliance that
 * was offline at midnight; after CATCH_UP_GRACE_MS it is generated anyway (and the packet shows the gap).
 */
import { FRAMEWORKS, type Framework } from "../../protocol/catalogue/mod.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { str, type RelayDb } from "../db/index.ts";
import { monthBounds, monthOf, previousMonth } from "./month.ts";
import { findPacket, generatePacket, type PacketDeps } from "./packets.ts";
import { firstSeqFinishedFrom } from "../ingest/finished-bounds.ts";

/** How often a pass runs. */
export const SCHEDULE_INTERVAL_MS = 3_600_000;
/** How long to wait for an appliance that was offline at the month's end before generating anyway. */
export const CATCH_UP_GRACE_MS = 3 * 86_400_000;
/** Closed months a pass looks at (the last one, and one before it for a relay that was down at the turn). */
export const CATCH_UP_MONTHS = 2;
/** Lease length; renewed before each site, so a pass that dies frees it soon. */
export const LEASE_MS = 15 * 60_000;
const LEASE_NAME = "packet_scheduler";

export interface SchedulerOptions {
  /** Frameworks generated for every active site (default: HIPAA only; SOC 2 and GLBA on demand). */
  frameworks?: readonly Framework[];
  intervalMs?: number;
}

export interface PassResult {
  generated: { site_id: string; month: string; framework: Framework; packet_id: string }[];
  /** Sites whose appliances have not caught up yet (retried next pass). */
  deferred: { site_id: string; month: string }[];
  failed: { site_id: string; month: string; framework: Framework; error: string }[];
  /** False when another process held the lease. */
  leased: boolean;
}

/** Takes (or renews) the lease; false when another holder's lease has not expired. */
export async function takeLease(db: RelayDb, holder: string, now: number, ms = LEASE_MS): Promise<boolean> {
  const rs = await db.execute({
    sql: `INSERT INTO report_leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE report_leases.holder = excluded.holder OR report_leases.expires_at <= ?4`,
    args: [LEASE_NAME, holder, isoTime(now + ms), isoTime(now)],
  });
  return rs.rowsAffected > 0;
}

async function releaseLease(db: RelayDb, holder: string, now: number): Promise<void> {
  await db.execute({ sql: "UPDATE report_leases SET expires_at = ? WHERE name = ? AND holder = ?", args: [isoTime(now), LEASE_NAME, holder] });
}

/** Sites with an appliance enrolled before the month's end and not revoked before its start. */
async function activeSites(db: RelayDb, from: number, to: number): Promise<string[]> {
  const rs = await db.execute({
    sql: "SELECT DISTINCT site_id FROM appliances WHERE enrolled_at < ? AND (revoked_at IS NULL OR revoked_at >= ?) ORDER BY site_id",
    args: [isoTime(to), isoTime(from)],
  });
  return rs.rows.map((r) => str(r, "site_id"));
}

/** Whether every active appliance of the site has evidence past `to`, covered by a countersigned checkpoint. */
async function caughtUp(db: RelayDb, siteId: string, to: number): Promise<boolean> {
  const rs = await db.execute({
    sql: `SELECT a.id, (SELECT MAX(size) FROM checkpoints c WHERE c.appliance_id = a.id) AS covered
            FROM appliances a WHERE a.site_id = ?1 AND a.state = 'active' AND a.enrolled_at < ?2`,
    args: [siteId, isoTime(to)],
  });
  for (const r of rs.rows) {
    const after = await firstSeqFinishedFrom(db, str(r, "id"), isoTime(to));
    if (after === null || r["covered"] === null || Number(r["covered"]) < after) return false;
  }
  return true;
}

/** One pass: packets of the last CATCH_UP_MONTHS closed months for every site active in them. */
export async function runPacketSchedule(deps: PacketDeps, opts: SchedulerOptions & { holder?: string } = {}): Promise<PassResult> {
  const holder = opts.holder ?? newId("lease", deps.random);
  const frameworks = opts.frameworks ?? ["hipaa"];
  for (const f of frameworks) if (!(FRAMEWORKS as readonly string[]).includes(f)) throw new RangeError(`Cannot schedule packets for framework ${JSON.stringify(f)}: expected one of ${FRAMEWORKS.join(", ")}`);
  const result: PassResult = { generated: [], deferred: [], failed: [], leased: false };
  if (!(await takeLease(deps.db, holder, deps.clock.now()))) return result;
  result.leased = true;
  try {
    let month = previousMonth(monthOf(deps.clock.now()));
    const months: string[] = [];
    for (let i = 0; i < CATCH_UP_MONTHS; i++, month = previousMonth(month)) months.unshift(month);
    for (const m of months) {
      const { from, to } = monthBounds(m);
      for (const siteId of await activeSites(deps.db, from, to)) {
        const missing: Framework[] = [];
        for (const f of frameworks) if (!(await findPacket(deps.db, siteId, m, f))) missing.push(f);
        if (missing.length === 0) continue;
        if (deps.clock.now() < to + CATCH_UP_GRACE_MS && !(await caughtUp(deps.db, siteId, to))) {
          result.deferred.push({ site_id: siteId, month: m });
          continue;
        }
        if (!(await takeLease(deps.db, holder, deps.clock.now()))) return result;
        for (const f of missing) {
          try {
            const { packet } = await generatePacket(deps, { site_id: siteId, month: m, framework: f, actor: "scheduler" });
            result.generated.push({ site_id: siteId, month: m, framework: f, packet_id: packet.id });
          } catch (e) {
            const error = e instanceof Error ? e.message : String(e);
            deps.log.error("packet_failed", { site_id: siteId, month: m, framework: f, error });
            result.failed.push({ site_id: siteId, month: m, framework: f, error });
          }
        }
      }
    }
  } finally {
    await releaseLease(deps.db, holder, deps.clock.now());
  }
  if (result.deferred.length) deps.log.info("packets_deferred", { sites: result.deferred.length, reason: "appliances have not caught up since the month ended" });
  return result;
}

/**
 * Runs a pass now and every `intervalMs` (default hourly) until stopped. `stop()` waits for a running pass.
 * Errors of a pass are logged; the next pass runs regardless.
 */
export function startPacketScheduler(deps: PacketDeps, opts: SchedulerOptions = {}): { stop(): Promise<void> } {
  const interval = opts.intervalMs ?? SCHEDULE_INTERVAL_MS;
  if (!Number.isFinite(interval) || interval < 1000) throw new RangeError(`Cannot schedule packets every ${interval} ms: expected at least 1000`);
  const holder = newId("lease", deps.random);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    try {
      const r = await runPacketSchedule(deps, { ...opts, holder });
      if (r.generated.length || r.failed.length) deps.log.info("packet_pass", { generated: r.generated.length, deferred: r.deferred.length, failed: r.failed.length });
    } catch (e) {
      deps.log.error("packet_pass_failed", { error: e instanceof Error ? e.message : String(e) });
    }
  };
  const tick = () => {
    if (stopped) return;
    running = pass().then(() => {
      if (!stopped) timer = setTimeout(tick, interval);
    });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
