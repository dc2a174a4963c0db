/**
 * The discovery job on the appliance: runs a scan nightly (config `discovery.schedule`, at `nightly_at` in the
 * site's time zone) and whenever a signed `discovery_scan` order asks, one scan at a time. Each scan ends in
 * one `system` evidence bundle (counts and device types, no addresses) and, in the same transaction, one
 * `inventory` outbox entry carrying the full discovery report for the relay's device inventory.
 *
 * Exclusions (devices the MSP marked "excluded") come from the relay's site config (`discovery_exclude`) and
 * the local config; they are read at the start of every scan, so a new exclusion applies to the next one.
 */
import { probePorts, type ScanDepth } from "../../protocol/catalogue/mod.ts";
import { newId } from "../../protocol/ids.ts";
import type { OrderPayload } from "../../protocol/orders.ts";
import type { DiscoveryReport, InventoryBody } from "../../protocol/sync.ts";
import type { Clock, EvidenceDraft, EvidenceSink, Log, OutboxDraft } from "../engine/types.ts";
import { TimeZone } from "../heal/index.ts";
import type { OrderContext, OrderHandler, OrderHandlerResult } from "../orders/index.ts";
import { readArpTable, type ArpEntry } from "./arp.ts";
import { ScanScope } from "./cidr.ts";
import { systemPing, type EchoProbe } from "./icmp.ts";
import { DiscoveryError } from "./errors.ts";
import { nodeNameSources, type NameSources } from "./names.ts";
import type { DiscoveryConfig } from "./options.ts";
import type { OuiTable } from "./oui.ts";
import type { ConnectProbe } from "./probe.ts";
import { Scanner, type ScanResult } from "./scanner.ts";
import type { Sleep } from "./throttle.ts";

/** How often the job looks whether the nightly scan is due. */
export const SCHEDULE_TICK_MS = 60_000;
const DAY_MS = 24 * 3600_000;

export interface DiscoveryJobDeps {
  config: DiscoveryConfig;
  evidence: EvidenceSink;
  clock: Clock;
  random: (n: number) => Uint8Array;
  log: Log;
  /** The site's time zone now (relay site config, else the YAML's). */
  timezone: () => string;
  /** Addresses/MACs the relay says never to probe (site config `discovery_exclude`), read at each scan. */
  relayExclusions?: () => readonly string[];
  /** Overrides for tests: the probe, name sources, ARP reader, OUI table, timers. */
  connect?: ConnectProbe;
  /** ICMP echo probe; default the system ping at `ping_path` (none when it is null). */
  echo?: EchoProbe | null;
  names?: NameSources;
  arp?: () => Promise<ArpEntry[]>;
  oui?: OuiTable;
  sleep?: Sleep;
}

export interface ScanJobRequest {
  trigger: "schedule" | "order";
  order_id?: string | null;
  /** Subnets to scan (inside the configured ones); default all configured. */
  targets?: readonly string[];
  depth?: ScanDepth;
  signal?: AbortSignal;
}

export interface ScanJobOutcome {
  report: DiscoveryReport;
  seqs: number[];
}

/** The next time-of-day `hh:mm` in `tz` strictly after `now`. */
export function nextNightly(now: number, at: string, tz: string): number {
  const zone = TimeZone.of(tz);
  const [hour, minute] = at.split(":").map(Number) as [number, number];
  const today = zone.wallTime(now);
  for (let d = 0; d < 3; d++) {
    const day = new Date(Date.UTC(today.year, today.month - 1, today.day) + d * DAY_MS);
    const t = zone.toInstant({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour, minute, second: 0, millisecond: 0 });
    if (t > now) return t;
  }
  throw new Error(`Internal: no nightly time ${at} in ${tz} within three days of ${new Date(now).toISOString()}`);
}

export class DiscoveryJob {
  readonly scope: ScanScope;
  readonly #d: DiscoveryJobDeps;
  readonly #scanner: Scanner;
  #running: Promise<unknown> = Promise.resolve();
  #next: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  readonly #abort = new AbortController();
  #last: DiscoveryReport | null = null;

  constructor(deps: DiscoveryJobDeps) {
    this.#d = deps;
    const c = deps.config;
    this.scope = new ScanScope(c.subnets);
    const echo = deps.echo !== undefined ? deps.echo : c.ping_path === null ? null : systemPing({ path: c.ping_path });
    this.#scanner = new Scanner(
      { scope: this.scope, concurrency: c.concurrency, ratePerSecond: c.rate_per_second, connectTimeoutMs: c.connect_timeout_ms, livenessProbes: c.liveness_probes },
      {
        clock: deps.clock,
        log: deps.log,
        names: deps.names ?? nodeNameSources({ timeoutMs: c.name_timeout_ms, random: deps.random, dnsServers: c.dns_servers }),
        arp: deps.arp ?? (() => readArpTable(c.arp_path)),
        ...(deps.connect ? { connect: deps.connect } : {}),
        ...(echo ? { echo } : {}),
        ...(deps.oui ? { oui: deps.oui } : {}),
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
      },
    );
  }

  /** The last report (status page, CLI), or null. */
  get last(): DiscoveryReport | null {
    return this.#last;
  }

  /** When the next scheduled scan is due (ms), or null with `schedule: off` or no subnets. */
  nextRunAt(): number | null {
    const c = this.#d.config;
    if (c.schedule === "off" || this.scope.subnets.length === 0) return null;
    this.#next ??= nextNightly(this.#d.clock.now(), c.nightly_at, this.#d.timezone());
    return this.#next;
  }

  /** Runs the scheduled scan if it is due; resolves null when it was not. */
  async runDue(): Promise<ScanJobOutcome | null> {
    const due = this.nextRunAt();
    const now = this.#d.clock.now();
    if (due === null || now < due) return null;
    this.#next = nextNightly(now, this.#d.config.nightly_at, this.#d.timezone());
    return this.run({ trigger: "schedule" });
  }

  /**
   * Runs one scan (after any running one), records its evidence and outbox entry, and returns the report.
   * Throws DiscoveryError("out_of_scope") before sending anything when a target is outside the subnets.
   */
  run(req: ScanJobRequest): Promise<ScanJobOutcome> {
    for (const t of req.targets ?? []) this.scope.check(t);
    const go = this.#running.then(() => this.#run(req));
    this.#running = go.catch(() => undefined);
    return go;
  }

  async #run(req: ScanJobRequest): Promise<ScanJobOutcome> {
    const c = this.#d.config;
    // Stopped by its own limit, by its caller (an order's timeout), or by stop(): a scan an order started
    // must not hold the daemon's shutdown for the rest of its run.
    const signal = AbortSignal.any([AbortSignal.timeout(c.max_duration_s * 1000), this.#abort.signal, ...(req.signal ? [req.signal] : [])]);
    const result = await this.#scanner.scan({
      ...(req.targets ? { targets: req.targets } : {}),
      ports: probePorts(req.depth ?? c.depth),
      exclude: [...c.exclude, ...(this.#d.relayExclusions?.() ?? [])],
      signal,
    });
    const report = toReport(result, newId("dsc", this.#d.random), req.trigger, req.order_id ?? null);
    const byType: Record<string, number> = {};
    for (const d of report.devices) byType[d.device_type] = (byType[d.device_type] ?? 0) + 1;
    const draft: EvidenceDraft = {
      kind: "system",
      outcome: report.complete ? "success" : "failed",
      timestamps: { started_at: report.started_at, finished_at: report.finished_at },
      ...(report.order_id ? { order_id: report.order_id } : {}),
      post_state: {
        event: "discovery_scan",
        scan_id: report.scan_id,
        trigger: report.trigger,
        subnets: report.subnets,
        ports: report.ports.length,
        complete: report.complete,
        probed_hosts: report.probed_hosts,
        excluded_hosts: report.excluded_hosts,
        devices: report.devices.length,
        device_types: byType,
      },
    };
    const body: InventoryBody = { at: report.finished_at, hosts: [], discovery: report };
    const outbox: OutboxDraft = { type: "inventory", body: JSON.parse(JSON.stringify(body)) as OutboxDraft["body"] };
    const { seqs } = await this.#d.evidence.append([draft], [outbox]);
    this.#last = report;
    return { report, seqs };
  }

  /** The `discovery_scan` order handler: scans the order's subnet if it lies inside the configured ones. */
  orderHandler(): OrderHandler {
    return async (order: OrderPayload, ctx: OrderContext): Promise<OrderHandlerResult> => {
      const cidr = String(ctx.params["cidr"]);
      const depth = ctx.params["depth"] === "full" ? "full" : "quick";
      try {
        const { report } = await this.run({ trigger: "order", order_id: order.order_id, targets: [cidr], depth, signal: ctx.signal });
        const detail = `scanned ${report.subnets.join(", ")} (${depth}): ${report.devices.length} device(s), ${report.excluded_hosts} excluded; scan ${report.scan_id}`;
        return { outcome: report.complete ? "success" : "failed", detail: report.complete ? detail : `${detail}; stopped before the end` };
      } catch (e) {
        if (e instanceof DiscoveryError) return { outcome: "rejected", detail: e.message };
        throw e;
      }
    };
  }

  /** Checks every SCHEDULE_TICK_MS whether the nightly scan is due, until `stop()`. */
  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      try {
        await this.runDue();
      } catch (e) {
        this.#d.log.error("discovery_failed", { error: (e as Error).message, code: (e as { code?: string }).code ?? null });
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, SCHEDULE_TICK_MS);
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Stops the schedule, aborts a running scan (scheduled or ordered) and waits for it to record what it found. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort(new Error("discovery stopped"));
    await this.#running;
  }
}

/** The wire report of a scan. */
export function toReport(r: ScanResult, scanId: string, trigger: "schedule" | "order", orderId: string | null): DiscoveryReport {
  return {
    scan_id: scanId,
    trigger,
    order_id: orderId,
    subnets: r.subnets,
    ports: r.ports,
    started_at: r.started_at,
    finished_at: r.finished_at,
    complete: r.complete,
    probed_hosts: r.probed_hosts,
    excluded_hosts: r.excluded_hosts,
    devices: r.devices,
  };
}
