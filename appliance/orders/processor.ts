/**
 * Executes signed orders from the relay: verified, at most once, and always on record.
 *
 * `process(envelope)`:
 * 1. Verify (protocol `verifyOrder`): a pinned relay key signed it, the payload and its params are valid for
 *    a catalogue order type, it names this appliance and site, and it is within its time window. The order's
 *    lifetime must also not exceed `maxLifetimeMs` (config `relay.order_ttl_s`), and a handler must exist.
 *    A refused order becomes an evidence bundle (kind `order`, outcome `expired` or `rejected`) with a reason
 *    code in `post_state` — never the untrusted payload itself; the order id is recorded only once the
 *    signature has verified (before that, the bytes could say anything).
 * 2. Accept, in one transaction with the nonce check: refuse a nonce already in `order_nonces` (`replayed`)
 *    or one that may have been pruned from it (`nonce_record_pruned`, nonces.ts), otherwise insert the nonce
 *    and an in-flight marker (`kv` key `order.inflight.<nonce>`) — the "accepted" record. The nonce is marked *before* the handler runs, so a crash can never let an order run twice.
 * 3. Execute: the handler registered for the order's type receives the verified payload (never the envelope)
 *    and the params with catalogue defaults applied. It has `handlerTimeoutMs` to finish.
 * 4. Record, in one transaction: the result bundle (kind `order`, the handler's outcome, `order_id`), an
 *    `order_result` outbox entry for the relay, and removal of the in-flight marker.
 *
 * Crash between 2 and 4: the order may have been partly executed and we cannot know how far it got, so it is
 * never re-run (re-running a half-applied fix is worse than asking a human). At startup `recover()` turns
 * every in-flight marker into a `failed` result with detail "interrupted", which the relay shows; the MSP can
 * issue a new order (with a new nonce) if it is still wanted.
 */
import { listOrderTypes, validateOrderParams } from "../../protocol/catalogue/mod.ts";
import type { Params, ParamsResult } from "../../protocol/catalogue/params.ts";
import { openEnvelope } from "../../protocol/envelope.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { HEALING_OUTCOMES, type HealingOutcome, type JsonObject } from "../../protocol/evidence.ts";
import { isId, isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { MAX_ORDER_LIFETIME_MS, ORDER_TYPE_PATTERN, verifyOrder, type OrderPayload } from "../../protocol/orders.ts";
import { MAX_DETAIL_LENGTH } from "../../protocol/sync.ts";
import type { Clock, EvidenceDraft, Log, OutboxDraft } from "../engine/types.ts";
import type { EvidenceLog, EvidenceWriter } from "../evidence/index.ts";
import type { EnrolledIdentity } from "../identity/index.ts";
import { nonceState, recordNonce } from "./nonces.ts";

/** Longest a handler may run: a runbook with verification and rollback fits; a hung one must not pin the order. */
export const HANDLER_TIMEOUT_MS = 30 * 60_000;
/** In-flight markers turned into `interrupted` results per `recover()` call (the daemon calls it until done). */
export const MAX_RECOVER_PER_CALL = 100;
/** Key prefix of in-flight markers in `kv`. */
export const INFLIGHT_PREFIX = "order.inflight.";

export const REFUSAL_REASONS = [
  "malformed_envelope",
  "unknown_key",
  "bad_signature",
  "invalid_payload",
  "unknown_type",
  "invalid_params",
  "wrong_target",
  "not_yet_valid",
  "expired",
  "lifetime_too_long",
  "replayed",
  "nonce_record_pruned",
  "no_handler",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Plain words for each refusal, sent to the relay as the order result's detail. */
const REASON_TEXT: Readonly<Record<RefusalReason, string>> = {
  malformed_envelope: "the order envelope is malformed",
  unknown_key: "the order is signed by a key this appliance does not trust",
  bad_signature: "the order's signature does not verify",
  invalid_payload: "the signed order is not a valid order",
  unknown_type: "the order type is not in this appliance's catalogue",
  invalid_params: "the order's parameters do not match its type's schema",
  wrong_target: "the order is for another appliance or site",
  not_yet_valid: "the order is issued in the future (clock skew beyond the tolerance)",
  expired: "the order expired before the appliance could run it",
  lifetime_too_long: "the order is valid for longer than this appliance accepts",
  replayed: "the order's nonce was already used; it runs at most once",
  nonce_record_pruned: "the order expired before the oldest order this appliance keeps a record of, so it cannot be shown to be new (was the clock set back?)",
  no_handler: "this appliance cannot execute orders of this type",
};

export interface OrderContext {
  /** The order's params validated against its type's schema, with defaults applied. */
  params: Params;
  /** Aborted when the handler's time is up. */
  signal: AbortSignal;
  /** When the order was accepted (ms). */
  acceptedAt: number;
}

export interface OrderHandlerResult {
  outcome: HealingOutcome;
  /** Short, secret-free description, sent to the relay (truncated to MAX_DETAIL_LENGTH). */
  detail: string;
}

/** Executes one verified order. Must not put secrets in `detail` or in a thrown error's message. */
export type OrderHandler = (order: OrderPayload, ctx: OrderContext) => Promise<OrderHandlerResult>;
export type OrderHandlers = Readonly<Partial<Record<string, OrderHandler>>>;

export interface OrderProcessorOptions {
  evidence: Pick<EvidenceLog, "transaction">;
  identity: Pick<EnrolledIdentity, "appliance_id" | "site_id" | "relayKeys">;
  handlers: OrderHandlers;
  clock: Clock;
  /** Longest order lifetime accepted (ms); default MAX_ORDER_LIFETIME_MS. */
  maxLifetimeMs?: number;
  handlerTimeoutMs?: number;
  /** Order-type registry: default the catalogue's. */
  registry?: { validateOrderParams(type: string, params: unknown): ParamsResult; knownTypes: ReadonlySet<string> };
  log?: Pick<Log, "info" | "warn">;
}

export type OrderReport =
  | { status: "executed"; order_id: string; outcome: HealingOutcome; seqs: number[] }
  | { status: "refused"; order_id: string | null; outcome: "rejected" | "expired"; reason: RefusalReason; seqs: number[] }
  | { status: "interrupted"; order_id: string; outcome: "failed"; seqs: number[] };

interface InFlight {
  order_id: string;
  nonce: string;
  type: string;
  accepted_at: string;
}

/** Processes signed orders; one instance per appliance (it tracks the orders it is running). */
export class OrderProcessor {
  readonly #o: OrderProcessorOptions;
  readonly #registry: NonNullable<OrderProcessorOptions["registry"]>;
  readonly #maxLifetimeMs: number;
  readonly #timeoutMs: number;
  /** Nonces of orders this process is executing now (their markers are not interrupted ones). */
  readonly #running = new Set<string>();

  constructor(options: OrderProcessorOptions) {
    this.#o = options;
    this.#registry = options.registry ?? { validateOrderParams, knownTypes: new Set(listOrderTypes().map((t) => t.type)) };
    this.#maxLifetimeMs = options.maxLifetimeMs ?? MAX_ORDER_LIFETIME_MS;
    this.#timeoutMs = options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS;
    for (const [name, v] of [["maxLifetimeMs", this.#maxLifetimeMs], ["handlerTimeoutMs", this.#timeoutMs]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`Cannot process orders as '${name}' must be a positive integer: current value is ${v}`);
    }
  }

  /**
   * Verifies, executes at most once, and records one order; see the module comment. Never rejects for a bad
   * order. `onStart` is told the verified order just before its handler runs (the sync client decides from its
   * type how long a pull waits for it).
   */
  async process(envelope: unknown, hooks: { onStart?: (order: OrderPayload) => void } = {}): Promise<OrderReport> {
    const now = this.#o.clock.now();
    const relayKeys = this.#o.identity.relayKeys;
    let signed: unknown;
    try {
      signed = (await openEnvelope("order", envelope, relayKeys)).value;
    } catch (e) {
      if (e instanceof IntegrityError && (e.code === "unknown_key" || e.code === "bad_signature")) {
        const keyId = typeof e.details?.["key_id"] === "string" ? e.details["key_id"] : null;
        return this.#refuse(null, null, e.code, now, keyId === null ? {} : { key_id: keyId });
      }
      if (e instanceof ValidationError) return this.#refuse(null, null, "malformed_envelope", now);
      throw e;
    }
    // From here the bytes are the relay's: their ids and type may be recorded.
    const orderId = idOf(signed, "order_id");
    const type = typeOf(signed);

    let params: Params | undefined;
    let paramsProblem: "unknown_type" | "invalid_params" | null = null;
    const validateParams = (t: string, p: JsonObject): void => {
      if (!this.#registry.knownTypes.has(t)) paramsProblem = "unknown_type";
      else {
        const r = this.#registry.validateOrderParams(t, p);
        if (r.ok) return void (params = r.value);
        paramsProblem = "invalid_params";
      }
      throw new ValidationError("schema", `params: not valid for order type ${t}`);
    };
    let order: OrderPayload;
    try {
      order = await verifyOrder(envelope, { relayKeys, applianceId: this.#o.identity.appliance_id, siteId: this.#o.identity.site_id, now, validateParams });
    } catch (e) {
      if (e instanceof ValidationError) return this.#refuse(orderId, type, paramsProblem ?? "invalid_payload", now);
      if (e instanceof IntegrityError && (e.code === "wrong_target" || e.code === "not_yet_valid" || e.code === "expired" || e.code === "unknown_key" || e.code === "bad_signature")) {
        return this.#refuse(orderId, type, e.code, now);
      }
      throw e;
    }

    const lifetime = parseIsoTime(order.expires_at) - parseIsoTime(order.issued_at);
    const handler = Object.hasOwn(this.#o.handlers, order.type) ? this.#o.handlers[order.type] : undefined;
    const refusal: RefusalReason | null = lifetime > this.#maxLifetimeMs ? "lifetime_too_long" : handler === undefined ? "no_handler" : null;
    const accepted = await this.#o.evidence.transaction(async (w) => {
      const unusable = await nonceState(w.tx, order.nonce, order.expires_at);
      if (unusable) return { refused: unusable, seqs: (await this.#appendRefusal(w, order.order_id, order.type, unusable, now, {}, false)).seqs };
      await recordNonce(w.tx, { nonce: order.nonce, order_id: order.order_id, seen_at: isoTime(now), expires_at: order.expires_at });
      if (refusal) return { refused: refusal, seqs: (await this.#appendRefusal(w, order.order_id, order.type, refusal, now, {}, true)).seqs };
      const marker: InFlight = { order_id: order.order_id, nonce: order.nonce, type: order.type, accepted_at: isoTime(now) };
      await w.tx.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)", args: [INFLIGHT_PREFIX + order.nonce, JSON.stringify(marker), marker.accepted_at] });
      return null;
    });
    if (accepted) {
      this.#o.log?.warn("order_refused", { order_id: order.order_id, type: order.type, reason: accepted.refused });
      return { status: "refused", order_id: order.order_id, outcome: "rejected", reason: accepted.refused, seqs: accepted.seqs };
    }

    this.#running.add(order.nonce);
    try {
      hooks.onStart?.(order);
      const result = await this.#execute(handler!, order, { params: params ?? {}, acceptedAt: now });
      const { seqs } = await this.#o.evidence.transaction(async (w) => {
        const r = await w.append([resultDraft(order, result, now, this.#o.clock.now())], [orderResult(order.order_id, result.outcome, result.detail)]);
        await w.tx.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [INFLIGHT_PREFIX + order.nonce] });
        return r;
      });
      this.#o.log?.info("order_executed", { order_id: order.order_id, type: order.type, outcome: result.outcome });
      return { status: "executed", order_id: order.order_id, outcome: result.outcome, seqs };
    } finally {
      this.#running.delete(order.nonce);
    }
  }

  /**
   * Reports orders accepted before a crash and never finished as `failed` ("interrupted"); they are not re-run.
   * Call at startup before processing new orders; handles at most MAX_RECOVER_PER_CALL markers per call.
   */
  async recover(): Promise<OrderReport[]> {
    const reports: OrderReport[] = [];
    const now = this.#o.clock.now();
    await this.#o.evidence.transaction(async (w) => {
      const rs = await w.tx.execute({ sql: "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY updated_at, key LIMIT ?", args: [INFLIGHT_PREFIX, INFLIGHT_PREFIX + "\uffff", MAX_RECOVER_PER_CALL + this.#running.size] });
      for (const row of rs.rows) {
        const key = String(row.key);
        if (this.#running.has(key.slice(INFLIGHT_PREFIX.length)) || reports.length >= MAX_RECOVER_PER_CALL) continue;
        const marker = parseMarker(String(row.value));
        const detail = "interrupted: the appliance stopped before this order finished; it was not re-run (it may have been partly applied)";
        const started = marker ? Math.min(parseIsoTime(marker.accepted_at), now) : now;
        const drafts: EvidenceDraft[] = [
          {
            kind: "order",
            outcome: "failed",
            order_id: marker?.order_id ?? null,
            action_taken: marker?.type ?? null,
            timestamps: { started_at: isoTime(started), finished_at: isoTime(now) },
            post_state: { reason: "interrupted" },
          },
        ];
        const outbox = marker ? [orderResult(marker.order_id, "failed", detail)] : [];
        const { seqs } = await w.append(drafts, outbox);
        await w.tx.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [key] });
        if (marker) reports.push({ status: "interrupted", order_id: marker.order_id, outcome: "failed", seqs });
      }
    });
    for (const r of reports) this.#o.log?.warn("order_interrupted", { order_id: r.order_id });
    return reports;
  }

  async #execute(handler: OrderHandler, order: OrderPayload, ctx: Omit<OrderContext, "signal">): Promise<OrderHandlerResult> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<OrderHandlerResult>((resolve) => {
      timer = setTimeout(() => {
        // Settle first: whatever the handler does when aborted arrives too late to count.
        resolve({ outcome: "failed", detail: `timed out after ${this.#timeoutMs} ms` });
        controller.abort(new Error(`order handler timed out after ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    try {
      const result = await Promise.race([handler(order, { ...ctx, signal: controller.signal }), timeout]);
      if (!HEALING_OUTCOMES.includes(result?.outcome) || typeof result.detail !== "string") {
        return { outcome: "failed", detail: `the ${order.type} handler returned an invalid result` };
      }
      return { outcome: result.outcome, detail: truncate(result.detail) };
    } catch (e) {
      return { outcome: "failed", detail: truncate(`the ${order.type} handler failed: ${e instanceof Error ? e.message : String(e)}`) };
    } finally {
      clearTimeout(timer);
    }
  }

  async #refuse(orderId: string | null, type: string | null, reason: RefusalReason, now: number, extra: JsonObject = {}): Promise<OrderReport> {
    const { seqs } = await this.#o.evidence.transaction((w) => this.#appendRefusal(w, orderId, type, reason, now, extra, orderId !== null));
    this.#o.log?.warn("order_refused", { order_id: orderId, type, reason });
    return { status: "refused", order_id: orderId, outcome: reason === "expired" ? "expired" : "rejected", reason, seqs };
  }

  #appendRefusal(w: EvidenceWriter, orderId: string | null, type: string | null, reason: RefusalReason, now: number, extra: JsonObject, report: boolean): Promise<{ seqs: number[] }> {
    const outcome = reason === "expired" ? "expired" : "rejected";
    const at = isoTime(now);
    const draft: EvidenceDraft = { kind: "order", outcome, order_id: orderId, action_taken: type, timestamps: { started_at: at, finished_at: at }, post_state: { reason, ...extra } };
    // A replay's order already has its result on the relay; an unsigned one has no order the relay would know.
    return w.append([draft], report && orderId !== null ? [orderResult(orderId, outcome, REASON_TEXT[reason])] : []);
  }
}

function resultDraft(order: OrderPayload, result: OrderHandlerResult, startedAt: number, finishedAt: number): EvidenceDraft {
  const hostId = order.params["host_id"];
  return {
    kind: "order",
    outcome: result.outcome,
    order_id: order.order_id,
    action_taken: order.type,
    host_id: typeof hostId === "string" && isId(hostId) ? hostId : null,
    // A clock set back while the handler ran must not make the bundle invalid (finished before started).
    timestamps: { started_at: isoTime(startedAt), finished_at: isoTime(Math.max(startedAt, finishedAt)) },
    pre_state: { order_type: order.type, issued_at: order.issued_at, expires_at: order.expires_at },
    post_state: { detail: truncate(result.detail) },
  };
}

function orderResult(orderId: string, outcome: HealingOutcome, detail: string): OutboxDraft {
  return { type: "order_result", body: { order_id: orderId, outcome, detail: truncate(detail) } };
}

function truncate(text: string): string {
  return text.length <= MAX_DETAIL_LENGTH ? text : `${text.slice(0, MAX_DETAIL_LENGTH - 1)}…`;
}

/** An id member of a signed payload, if it is one. */
function idOf(value: unknown, key: string): string | null {
  if (value === null || typeof value !== "object") return null;
  const v = (value as Record<string, unknown>)[key];
  return isId(v) ? v : null;
}

function typeOf(value: unknown): string | null {
  if (value === null || typeof value !== "object") return null;
  const t = (value as Record<string, unknown>)["type"];
  return typeof t === "string" && ORDER_TYPE_PATTERN.test(t) ? t : null;
}

function parseMarker(text: string): InFlight | null {
  try {
    const v = JSON.parse(text) as Partial<InFlight>;
    if (isId(v.order_id) && typeof v.nonce === "string" && typeof v.type === "string" && ORDER_TYPE_PATTERN.test(v.type) && typeof v.accepted_at === "string" && !Number.isNaN(parseIsoTime(v.accepted_at))) {
      return { order_id: v.order_id, nonce: v.nonce, type: v.type, accepted_at: v.accepted_at };
    }
  } catch {
    // fall through: an unreadable marker is still reported (without an order id) and removed
  }
  return null;
}
