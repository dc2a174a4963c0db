/**
 * The healing order types as handlers for the order processor (appliance/orders): it verifies signature,
 * target, expiry and nonce, then hands over the verified payload with params validated (catalogue defaults
 * applied). Nothing from outside the signed payload is used here.
 *
 * - `approve_runbook` → an approval record {runbook, host_id, check: the runbook's check, approved_until:
 *   issued_at + valid_for_s, order_id, params only if the order named them}; the gates accept it for exactly
 *   that runbook, host and check until then. Outcome `success` once it is stored.
 * - `run_runbook` → `HealingEngine.runOrder` (every gate except approval, which the order is). The outcome is
 *   the engine's: `success` only after the re-check passes. An unknown host, a runbook for another platform,
 *   invalid parameters, or the check being healed right now → `rejected` (the order is not retried).
 */
import { catalogue as shippedCatalogue, type Catalogue, type Json } from "../../protocol/catalogue/mod.ts";
import type { HealingOutcome } from "../../protocol/evidence.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import type { OrderPayload } from "../../protocol/orders.ts";
import type { TargetRef } from "../engine/types.ts";
import type { KvApprovals } from "./approvals.ts";
import type { HealingEngine } from "./engine.ts";
import { HealError } from "./errors.ts";
import { clip } from "./policy.ts";

/** What the order processor passes a handler (structurally the processor's OrderContext). */
export interface HealOrderContext {
  params: { [name: string]: unknown };
  signal: AbortSignal;
  acceptedAt: number;
}
export type HealOrderHandler = (order: OrderPayload, ctx: HealOrderContext) => Promise<{ outcome: HealingOutcome; detail: string }>;

export interface HealOrderDeps {
  engine: Pick<HealingEngine, "runOrder">;
  approvals: Pick<KvApprovals, "grant">;
  /** The configured target with this host id, or null. */
  target: (hostId: string) => TargetRef | null;
  catalogue?: Catalogue;
}

const asObject = (v: unknown): { [name: string]: Json } => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as { [name: string]: Json }) : {});

/** Handlers for `approve_runbook` and `run_runbook`, to register with the order processor. */
export function healOrderHandlers(deps: HealOrderDeps): { approve_runbook: HealOrderHandler; run_runbook: HealOrderHandler } {
  const cat = deps.catalogue ?? shippedCatalogue;
  return {
    async approve_runbook(order, ctx) {
      const runbook = cat.findRunbook(String(ctx.params.runbook));
      if (!runbook) return { outcome: "rejected", detail: `${clip(String(ctx.params.runbook), 80)} is not a catalogue runbook` };
      const validFor = Number(ctx.params.valid_for_s);
      const until = parseIsoTime(order.issued_at) + validFor * 1000;
      const named = Object.hasOwn(order.params, "runbook_params");
      const record = await deps.approvals.grant({
        runbook: runbook.id,
        host_id: String(ctx.params.host_id),
        check: runbook.check,
        approved_until: isoTime(until),
        order_id: order.order_id,
        ...(named ? { params: asObject(ctx.params.runbook_params) } : {}),
      });
      return { outcome: "success", detail: `approved ${record.runbook} on ${record.host_id} until ${record.approved_until}` };
    },

    async run_runbook(order, ctx) {
      const hostId = String(ctx.params.host_id);
      const target = deps.target(hostId);
      if (!target) return { outcome: "rejected", detail: `host ${clip(hostId, 60)} is not a configured target` };
      try {
        const r = await deps.engine.runOrder(
          {
            order_id: order.order_id,
            target,
            runbook: String(ctx.params.runbook),
            params: asObject(ctx.params.runbook_params),
            dry_run: ctx.params.dry_run === true,
            ignore_window: ctx.params.ignore_window === true,
          },
          ctx.signal,
        );
        return { outcome: r.outcome, detail: clip(`${r.runbook ?? "-"}: ${r.detail}`, 1_000) };
      } catch (e) {
        if (e instanceof HealError) return { outcome: "rejected", detail: clip(e.message, 1_000) };
        throw e;
      }
    },
  };
}
