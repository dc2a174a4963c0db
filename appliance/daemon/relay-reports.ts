/**
 * What an enrolled appliance tells its relay about itself besides evidence, as outbox entries written with a
 * check cycle (same transaction, pushed in order with everything else):
 *
 * - a `heartbeat` (software version, clock offset from the relay, outbox backlog) on the first cycle after
 *   start, again as soon as the first offset is measured, and then at most every HEARTBEAT_INTERVAL_MS: the
 *   dashboard shows which release each clinic runs and how far its clock is off;
 * - the managed hosts, as an `inventory` entry without a discovery report: each target's id, the name the
 *   clinic knows it by (what the status page shows), its platform and whether the last scan reached it. Sent
 *   once after start and again only when that list changes (a host added, renamed or going unreachable), not
 *   on every cycle, so the relay's views name devices the way the clinic's own status page does.
 *
 * Each entry is checked against the sync protocol's schema before it is written: an entry the relay would
 * refuse must never reach the outbox, where it would hold up everything queued behind it.
 */
import { isoTime } from "../../protocol/ids.ts";
import { heartbeatBodySchema, inventoryBodySchema, MAX_INVENTORY_HOSTS, type HeartbeatBody, type InventoryBody } from "../../protocol/sync.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import type { HostScan, OutboxDraft, TargetRef } from "../engine/types.ts";
import type { HealingModeInForce } from "../orders/index.ts";

/** A heartbeat at most this often (the first cycle after start always sends one). */
export const HEARTBEAT_INTERVAL_MS = 15 * 60_000;

export interface ReportContext {
  now: number;
  /** Software version (node/version.ts). */
  version: string;
  /** Local clock minus the relay's at the last pull (ms), or null before one. */
  clockOffsetMs: number | null;
  /** Outbox entries not yet acknowledged by the relay, or null before the first sync. */
  backlog: number | null;
  /** The healing mode in force: reported with each heartbeat, and a change sends one at once. */
  healingMode: HealingModeInForce;
}

interface HostState {
  target: TargetRef;
  reachable: boolean;
  /** finished_at of the last scan that reached the host. */
  lastSeen: string | null;
}

export class RelayReports {
  #lastHeartbeatAt: number | null = null;
  /** Whether the last heartbeat sent carried a measured offset. */
  #sentOffset = false;
  /** The healing mode (mode/source) the last heartbeat sent carried. */
  #sentMode: string | null = null;
  /** The managed-host list last sent, without last_seen (which changes every scan). */
  #lastHosts: string | null = null;
  readonly #hosts = new Map<string, HostState>();

  /**
   * The entries due after a cycle that scanned `scans`. They count as sent only once the caller has written
   * them and calls `written()`: after a failed write they are due again at the next cycle.
   */
  due(scans: readonly HostScan[], ctx: ReportContext): { entries: OutboxDraft[]; written: () => void } {
    for (const s of scans) {
      const before = this.#hosts.get(s.target.id);
      this.#hosts.set(s.target.id, { target: s.target, reachable: s.reachable, lastSeen: s.reachable ? s.finished_at : (before?.lastSeen ?? null) });
    }
    const entries: OutboxDraft[] = [];
    const mode = `${ctx.healingMode.mode}/${ctx.healingMode.source}`;
    const heartbeat =
      this.#lastHeartbeatAt === null ||
      ctx.now - this.#lastHeartbeatAt >= HEARTBEAT_INTERVAL_MS ||
      (!this.#sentOffset && ctx.clockOffsetMs !== null) ||
      mode !== this.#sentMode;
    if (heartbeat) {
      const body: HeartbeatBody = {
        at: isoTime(ctx.now),
        version: ctx.version,
        ntp_offset_ms: ctx.clockOffsetMs === null ? null : Math.round(ctx.clockOffsetMs),
        backlog: ctx.backlog ?? 0,
        healing_mode: { mode: ctx.healingMode.mode, source: ctx.healingMode.source },
      };
      entries.push({ type: "heartbeat", body: asJson(heartbeatBodySchema.parse(body)) });
    }
    const hosts = [...this.#hosts.values()]
      .sort((a, b) => (a.target.id < b.target.id ? -1 : a.target.id > b.target.id ? 1 : 0))
      .slice(0, MAX_INVENTORY_HOSTS)
      .map((h) => ({ host_id: h.target.id, hostname: h.target.name, platform: h.target.platform, os_version: null, reachable: h.reachable, last_seen: h.lastSeen }));
    const sameAs = JSON.stringify(hosts.map(({ last_seen: _seen, ...h }) => h));
    const inventory = hosts.length > 0 && sameAs !== this.#lastHosts;
    if (inventory) {
      const body: InventoryBody = { at: isoTime(ctx.now), hosts };
      entries.push({ type: "inventory", body: asJson(inventoryBodySchema.parse(body)) });
    }
    const written = () => {
      if (heartbeat) {
        this.#lastHeartbeatAt = ctx.now;
        this.#sentOffset = ctx.clockOffsetMs !== null;
        this.#sentMode = mode;
      }
      if (inventory) this.#lastHosts = sameAs;
    };
    return { entries, written };
  }
}

function asJson(body: HeartbeatBody | InventoryBody): { [name: string]: Json } {
  return body as unknown as { [name: string]: Json };
}
