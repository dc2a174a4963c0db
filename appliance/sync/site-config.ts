/**
 * The site configuration the relay sends with every pull (healing mode, maintenance windows, L2 on/off,
 * deployment mode, ...), kept in memory for the healing engine and in the `site_config` table (source
 * `relay`) so a restart while the relay is away still uses what the MSP set last.
 *
 * The engine reads `site()` at every decision; `siteSettings` answers with the relay's values when it has
 * sent any, else the YAML's. A configuration for another site, or with a window that does not parse, is
 * refused as a whole and the one in force stays (a half-applied configuration is worse than a stale one).
 */
import { isoTime } from "../../protocol/ids.ts";
import { siteConfigSchema, type SiteConfig } from "../../protocol/sync.ts";
import type { Config } from "../config/index.ts";
import type { Log } from "../engine/types.ts";
import { parseWindow, type SiteSettings } from "../heal/index.ts";
import type { Store } from "../store/index.ts";

export type ApplyOutcome = "changed" | "unchanged" | "refused";

/** The relay's site configuration in force (one per appliance). */
export class RelaySiteConfig {
  readonly #store: Store;
  readonly #log: Pick<Log, "info" | "warn" | "error">;
  #current: SiteConfig | null;
  #currentText: string | null;

  private constructor(store: Store, log: Pick<Log, "info" | "warn" | "error">, current: SiteConfig | null) {
    this.#store = store;
    this.#log = log;
    this.#current = current;
    this.#currentText = current === null ? null : JSON.stringify(current);
  }

  /** Loads the stored relay configuration, if any (an unreadable one is logged and ignored). */
  static async open(store: Store, log: Pick<Log, "info" | "warn" | "error">): Promise<RelaySiteConfig> {
    const rs = await store.execute("SELECT config FROM site_config WHERE id = 1 AND source = 'relay'");
    const row = rs.rows[0];
    let current: SiteConfig | null = null;
    if (row) {
      const parsed = siteConfigSchema.safeParse(safeJson(String(row.config)));
      if (parsed.success) current = parsed.data;
      else log.error("site_config_stored_unusable", { error: parsed.error.message.slice(0, 500) });
    }
    return new RelaySiteConfig(store, log, current);
  }

  /** The configuration in force, or null before the relay sent one. */
  get current(): SiteConfig | null {
    return this.#current;
  }

  /** Validates, stores and puts `config` in force (see the module comment for refusals). */
  async apply(config: SiteConfig, siteId: string, now: number): Promise<ApplyOutcome> {
    if (config.site_id !== siteId) {
      this.#log.error("site_config_refused", { reason: "wrong_site", site_id: config.site_id, expected: siteId });
      return "refused";
    }
    const text = JSON.stringify(config);
    if (text === this.#currentText) return "unchanged";
    for (const [i, w] of config.maintenance_windows.entries()) {
      try {
        parseWindow({ rrule: w.rrule, duration: w.duration, tz: w.tz });
      } catch (e) {
        this.#log.error("site_config_refused", { reason: "bad_window", index: i, error: (e as Error).message });
        return "refused";
      }
    }
    await this.#store.execute({
      sql: "INSERT INTO site_config (id, config, source, updated_at) VALUES (1, ?, 'relay', ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config, source = excluded.source, updated_at = excluded.updated_at",
      args: [text, isoTime(now)],
    });
    const before = this.#current;
    this.#current = config;
    this.#currentText = text;
    this.#log.info("site_config_applied", { healing_mode: config.healing_mode, windows: config.maintenance_windows.length, l2_enabled: config.l2_enabled, deployment_mode: config.deployment_mode, was: before?.healing_mode ?? null });
    return "changed";
  }
}

/**
 * What the healing engine uses: the relay's healing mode, windows, L2 switch and deployment mode when the
 * relay sent a configuration, else the YAML's. `allow_disruptive_outside_window` is a local safety switch
 * the relay does not send, so it always comes from the YAML.
 */
export function siteSettings(yaml: Config["site"], relay: SiteConfig | null): SiteSettings {
  if (relay === null) return yaml;
  return {
    healing_mode: relay.healing_mode,
    maintenance_windows: relay.maintenance_windows.map((w) => ({ rrule: w.rrule, duration: w.duration, tz: w.tz })),
    allow_disruptive_outside_window: yaml.allow_disruptive_outside_window,
    l2_enabled: relay.l2_enabled,
    deployment_mode: relay.deployment_mode,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
