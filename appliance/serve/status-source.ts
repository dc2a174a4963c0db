/**
 * Reads what the status page shows from a running appliance: its identity and targets, unresolved incidents
 * (through the healing engine's IncidentBook), the latest `check_cycle` bundle of each device (from the
 * evidence table) and the evidence head. Read-only: nothing here writes to the store.
 *
 * The latest scans are read incrementally: once a window of the newest `check_cycle` rows at the first read,
 * then only rows after the last seq seen, a bounded page per read. The evidence table keeps six years of
 * bundles, so a query that scanned it whole on every page view would grow without limit.
 */
import { z } from "zod";
import { parseIsoTime } from "../../protocol/ids.ts";
import { CHECK_STATUSES } from "../../protocol/evidence.ts";
import type { Config } from "../config/index.ts";
import type { ApplianceStatus } from "../daemon/appliance.ts";
import type { Clock } from "../engine/types.ts";
import type { HeadInfo } from "../evidence/index.ts";
import type { Incident, SiteSettings } from "../heal/index.ts";
import type { Store } from "../store/index.ts";
import type { LatestScan, OpenIncident, StatusInput, SyncSnapshot } from "./status-api.ts";
import type { EnrollmentState } from "./status-types.ts";

/** Rows of the newest `check_cycle` bundles read at the first read, per device (a few cycles' worth). */
export const BACKFILL_ROWS_PER_DEVICE = 8;
/** Upper bound on the first read, whatever the number of devices. */
export const MAX_BACKFILL_ROWS = 4_000;
/** Rows read per later read; a longer backlog is picked up by the following reads. */
export const MAX_ROWS_PER_READ = 1_000;
/** Unresolved incidents shown at most (a clinic has tens of hosts and a few dozen checks each). */
export const MAX_INCIDENTS = 500;

/** What the status page needs of the appliance (the Appliance class satisfies it). */
export interface StatusAppliance {
  /** Identity, targets and — for an enrolled appliance — the sync client's status. */
  status(): ApplianceStatus;
  /** The site settings in force (the relay's when it sent some, else the YAML's); absent: the YAML's. */
  site?(): Pick<SiteSettings, "healing_mode" | "maintenance_windows">;
  readonly store: Pick<Store, "execute">;
  readonly evidence: { head(): Promise<HeadInfo> };
  readonly healing: { readonly incidents: { get(host: string, check: string): Promise<Incident | null> } };
  /** Enrollment with the relay; absent: enrolled (daemon/waiting.ts answers before enrollment). */
  enrollment?(): EnrollmentState;
  /** The newest scan per device when they are not in the evidence log (before enrollment); absent: read from it. */
  latestScans?(): ReadonlyMap<string, LatestScan> | null;
}

/** Produces a fresh snapshot for `buildStatus`. */
export interface StatusSource {
  read(): Promise<StatusInput>;
}

export interface ApplianceSourceOptions {
  clock: Clock;
  /** When the daemon started (ms); default: when the source is created. */
  startedAt?: number;
  /** Overrides the sync client's view of the relay (tests); default: `appliance.status().sync`. */
  sync?: () => SyncSnapshot | null;
}

const bundleSchema = z.object({
  host_id: z.string(),
  outcome: z.string(),
  timestamps: z.object({ finished_at: z.string() }),
  results: z.array(z.object({ check: z.string(), status: z.enum(CHECK_STATUSES) })).default([]),
});

/** One `check_cycle` line as a LatestScan, or null if it is not one we can read. */
export function scanOfLine(line: string): { host: string; scan: LatestScan } | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = bundleSchema.safeParse(value);
  if (!parsed.success) return null;
  const at = parseIsoTime(parsed.data.timestamps.finished_at);
  if (Number.isNaN(at)) return null;
  // An unreachable host is one `error` bundle with no results (daemon/appliance.ts, cycleDraft).
  const reachable = !(parsed.data.outcome === "error" && parsed.data.results.length === 0);
  return { host: parsed.data.host_id, scan: { at, reachable, results: parsed.data.results } };
}

/** The newest scan per device, kept current by reading only what was appended since the last read. */
export class LatestScans {
  readonly #store: Pick<Store, "execute">;
  readonly #latest = new Map<string, LatestScan>();
  #cursor = -1;
  /** Reads run one at a time: two overlapping first reads would both backfill. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: Pick<Store, "execute">) {
    this.#store = store;
  }

  /** The newest scan per device id, after reading what was appended since the last call. */
  read(devices: number): Promise<ReadonlyMap<string, LatestScan>> {
    const run = this.#queue.then(async () => {
      if (this.#cursor < 0) await this.#backfill(Math.min(MAX_BACKFILL_ROWS, Math.max(1, devices) * BACKFILL_ROWS_PER_DEVICE));
      else await this.#forward();
      return new Map(this.#latest);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #backfill(limit: number): Promise<void> {
    const head = await this.#store.execute("SELECT COALESCE(MAX(seq), 0) AS seq FROM evidence");
    const top = Number(head.rows[0]?.seq ?? 0);
    const rs = await this.#store.execute({ sql: "SELECT seq, line FROM evidence WHERE kind = 'check_cycle' AND seq <= ? ORDER BY seq DESC LIMIT ?", args: [top, limit] });
    for (const row of rs.rows) {
      const s = scanOfLine(String(row.line));
      if (s && !this.#latest.has(s.host)) this.#latest.set(s.host, s.scan);
    }
    this.#cursor = top;
  }

  async #forward(): Promise<void> {
    const rs = await this.#store.execute({ sql: "SELECT seq, line FROM evidence WHERE kind = 'check_cycle' AND seq > ? ORDER BY seq LIMIT ?", args: [this.#cursor, MAX_ROWS_PER_READ] });
    for (const row of rs.rows) {
      const s = scanOfLine(String(row.line));
      if (s) this.#latest.set(s.host, s.scan);
      this.#cursor = Math.max(this.#cursor, Number(row.seq));
    }
  }
}

/** Unresolved incidents, read through the IncidentBook so its state (healed, ...) is parsed one way. */
async function openIncidents(appliance: StatusAppliance): Promise<OpenIncident[]> {
  const rs = await appliance.store.execute({ sql: "SELECT host_id, check_id FROM incidents WHERE status <> 'resolved' ORDER BY id LIMIT ?", args: [MAX_INCIDENTS] });
  const out: OpenIncident[] = [];
  for (const row of rs.rows) {
    const inc = await appliance.healing.incidents.get(String(row.host_id), String(row.check_id));
    if (!inc || inc.status === "resolved") continue;
    const opened = parseIsoTime(inc.opened_at);
    out.push({
      host_id: inc.host_id,
      check: inc.check,
      status: inc.status,
      opened_at: Number.isNaN(opened) ? 0 : opened,
      next_attempt_at: inc.next_attempt_at,
      last_outcome: inc.last_outcome,
      healed: inc.state.healed_at !== null,
    });
  }
  return out;
}

/** The sync client's status as the report needs it (null: no sync client, i.e. standalone or not started). */
export function syncSnapshot(status: ApplianceStatus["sync"]): SyncSnapshot | null {
  if (!status) return null;
  const last = status.last_sync_at === null ? NaN : parseIsoTime(status.last_sync_at);
  return { last_success_at: Number.isNaN(last) ? null : last, clock_offset_ms: status.clock_offset_ms, revoked: status.last_error?.relay_code === "appliance_revoked" };
}

/** A StatusSource over a running appliance and its config. */
export function applianceStatusSource(appliance: StatusAppliance, config: Config, options: ApplianceSourceOptions): StatusSource {
  const startedAt = options.startedAt ?? options.clock.now();
  // Read through `appliance` at each use: the daemon hands the page over from its waiting state once enrolled.
  const scans = new LatestScans({ execute: (stmt) => appliance.store.execute(stmt) });
  return {
    async read(): Promise<StatusInput> {
      const status = appliance.status();
      const site = appliance.site?.() ?? config.site;
      const [latest, incidents, head] = [appliance.latestScans?.() ?? (await scans.read(status.targets.length)), await openIncidents(appliance), await appliance.evidence.head()];
      return {
        now: options.clock.now(),
        site: {
          id: status.site_id,
          name: config.site.name ?? null,
          timezone: config.site.timezone,
          healing_mode: site.healing_mode,
          maintenance_windows: site.maintenance_windows,
        },
        appliance: { id: status.appliance_id, fingerprint: status.fingerprint, ...(appliance.enrollment ? { enrollment: appliance.enrollment() } : {}) },
        devices: status.targets,
        latest,
        incidents,
        evidence: { seq: head.seq, hash: head.hash },
        relay: {
          configured: config.relay.url !== undefined,
          interval_ms: config.relay.sync_interval_s * 1000,
          started_at: startedAt,
          sync: options.sync ? options.sync() : syncSnapshot(status.sync),
        },
      };
    },
  };
}
