/**
 * The daemon before enrollment (`osiris appliance run` with `relay.url` on an appliance that is unclaimed or
 * pending): instead of exiting, it keeps checking its targets and waits for `osiris appliance enroll` (the
 * first-boot provisioning unit, another process) to finish, re-reading the enrollment from the store every
 * ENROLLMENT_POLL_MS. The status page shows "waiting for enrollment" with the key fingerprint to compare.
 *
 * Check results are kept in memory for the page only: an evidence bundle carries the appliance and site ids the
 * relay assigns at enrollment and is signed into that appliance's chain, so there is no chain to write to yet.
 * Evidence starts with the first cycle after enrollment, when the caller (cli/appliance-run.ts) opens the full
 * Appliance, which starts with a cycle over every target and begins to sync. Nothing is healed meanwhile: the
 * healing mode and the rule set come from the relay.
 */
import { catalogue as defaultCatalogue, type Catalogue } from "../../protocol/catalogue/mod.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { scanSite } from "../checks/mod.ts";
import { memoryPinStore } from "../collect/index.ts";
import { loadCredentialsFile } from "../config/credentials.ts";
import type { Config } from "../config/index.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { HeadInfo } from "../evidence/index.ts";
import type { SiteSettings } from "../heal/index.ts";
import { loadOrCreateIdentity, type ApplianceIdentity, type IdentityState } from "../identity/index.ts";
import { databasePath } from "../provision/index.ts";
import type { LatestScan } from "../serve/status-api.ts";
import type { StatusAppliance } from "../serve/status-source.ts";
import { ensurePrivateDir, keyFileExists, KEY_FILES, openStore, type Store } from "../store/index.ts";
import type { ApplianceStatus, CycleReport } from "./appliance.ts";
import { resolveTargets, type ResolvedTargets } from "./targets.ts";
import { join } from "node:path";

/** How often the enrollment is re-read: the provisioning unit tries every 2 minutes, so 10 s adds little. */
export const ENROLLMENT_POLL_MS = 10_000;
/** How often due targets are looked for (the enrolled daemon's TICK_MS). */
export const WAIT_TICK_MS = 5_000;

export interface WaitingDeps {
  clock: Clock;
  random: (n: number) => Uint8Array;
  log: Log;
  catalogue?: Catalogue;
  /** Default ENROLLMENT_POLL_MS (tests shorten it). */
  pollMs?: number;
}

/** An unenrolled appliance with a relay configured, waiting for its enrollment. */
export class WaitingAppliance {
  readonly store: Store;
  readonly identity: ApplianceIdentity;
  readonly #config: Config;
  readonly #deps: WaitingDeps;
  readonly #targets: ResolvedTargets;
  readonly #latest = new Map<string, LatestScan>();
  readonly #due = new Map<string, number>();
  #state: IdentityState;
  #lastCycle: CycleReport | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #lastPoll = 0;
  #resolveEnrolled!: () => void;
  /** Resolves once the store says enrolled and the relay token file exists. */
  readonly enrolled: Promise<void>;
  /** What the status page shows for the evidence log: nothing yet. */
  readonly evidence = { head: async (): Promise<HeadInfo> => ({ seq: 0, hash: "", last_time: null, size: 0, root_hash: "" }) };
  /** No incidents before enrollment (nothing is healed). */
  readonly healing = { incidents: { get: async () => null } };

  private constructor(store: Store, identity: ApplianceIdentity, config: Config, deps: WaitingDeps, targets: ResolvedTargets) {
    this.store = store;
    this.identity = identity;
    this.#config = config;
    this.#deps = deps;
    this.#targets = targets;
    this.#state = identity.state;
    this.enrolled = new Promise((resolve) => (this.#resolveEnrolled = resolve));
  }

  /**
   * Opens the store and identity (creating the keys on a first start, so the fingerprint can be shown at once).
   * Returns null when there is nothing to wait for: no relay configured, or enrolled already.
   */
  static async open(config: Config, deps: WaitingDeps): Promise<WaitingAppliance | null> {
    if (!config.relay.url) return null;
    await ensurePrivateDir(config.state_dir);
    const store = await openStore(databasePath(config), { log: deps.log });
    try {
      const identity = await loadOrCreateIdentity(config.state_dir, store, { random: deps.random, clock: deps.clock, log: deps.log });
      if (identity.state === "enrolled") {
        store.close();
        return null;
      }
      const credentials = config.credentials_file ? await loadCredentialsFile(config.credentials_file) : new Map();
      const targets = await resolveTargets({ config, credentials, pins: memoryPinStore(), clock: deps.clock, log: deps.log });
      deps.log.info("waiting_for_enrollment", { state: identity.state, fingerprint: identity.fingerprint, targets: targets.targets.length });
      return new WaitingAppliance(store, identity, config, deps, targets);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /** `unclaimed` or `pending` until enrolled. */
  enrollment(): IdentityState {
    return this.#state;
  }

  status(): ApplianceStatus {
    return {
      appliance_id: this.identity.appliance_id ?? "not enrolled",
      site_id: this.identity.site_id ?? this.#config.site.id ?? "not enrolled",
      fingerprint: this.identity.fingerprint,
      simulated: this.#targets.targets.some((t) => t.ref.simulated),
      targets: this.#targets.targets.map((t) => t.ref),
      last_cycle: this.#lastCycle,
      sync: null,
    };
  }

  /** The YAML's settings (the relay's arrive with enrollment). */
  site(): Pick<SiteSettings, "healing_mode" | "maintenance_windows"> {
    return this.#config.site;
  }

  latestScans(): ReadonlyMap<string, LatestScan> {
    return new Map(this.#latest);
  }

  /** Re-reads the enrollment from the store (another process enrolls); resolves `enrolled` when done. */
  async checkEnrollment(): Promise<IdentityState> {
    const rs = await this.store.execute("SELECT state FROM identity WHERE id = 1");
    const state = String(rs.rows[0]?.["state"] ?? "unclaimed") as IdentityState;
    if (state !== this.#state) this.#deps.log.info("enrollment_state", { state, was: this.#state });
    this.#state = state;
    if (state === "enrolled" && (await keyFileExists(join(this.#config.state_dir, KEY_FILES.relayToken)))) this.#resolveEnrolled();
    return state;
  }

  /** Scans the due targets (every one with `all`), keeping only the newest result per device. */
  runCycle(opts: { all?: boolean } = {}): Promise<CycleReport> {
    const run = this.#running.then(() => this.#cycle(opts));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #cycle(opts: { all?: boolean }): Promise<CycleReport> {
    const { clock } = this.#deps;
    const now = clock.now();
    const due = this.#targets.targets.filter((t) => opts.all || (this.#due.get(t.ref.id) ?? 0) <= now);
    const report: CycleReport = { started_at: isoTime(now), finished_at: isoTime(now), scanned: [], alerts: [], healing: [], evidence_head: 0 };
    if (due.length) {
      const byId = new Map(due.map((t) => [t.ref.id, t]));
      const site = await scanSite(
        due.map((t) => t.ref),
        { gather: (target, o) => byId.get(target.id)!.gather(target, o), catalogue: this.#deps.catalogue ?? defaultCatalogue, clock, timeoutMs: Math.max(...due.map((t) => t.timeoutMs)) },
      );
      for (const scan of site.scans) {
        const counts = { pass: 0, fail: 0, error: 0 };
        for (const r of scan.results) if (r.status in counts) counts[r.status as keyof typeof counts]++;
        report.scanned.push({ host_id: scan.target.id, reachable: scan.reachable, ...counts });
        this.#latest.set(scan.target.id, { at: parseIsoTime(scan.finished_at), reachable: scan.reachable, results: scan.results.map((r) => ({ check: r.check, status: r.status })) });
      }
      report.alerts.push(...site.alerts.map((a) => a.kind));
      for (const t of due) this.#due.set(t.ref.id, now + t.intervalMs);
    }
    report.finished_at = isoTime(clock.now());
    this.#lastCycle = report;
    return report;
  }

  /** Checks on schedule and re-reads the enrollment every poll interval until `stop()`. */
  start(): void {
    const pollMs = this.#deps.pollMs ?? ENROLLMENT_POLL_MS;
    const tick = async () => {
      if (this.#stopped) return;
      try {
        if (this.#deps.clock.now() - this.#lastPoll >= pollMs) {
          this.#lastPoll = this.#deps.clock.now();
          await this.checkEnrollment();
        }
        await this.runCycle();
      } catch (e) {
        this.#deps.log.error("cycle_failed", { error: (e as Error).message, code: (e as { code?: string }).code ?? null });
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, Math.min(WAIT_TICK_MS, pollMs));
    };
    void tick();
  }

  /** Stops checking, waits for a running cycle, closes the targets and the store. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    await this.#targets.close();
    this.store.close();
  }
}

/**
 * What the status page reads while the daemon changes from waiting to enrolled: it answers from the waiting
 * appliance until `handOver` gives it the enrolled one, so the page keeps running across enrollment.
 */
export class StatusHandoff implements StatusAppliance {
  #current: StatusAppliance;

  constructor(first: StatusAppliance) {
    this.#current = first;
  }
  handOver(next: StatusAppliance): void {
    this.#current = next;
  }
  status(): ApplianceStatus {
    return this.#current.status();
  }
  site(): Pick<SiteSettings, "healing_mode" | "maintenance_windows"> {
    return this.#current.site?.() ?? { healing_mode: "observe", maintenance_windows: [] };
  }
  get store(): StatusAppliance["store"] {
    return this.#current.store;
  }
  get evidence(): StatusAppliance["evidence"] {
    return this.#current.evidence;
  }
  get healing(): StatusAppliance["healing"] {
    return this.#current.healing;
  }
  enrollment(): IdentityState {
    return this.#current.enrollment?.() ?? "enrolled";
  }
  latestScans(): ReadonlyMap<string, LatestScan> | null {
    return this.#current.latestScans?.() ?? null;
  }
}
