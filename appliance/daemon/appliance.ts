/**
 * The appliance daemon: wires config, store, identity, evidence log, collectors, checks and healing, and
 * runs the check schedule. `osiris appliance run` starts it; tests and the demo drive it in-process.
 *
 * One cycle (`runCycle`): scan every target that is due (bounded concurrency), write ONE `check_cycle`
 * bundle per scanned host (an unreachable host gives one `error` bundle, never one per check), write site
 * alerts (many hosts unreachable, clock jumped backwards) as `system` bundles, hand each scan to the healing
 * engine, then sign a checkpoint of the log. Retention runs at most once a day. Everything the cycle writes
 * goes through the evidence log, in the same transaction as its outbox rows.
 *
 * With `relay.url` (an enrolled appliance) the daemon also syncs (appliance/sync): the sync loop runs beside
 * the schedule — started by `start()`, stopped by `stop()`, never inside `runCycle` — pushing the outbox and
 * pulling rule sets, signed orders (executed by the order processor) and the site configuration, which the
 * healing engine then reads through `site()` in place of the YAML's.
 */
import { catalogue, type Catalogue } from "../../protocol/catalogue/mod.ts";
import { isoTime } from "../../protocol/ids.ts";
import { scanHost, scanSite, type SiteAlert } from "../checks/mod.ts";
import type { Config } from "../config/index.ts";
import { loadCredentialsFile } from "../config/credentials.ts";
import { memoryPinStore } from "../collect/index.ts";
import { credentialOrderHandlers, HostCredentials } from "../credentials/index.ts";
import type { Clock, EvidenceDraft, HostScan, Log, TargetRef } from "../engine/types.ts";
import { ClockGuard, EvidenceLog, Retention } from "../evidence/index.ts";
import { HealingEngine, healOrderHandlers, KvApprovals, RuleBook, type ScanReport, type SiteSettings } from "../heal/index.ts";
import { loadOrCreateIdentity, type ApplianceIdentity } from "../identity/index.ts";
import { DiscoveryJob } from "../discovery/index.ts";
import { type HealingModeInForce, HealingModeOrders, OrderProcessor, type OrderHandler } from "../orders/index.ts";
import { ensurePrivateDir, openStore, type Store } from "../store/index.ts";
import { createRelayFetch, readToken, RelayHttp, relayPlanner, replaceToken, RelaySiteConfig, siteSettings, SyncClient, SyncLoop, type FetchLike, type Sleep, type SyncStatus } from "../sync/index.ts";
import { SOFTWARE_VERSION } from "../../node/version.ts";
import { RelayReports, type ReportContext } from "./relay-reports.ts";
import { readSystemIdentity } from "./system-identity.ts";
import { resellerOutputs, type ResellerOutputs } from "./reseller.ts";
import { resolveTargets, type ResolvedTarget, type ResolvedTargets } from "./targets.ts";
import { applianceContextOf, readApplianceConfig } from "../helpers/index.ts";

/** How often the scheduler looks for due targets. */
export const TICK_MS = 5_000;
/** Retention runs at most this often. */
export const PRUNE_EVERY_MS = 24 * 3600_000;

export interface ApplianceDeps {
  clock: Clock;
  random: (n: number) => Uint8Array;
  log: Log;
  catalogue?: Catalogue;
  /** How to reach the relay (default: createRelayFetch with config relay.pin_sha256); tests wrap it. */
  fetch?: FetchLike;
  /** The sync loop's timer (default: real timers). */
  sleep?: Sleep;
  /** Time inside the simulated lab (default: `clock`); the demo runs it faster so drift shows within minutes. */
  labClock?: Clock;
  /** The running NixOS system's profile link (default /run/current-system; system-identity.ts). */
  systemLink?: string;
}

/** The dependencies every part of the daemon uses (the others are read once in `open`). */
type CoreDeps = Required<Omit<ApplianceDeps, "fetch" | "sleep" | "labClock" | "systemLink">>;

/**
 * A host whose scan finds new drift (a check failing that was not failing at its previous scan) is scanned
 * again this soon, if its interval is longer (ARCHITECTURE §3.1): a fix or a flap shows within minutes, not
 * at the next quarter hour. A failure that persists goes back to the normal interval.
 */
export const RESCAN_AFTER_DRIFT_MS = 5 * 60_000;

/** A clock offset measured at a pull longer ago than this is not stamped on bundles (no longer "measured at the time"). */
export const CLOCK_OFFSET_FRESH_MS = 10 * 60_000;

/** The relay side of a daemon with `relay.url`. */
interface SyncParts {
  client: SyncClient;
  loop: SyncLoop;
  orders: OrderProcessor;
}

export interface CycleReport {
  started_at: string;
  finished_at: string;
  scanned: { host_id: string; reachable: boolean; pass: number; fail: number; error: number }[];
  alerts: string[];
  healing: ScanReport["healing"];
  evidence_head: number;
}

/** What the status page and the CLI show (no secrets). */
export interface ApplianceStatus {
  appliance_id: string;
  site_id: string;
  fingerprint: string;
  simulated: boolean;
  targets: TargetRef[];
  last_cycle: CycleReport | null;
  /** Sync with the relay (null for a standalone appliance). */
  sync: SyncStatus | null;
}

function cycleDraft(scan: HostScan): EvidenceDraft {
  const timestamps = { started_at: scan.started_at, finished_at: scan.finished_at };
  if (!scan.reachable) {
    return {
      kind: "check_cycle",
      host_id: scan.target.id,
      outcome: "error",
      timestamps,
      results: [],
      post_state: { error: scan.error?.code ?? "unreachable", message: (scan.error?.message ?? "host could not be scanned").slice(0, 240), simulated: scan.target.simulated },
    };
  }
  const results = scan.results.map(({ reason: _reason, ...r }) => r);
  const outcome = results.some((r) => r.status === "fail") ? "fail" : results.some((r) => r.status === "error") ? "error" : "pass";
  return { kind: "check_cycle", host_id: scan.target.id, outcome, timestamps, results, post_state: { simulated: scan.target.simulated } };
}

function alertDraft(alert: SiteAlert, at: string): EvidenceDraft {
  return { kind: "system", outcome: "alert", timestamps: { started_at: at, finished_at: at }, post_state: JSON.parse(JSON.stringify(alert)) };
}

export class Appliance {
  readonly #deps: CoreDeps;
  readonly #config: Config;
  readonly store: Store;
  readonly identity: ApplianceIdentity;
  readonly evidence: EvidenceLog;
  readonly healing: HealingEngine;
  readonly rules: RuleBook;
  readonly #targets: ResolvedTargets;
  readonly #outputs: ResellerOutputs;
  readonly #due = new Map<string, number>();
  /** Checks failing at each host's last scan (to tell new drift from drift already seen). */
  readonly #failing = new Map<string, ReadonlySet<string>>();
  readonly #guard: ClockGuard;
  readonly #retention: Retention;
  readonly #site: () => SiteSettings;
  readonly #modeInForce: () => HealingModeInForce;
  /** set_healing_mode orders in force; `stop()` waits for the bookkeeping writes it started. */
  readonly #modeOrders: HealingModeOrders;
  #lastPrune = 0;
  #lastCycle: CycleReport | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #sync: SyncParts | null = null;
  /** Heartbeats and the managed-host list for the relay (only with a relay). */
  readonly #reports = new RelayReports();
  /** Network discovery, when the config names subnets (nightly, and on a signed discovery_scan order). */
  #discovery: DiscoveryJob | null = null;

  private constructor(p: {
    deps: CoreDeps;
    config: Config;
    store: Store;
    identity: ApplianceIdentity;
    evidence: EvidenceLog;
    healing: HealingEngine;
    rules: RuleBook;
    targets: ResolvedTargets;
    guard: ClockGuard;
    site: () => SiteSettings;
    /** The healing mode in force and where it comes from (the heartbeat reports it to the relay). */
    modeInForce: () => HealingModeInForce;
    modeOrders: HealingModeOrders;
    outputs: ResellerOutputs;
  }) {
    this.#deps = p.deps;
    this.#config = p.config;
    this.store = p.store;
    this.identity = p.identity;
    this.evidence = p.evidence;
    this.healing = p.healing;
    this.rules = p.rules;
    this.#targets = p.targets;
    this.#outputs = p.outputs;
    this.#guard = p.guard;
    this.#site = p.site;
    this.#modeInForce = p.modeInForce;
    this.#modeOrders = p.modeOrders;
    this.#retention = new Retention({ store: p.store, log: p.deps.log });
  }

  /** Opens (or creates) the appliance's state and recovers from an earlier crash. */
  static async open(config: Config, deps: ApplianceDeps): Promise<Appliance> {
    const d: CoreDeps = { clock: deps.clock, random: deps.random, log: deps.log, catalogue: deps.catalogue ?? catalogue };
    const { clock, log, random } = d;
    await ensurePrivateDir(config.state_dir);
    const store = await openStore(config.database ?? `${config.state_dir}/appliance.db`, { log });
    try {
      const identity = await loadOrCreateIdentity(config.state_dir, store, { random, clock, log });
      if (identity.state !== "enrolled") {
        if (config.relay.url) throw new Error("the appliance is not enrolled yet: run `osiris appliance enroll --relay URL --code CODE` first");
        if (!config.site.id) throw new Error("a standalone appliance (no relay.url) needs site.id in its config");
        await identity.enrollStandalone(config.site.id);
        log.info("enrolled_standalone", { site_id: config.site.id });
      }
      const enrolled = identity.enrolled();
      // The relay's site configuration (last one pulled) overrides the YAML's; the token proves the enrollment.
      const relaySite = await RelaySiteConfig.open(store, log);
      const token = config.relay.url ? await readToken(config.state_dir, store, clock.now()) : null;
      // Deployment mode and reseller: the relay's site configuration as it is at each write, else the YAML's.
      const siteSystem = () =>
        relaySite.current
          ? { deployment_mode: relaySite.current.deployment_mode, reseller_id: relaySite.current.reseller_id }
          : { deployment_mode: config.site.deployment_mode, reseller_id: config.site.reseller_id ?? null };
      // Bundles carry the system they were made on and the clock offset last measured against the relay.
      const systemIdentity = await readSystemIdentity(deps.systemLink);
      const offset: { fresh: () => number | null } = { fresh: () => null };
      const evidence = new EvidenceLog({ store, identity: enrolled, clock, log, system: systemIdentity, site: siteSystem, clockOffsetMs: () => offset.fresh() });
      const verified = await evidence.verifyLocal();
      if (!verified.ok) log.error("evidence_chain_invalid", { failure: verified.failure });
      else log.info("evidence_chain_verified", { bundles: verified.bundles, head: verified.head.seq });
      const credentials = config.credentials_file ? await loadCredentialsFile(config.credentials_file) : new Map();
      // With a relay, ssh/winrm credentials arrive sealed on each pull and are held here (memory only).
      const hostCredentials = config.relay.url ? new HostCredentials({ key: identity.credentials, applianceId: enrolled.appliance_id, file: credentials, log }) : null;
      const pins = memoryPinStore();
      const applianceContext = async () => applianceContextOf(await readApplianceConfig(store, { relayKeys: identity.enrolled().relayKeys, applianceId: enrolled.appliance_id }));
      const targets = await resolveTargets({ config, credentials, pins, ...(hostCredentials ? { hostCredentials } : {}), clock, log, applianceContext, ...(deps.labClock ? { labClock: deps.labClock } : {}) });
      const rules = await RuleBook.open({ catalogue: d.catalogue, store, relayKeys: () => identity.enrolled().relayKeys, clock, log });
      const byId = new Map(targets.targets.map((t) => [t.ref.id, t]));
      const approvals = new KvApprovals(store, clock);
      // A set_healing_mode order overrides the relay's (or the YAML's) mode until the relay's setting changes.
      const modeOrders = await HealingModeOrders.open(store, clock, log);
      const modeInForce = () => modeOrders.inForce(siteSettings(config.site, relaySite.current).healing_mode, relaySite.current?.healing_mode ?? null);
      const site = () => ({ ...siteSettings(config.site, relaySite.current), healing_mode: modeInForce().mode });
      const outputs = await resellerOutputs(config, log);
      const healing = new HealingEngine({
        store,
        sink: evidence,
        runner: targets.runner,
        recheck: async (target, checkId, signal) => {
          const t = byId.get(target.id);
          if (!t) throw new Error(`recheck: unknown target ${target.id}`);
          const scan = await scanHost(target, { gather: t.gather, catalogue: d.catalogue, clock, timeoutMs: t.timeoutMs, ...(signal ? { signal } : {}) });
          const r = scan.results.find((x) => x.check === checkId);
          if (r) return r;
          return { check: checkId, status: "error", expected: null, actual: null, controls: [], reason: scan.error?.message ?? "check not evaluated" };
        },
        rules,
        approvals,
        site,
        identity: () => ({ site_id: enrolled.site_id, appliance_id: enrolled.appliance_id }),
        clock,
        random,
        log,
        catalogue: d.catalogue,
        publish: outputs.publish,
        // L2: the relay's planner (POST /api/l2/plan), signed like sync; the token is re-read so a rotation is picked up.
        planner:
          config.relay.url && token !== null
            ? relayPlanner(new RelayHttp({ url: config.relay.url, fetch: deps.fetch ?? createRelayFetch(config.relay.pin_sha256 ? { pinSha256: config.relay.pin_sha256 } : {}), clock, random }), async () => ({
                signer: identity.identitySigner,
                token: await readToken(config.state_dir, store, clock.now()),
              }))
            : null,
      });
      const recovered = await healing.recoverInterrupted();
      if (recovered.interrupted.length) log.warn("healing_interrupted_recovered", { attempts: recovered.interrupted });
      const head = await evidence.head();
      const guard = new ClockGuard({ latest: head.last_time ?? null });
      const appliance = new Appliance({ deps: d, config, store, identity, evidence, healing, rules, targets, guard, site, modeInForce, modeOrders, outputs });
      offset.fresh = () => appliance.#freshClockOffset();
      if (config.discovery.subnets.length > 0) {
        appliance.#discovery = new DiscoveryJob({
          config: config.discovery,
          evidence,
          clock,
          random,
          log,
          timezone: () => relaySite.current?.timezone ?? config.site.timezone,
          relayExclusions: () => relaySite.current?.discovery_exclude ?? [],
        });
      }
      if (config.relay.url && token !== null) {
        const forceScan: OrderHandler = async (_order, ctx) => {
          const hostId = typeof ctx.params["host_id"] === "string" ? ctx.params["host_id"] : null;
          if (hostId !== null && !byId.has(hostId)) return { outcome: "rejected", detail: `host ${hostId.slice(0, 63)} is not a configured target` };
          // A host's checks are collected and evaluated together: the cycle re-checks `check` with the others.
          const checkId = typeof ctx.params["check"] === "string" ? ctx.params["check"] : null;
          const check = checkId === null ? null : d.catalogue.findCheck(checkId);
          if (checkId !== null && !check) return { outcome: "rejected", detail: `${checkId.slice(0, 70)} is not a check of this appliance's catalogue (${d.catalogue.version})` };
          const hosts = hostId === null ? targets.targets : [byId.get(hostId)!];
          if (check && !hosts.some((t) => t.ref.platform === check.platform)) {
            return { outcome: "rejected", detail: `${check.id} is a ${check.platform} check: ${hostId === null ? "no configured target is" : `host ${hostId} is not`} ${check.platform}` };
          }
          const r = await appliance.#forceScan(hostId, ctx.signal);
          return { outcome: "success", detail: `scanned ${r.scanned.length} host(s)${check ? `, ${check.id} among their checks` : ""}; evidence head ${r.evidence_head}` };
        };
        // The handler needs the sync client, which needs the order processor: tie the knot through a holder.
        const running: { client: SyncClient | null } = { client: null };
        const rotateToken: OrderHandler = async (_order, ctx) => {
          if (!running.client) return { outcome: "failed", detail: "the sync client is not running" };
          await running.client.rotateToken((t) => replaceToken(config.state_dir, store, t, clock.now()), ctx.signal);
          return { outcome: "success", detail: "relay token replaced; the old one stops working at the next request" };
        };
        const rotateKeys: OrderHandler = async (order, ctx) => {
          if (!running.client) return { outcome: "failed", detail: "the sync client is not running" };
          const kind = ctx.params["key"];
          if (kind !== "identity" && kind !== "evidence" && kind !== "credentials") return { outcome: "rejected", detail: "key must be identity, evidence or credentials" };
          return running.client.rotateKeyOrder(kind, order.order_id, ctx.signal);
        };
        const orders = new OrderProcessor({
          evidence,
          identity: enrolled,
          handlers: {
            ...healOrderHandlers({ engine: healing, approvals, target: (id) => byId.get(id)?.ref ?? null, catalogue: d.catalogue }),
            force_scan: forceScan,
            rotate_token: rotateToken,
            rotate_keys: rotateKeys,
            set_healing_mode: modeOrders.handler(() => ({ mode: site().healing_mode, relayMode: relaySite.current?.healing_mode ?? null })),
            ...(appliance.#discovery ? { discovery_scan: appliance.#discovery.orderHandler() } : {}),
            ...(hostCredentials ? credentialOrderHandlers({ credentials: hostCredentials, targets: config.targets, pins, clock, log }) : {}),
          },
          clock,
          maxLifetimeMs: config.relay.order_ttl_s * 1000,
          log,
        });
        const interrupted = await orders.recover();
        if (interrupted.length) log.warn("orders_interrupted_recovered", { orders: interrupted.map((r) => r.order_id) });
        const relay = new RelayHttp({ url: config.relay.url, fetch: deps.fetch ?? createRelayFetch(config.relay.pin_sha256 ? { pinSha256: config.relay.pin_sha256 } : {}), clock, random });
        // An order that outlived its pull (order-runner.ts) asks for a round when it finishes, to push its result.
        let loop: SyncLoop | undefined;
        const client = await SyncClient.open({ relay, token, store, evidence, identity, rules, orders, afterLateOrder: () => loop?.trigger(), siteConfig: relaySite, ...(hostCredentials ? { credentials: hostCredentials } : {}), maxSkewMs: config.ntp.max_skew_s * 1000, clock, log });
        running.client = client;
        loop = new SyncLoop({ client, store, intervalMs: config.relay.sync_interval_s * 1000, clock, random, log, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
        appliance.#sync = { client, loop, orders };
      }
      return appliance;
    } catch (e) {
      store.close();
      throw e;
    }
  }

  status(): ApplianceStatus {
    const e = this.identity.enrolled();
    return {
      appliance_id: e.appliance_id,
      site_id: e.site_id,
      fingerprint: this.identity.fingerprint,
      simulated: this.#targets.targets.some((t) => t.ref.simulated),
      targets: this.#targets.targets.map((t) => t.ref),
      last_cycle: this.#lastCycle,
      sync: this.#sync?.client.status() ?? null,
    };
  }

  /** The site settings the healing engine decides with now: the relay's when it sent some, else the YAML's. */
  site(): SiteSettings {
    return this.#site();
  }

  /** The sync client and loop (null for a standalone appliance); tests and the status page use it. */
  get sync(): { client: SyncClient; loop: SyncLoop } | null {
    return this.#sync;
  }

  /** A cycle for a `force_scan` order: one host made due at once (or every host). */
  async #forceScan(hostId: string | null, signal: AbortSignal): Promise<CycleReport> {
    if (hostId !== null) this.#due.set(hostId, 0);
    return this.runCycle({ all: hostId === null, signal });
  }

  /** Scans the targets that are due (all of them with `all`), records evidence and heals. */
  async runCycle(opts: { all?: boolean; signal?: AbortSignal } = {}): Promise<CycleReport> {
    const run = this.#running.then(() => this.#cycle(opts));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #cycle(opts: { all?: boolean; signal?: AbortSignal }): Promise<CycleReport> {
    const { clock, log } = this.#deps;
    const now = clock.now();
    const started_at = isoTime(now);
    const due = this.#targets.targets.filter((t) => opts.all || (this.#due.get(t.ref.id) ?? 0) <= now);
    const report: CycleReport = { started_at, finished_at: started_at, scanned: [], alerts: [], healing: [], evidence_head: 0 };

    const drafts: EvidenceDraft[] = [];
    const jump = this.#guard.observe(now);
    if (jump) {
      drafts.push(jump);
      report.alerts.push("clock_backwards");
      log.warn("clock_backwards", { post_state: jump.post_state });
    }
    let scans: HostScan[] = [];
    if (due.length) {
      const byId = new Map<string, ResolvedTarget>(due.map((t) => [t.ref.id, t]));
      const site = await scanSite(
        due.map((t) => t.ref),
        {
          gather: (target, o) => byId.get(target.id)!.gather(target, o),
          catalogue: this.#deps.catalogue,
          clock,
          timeoutMs: Math.max(...due.map((t) => t.timeoutMs)),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
      scans = site.scans;
      for (const scan of scans) drafts.push(cycleDraft(scan));
      for (const alert of site.alerts) {
        drafts.push(alertDraft(alert, isoTime(clock.now())));
        report.alerts.push(alert.kind);
      }
      for (const t of due) this.#due.set(t.ref.id, now + t.intervalMs);
      for (const scan of scans) this.#rescanOnNewDrift(scan, now);
    }
    // With a relay, the heartbeat and managed-host list that are due go in the same transaction.
    const reports = this.#sync ? this.#reports.due(scans, this.#reportContext(clock.now())) : null;
    const outbox = reports?.entries ?? [];
    if (drafts.length || outbox.length) {
      await this.evidence.append(drafts, outbox);
      reports?.written();
    }

    for (const scan of scans) {
      const counts = { pass: 0, fail: 0, error: 0 };
      for (const r of scan.results) if (r.status in counts) counts[r.status as keyof typeof counts]++;
      report.scanned.push({ host_id: scan.target.id, reachable: scan.reachable, ...counts });
      try {
        report.healing.push(...(await this.healing.handleScan(scan, opts.signal)).healing);
      } catch (e) {
        log.error("healing_failed", { host_id: scan.target.id, error: (e as Error).message });
      }
    }

    await this.evidence.checkpoint();
    if (clock.now() - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = clock.now();
      const pruned = await this.#retention.prune({ now: clock.now(), retentionCount: this.#config.evidence.retention_count, retentionDays: this.#config.evidence.retention_days });
      log.info("retention", { ...pruned });
    }
    report.evidence_head = (await this.evidence.head()).seq;
    report.finished_at = isoTime(clock.now());
    this.#lastCycle = report;
    log.info("cycle", { scanned: report.scanned.length, alerts: report.alerts, healed: report.healing.map((h) => `${h.host_id}/${h.check}:${h.outcome}`), evidence_head: report.evidence_head });
    return report;
  }

  #rescanOnNewDrift(scan: HostScan, now: number): void {
    const id = scan.target.id;
    if (!scan.reachable) return; // an unreachable host has no results: what was failing stays as it was
    const failing = new Set(scan.results.filter((r) => r.status === "fail").map((r) => r.check));
    const before = this.#failing.get(id);
    this.#failing.set(id, failing);
    if ([...failing].some((c) => !before?.has(c))) this.#due.set(id, Math.min(this.#due.get(id) ?? Infinity, now + RESCAN_AFTER_DRIFT_MS));
  }

  #reportContext(now: number): ReportContext {
    return { now, version: SOFTWARE_VERSION, clockOffsetMs: this.#freshClockOffset(), backlog: this.#sync?.client.status().backlog ?? null, healingMode: this.#modeInForce() };
  }

  /** Local clock minus the relay's, from a pull in the last CLOCK_OFFSET_FRESH_MS; null without one. */
  #freshClockOffset(): number | null {
    const sync = this.#sync?.client.status();
    if (!sync || sync.clock_offset_ms === null || sync.last_sync_at === null) return null;
    return this.#deps.clock.now() - Date.parse(sync.last_sync_at) <= CLOCK_OFFSET_FRESH_MS ? sync.clock_offset_ms : null;
  }

  /** Runs the schedule until `stop()`: a cycle at once, then every TICK_MS for what is due; and the sync loop. */
  start(): void {
    this.#sync?.loop.start();
    this.#discovery?.start();
    const tick = async () => {
      if (this.#stopped) return;
      try {
        const report = await this.runCycle();
        if (report.scanned.length > 0 || report.alerts.length > 0) this.#sync?.loop.trigger();
      } catch (e) {
        this.#deps.log.error("cycle_failed", { error: (e as Error).message, code: (e as { code?: string }).code ?? null });
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, TICK_MS);
    };
    void tick();
  }

  /** Stops the schedule and the sync loop, waits for the running cycle, closes connections and the database. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#sync?.loop.stop();
    // A discovery scan an order started is stopped here; then the order that ran it records its result.
    await this.#discovery?.stop();
    await this.#sync?.client.ordersSettled();
    await this.#running;
    await this.#targets.close();
    await this.#outputs.close();
    // A healing-mode decision taken during the last cycle (an order the relay's setting overruled) is written
    // behind it: it must reach the database before the database closes.
    await this.#modeOrders.settled();
    this.store.close();
  }
}
