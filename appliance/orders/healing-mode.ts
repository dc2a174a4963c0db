/**
 * The `set_healing_mode` order: the MSP changes the site's healing mode at once, without waiting for a site
 * settings change to reach the appliance.
 *
 * Precedence (one rule, used by the daemon and by `osiris appliance status`):
 * 1. the YAML's `site.healing_mode`;
 * 2. replaced by the relay's site configuration once it sent one (sync/site-config.ts);
 * 3. replaced by the last verified `set_healing_mode` order, until the relay's site configuration brings a
 *    healing mode other than the one it carried when the order ran — an MSP who changes the site's setting
 *    afterwards means it, so the newer decision wins. An order that ran before the relay sent any
 *    configuration adopts the first one it sends as its reference.
 *
 * The order is kept in `kv` (key HEALING_MODE_ORDER_KEY) so it survives a restart; the order processor records
 * it as an `order` evidence bundle with the old and the new mode in its detail.
 */
import { HEALING_MODES, type HealingMode, type HealingModeSource } from "../../protocol/sync.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { Store } from "../store/index.ts";
import type { OrderHandler } from "./processor.ts";

/** `kv` key of the healing mode order in force. */
export const HEALING_MODE_ORDER_KEY = "healing.mode_order";

/** A `set_healing_mode` order in force. */
export interface HealingModeOrder {
  mode: HealingMode;
  order_id: string;
  set_at: string;
  /** The relay's site healing mode when the order ran (null: the relay had sent none yet). */
  over: HealingMode | null;
}

export type { HealingModeSource };
/** The healing mode in force and where it comes from. */
export type HealingModeInForce = { mode: HealingMode; source: HealingModeSource };

/** The healing mode in force given the base (YAML or relay), the relay's own mode and the order, if any. */
export function healingModeInForce(base: HealingMode, relayMode: HealingMode | null, order: HealingModeOrder | null): HealingModeInForce {
  if (order !== null && (order.over === null || order.over === relayMode)) return { mode: order.mode, source: "order" };
  return { mode: base, source: relayMode === null ? "config" : "relay" };
}

/** Parses a stored order (null when absent or unreadable). */
export function parseHealingModeOrder(raw: unknown): HealingModeOrder | null {
  if (typeof raw !== "string") return null;
  try {
    const v = JSON.parse(raw) as Partial<HealingModeOrder>;
    const isMode = (m: unknown): m is HealingMode => (HEALING_MODES as readonly unknown[]).includes(m);
    if (!isMode(v.mode) || typeof v.order_id !== "string" || typeof v.set_at !== "string" || !(v.over === null || isMode(v.over))) return null;
    return { mode: v.mode, order_id: v.order_id, set_at: v.set_at, over: v.over };
  } catch {
    return null;
  }
}

/** Reads the stored order from any connection to the store (the status command reads read-only). */
export async function readHealingModeOrder(db: Pick<Store, "execute">): Promise<HealingModeOrder | null> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [HEALING_MODE_ORDER_KEY] });
  return parseHealingModeOrder(rs.rows[0]?.value);
}

/** The daemon's view: the order in force (in memory, kept in step with `kv`) and the order handler. */
export class HealingModeOrders {
  readonly #store: Pick<Store, "execute">;
  readonly #clock: Clock;
  readonly #log: Pick<Log, "info" | "error">;
  #order: HealingModeOrder | null;
  /** Writes run in order; `site()` is synchronous, so what it changes is written behind it. */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(store: Pick<Store, "execute">, clock: Clock, log: Pick<Log, "info" | "error">, order: HealingModeOrder | null) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
    this.#order = order;
  }

  static async open(store: Pick<Store, "execute">, clock: Clock, log: Pick<Log, "info" | "error">): Promise<HealingModeOrders> {
    return new HealingModeOrders(store, clock, log, await readHealingModeOrder(store));
  }

  /**
   * The healing mode in force for `base` (the YAML's or the relay's) and the relay's own mode (null before it
   * sent a configuration). Drops an order the relay's setting has since overruled, and gives an order that ran
   * before any configuration its reference.
   */
  inForce(base: HealingMode, relayMode: HealingMode | null): HealingModeInForce {
    const order = this.#order;
    if (order !== null && order.over === null && relayMode !== null) this.#save({ ...order, over: relayMode });
    else if (order !== null && order.over !== null && order.over !== relayMode) {
      this.#log.info("healing_mode_order_overruled", { order_id: order.order_id, order_mode: order.mode, relay_mode: relayMode });
      this.#save(null);
    }
    return healingModeInForce(base, relayMode, this.#order);
  }

  /** Waits for the writes `mode()` started (tests, shutdown). */
  settled(): Promise<void> {
    return this.#writes.then(() => undefined);
  }

  /** The `set_healing_mode` handler; `current` gives the mode in force before it and the relay's own mode. */
  handler(current: () => { mode: HealingMode; relayMode: HealingMode | null }): OrderHandler {
    return async (order, ctx) => {
      const mode = ctx.params["mode"];
      if (!(HEALING_MODES as readonly unknown[]).includes(mode)) return { outcome: "rejected", detail: `mode must be one of ${HEALING_MODES.join(", ")}` };
      const before = current();
      const next: HealingModeOrder = { mode: mode as HealingMode, order_id: order.order_id, set_at: isoTime(this.#clock.now()), over: before.relayMode };
      // Written before it is in force: a mode that would not survive a restart is not reported as set.
      await this.settled();
      await this.#write(next);
      this.#order = next;
      this.#log.info("healing_mode_set", { order_id: order.order_id, mode: next.mode, was: before.mode });
      return { outcome: "success", detail: `healing mode ${next.mode} (was ${before.mode}); it holds until the site's healing mode setting at the relay changes` };
    };
  }

  #save(order: HealingModeOrder | null): void {
    this.#order = order;
    this.#writes = this.#writes.then(() => this.#write(order)).catch((e: unknown) => this.#log.error("healing_mode_order_not_saved", { error: (e as Error).message }));
  }

  async #write(order: HealingModeOrder | null): Promise<void> {
    if (order === null) {
      await this.#store.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [HEALING_MODE_ORDER_KEY] });
      return;
    }
    await this.#store.execute({
      sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      args: [HEALING_MODE_ORDER_KEY, JSON.stringify(order), isoTime(this.#clock.now())],
    });
  }
}
