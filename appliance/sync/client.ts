/**
 * The appliance side of the sync protocol (docs/protocol.md "Sync messages", relay/README.md). One `sync()`
 * is a round: push the outbox, pull, and push again if the pull wrote evidence (order results, alerts).
 *
 * Push. Outbox rows after the cursor go up in order, in batches bounded by MAX_PUSH_ENTRIES / MAX_PUSH_BYTES,
 * with the appliance's latest signed checkpoint until the relay has countersigned it. Each acknowledgement is
 * applied through `EvidenceLog.acknowledge` (outbox and evidence rows marked in one transaction: the cursor
 * moves with the data it covers); the relay's head hash is compared with ours first, and a countersigned
 * checkpoint is stored only after `recordCountersigned` verified it with a pinned relay key. Every push is
 * idempotent on the relay (by appliance + outbox_seq), so a lost answer is simply pushed again. A 409
 * `outbox_gap` resends from the relay's cursor. An integrity refusal (fork, gap, bad signature, ...: the
 * relay recorded an incident) stops pushing for good and raises one `alert` bundle: sending the same bytes
 * again only counts the incident again, and a human has to look.
 *
 * Pull. In this order: the relay's time (clock offset, one alert per episode beyond ntp.max_skew_s), key
 * rotations (only when the pull announces a key we do not pin, and only through statements signed by a
 * pinned key), a newer signed rule set (RuleBook.install), a newer signed appliance config (pinned system, AV
 * hash, firewall baseline: acceptApplianceConfig, verified with the pinned relay keys for this appliance and a
 * higher version, stored for the root helper; before the orders, so an order in the same pull sees it), the
 * site credentials sealed to this appliance
 * (opened in memory by HostCredentials.apply, before the orders so a `validate_credential` in the same pull
 * finds its credential), each signed order (OrderProcessor.process: verified, at most once by nonce; run by
 * OrderRunner, which lets one that outlives ORDER_WAIT_MS finish in the background), and the site
 * configuration (RelaySiteConfig).
 *
 * Rounds are bounded (MAX_BATCHES_PER_ROUND); a bigger backlog reports `more` and the loop continues at once.
 * Concurrency with check cycles is the store's business: every statement here is short, and the evidence log
 * serialises its own writers.
 */
import { z } from "zod";
import { ValidationError } from "../../protocol/errors.ts";
import type { ApplianceKeyKind } from "../../protocol/key-rotation.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { MAX_PULL_BYTES, MAX_PUSH_ENTRIES, PULL_SCHEMA, PUSH_SCHEMA, parsePullResponse, pushAckSchema, type PullResponse, type PushAck, type RelayKeyInfo } from "../../protocol/sync.ts";
import type { Clock, Log } from "../engine/types.ts";
import { EvidenceError, type CheckpointRecord, type EvidenceLog } from "../evidence/index.ts";
import type { RuleBook } from "../heal/index.ts";
import type { ApplyReport, HostCredentials } from "../credentials/index.ts";
import type { ApplianceIdentity } from "../identity/index.ts";
import type { OrderProcessor, OrderReport } from "../orders/index.ts";
import { OrderRunner } from "./order-runner.ts";
import type { Store } from "../store/index.ts";
import { acceptApplianceConfig, readApplianceConfig } from "../helpers/index.ts";
import { alertDraft, clip, MAX_ERROR_TEXT, raiseOnce } from "./alerts.ts";
import { fitBatch, localCursor, outboxHead, readOutbox } from "./batch.ts";
import { SyncError } from "./errors.ts";
import { deleteKv, readKv, SYNC_KEYS, writeKv } from "./kv.ts";
import { errorOf, expectOk, PUSH_TIMEOUT_MS, refusal, type RelayAnswer, type RelayHttp, type RequestAuth } from "./relay-http.ts";
import { finishRotations, ROTATE_KEY_PATH, rotateKeyOrder, type KeyRotationDeps, type KeyRotationOrderResult } from "./key-rotation.ts";
import { followRotations, MAX_ROTATION_STATEMENTS, RELAY_KEY_ROTATIONS_KV_KEY } from "./relay-keys.ts";
import type { ApplyOutcome, RelaySiteConfig } from "./site-config.ts";

/** Pushes per round: 40 × 500 entries clears a week offline for a 15-host clinic in two or three rounds. */
export const MAX_BATCHES_PER_ROUND = 40;
/** `outbox_gap` answers followed in one round before giving up (one is normal after a relay restore). */
export const MAX_GAP_RESENDS = 3;
/** A clock-offset episode ends once the offset is back under this fraction of the threshold (no flapping). */
export const CLOCK_RECOVERY_FRACTION = 0.5;
/** Push refusals (other than `outbox_gap`) that mean the relay recorded an integrity incident: stop, alarm. */
export const INTEGRITY_STATUSES: ReadonlySet<number> = new Set([400, 403, 409, 422]);

export interface SyncClientOptions {
  relay: RelayHttp;
  /** Bearer token from enrollment (read from its 0600 key file). */
  token: string;
  store: Store;
  evidence: EvidenceLog;
  identity: Pick<ApplianceIdentity, "identitySigner" | "enrolled" | "pinnedRelayKeys" | "pinRelayKeys"> & Partial<Pick<ApplianceIdentity, "prepareRotation" | "pendingRotation" | "switchKey" | "abandonRotation">>;
  rules: Pick<RuleBook, "version" | "install">;
  orders: Pick<OrderProcessor, "process">;
  /** How long a pull waits for an order before it goes on in the background (order-runner.ts; default ORDER_WAIT_MS). */
  orderWaitMs?: number;
  /** Called when an order that outlived its pull has finished: its result waits in the outbox for a round. */
  afterLateOrder?: () => void;
  siteConfig: RelaySiteConfig;
  /** Where the pulled sealed credentials go (in memory only); without it they are ignored. */
  credentials?: Pick<HostCredentials, "apply">;
  /** Alert when |local − relay| exceeds this (config ntp.max_skew_s × 1000). */
  maxSkewMs: number;
  clock: Clock;
  log: Log;
}

export interface PushReport {
  /** Entries the relay acknowledged in this call. */
  entries: number;
  batches: number;
  /** A backlog remains beyond this round's bound. */
  more: boolean;
  halted: boolean;
  acked_outbox_seq: number | null;
  verified_seq: number | null;
  /** Size of the checkpoint countersigned in this call, if any. */
  countersigned: number | null;
}

export interface PullReport {
  relay_time: string;
  clock_offset_ms: number;
  ruleset_installed: number | null;
  /** Version of the signed appliance config stored by this pull, or null (absent in reports made elsewhere). */
  appliance_config_installed?: number | null;
  orders: OrderReport[];
  site_config: ApplyOutcome;
  keys_added: string[];
  /** What the pull's credentials did (absent when this client keeps none). */
  credentials?: ApplyReport;
}

export interface SyncReport {
  push: PushReport;
  pull: PullReport;
  /** The push after the pull, when the pull wrote evidence. */
  followUp: PushReport | null;
  more: boolean;
}

interface HaltRecord {
  code: string;
  message: string;
  at: string;
  incident_id: string | null;
}

/** What the status page shows about sync (no secrets). */
export interface SyncStatus {
  last_sync_at: string | null;
  last_error: { code: string; relay_code: string | null; message: string; at: string } | null;
  /** Local clock minus relay clock at the last pull (ms), or null before one. */
  clock_offset_ms: number | null;
  clock_alert: boolean;
  halted: HaltRecord | null;
  /** Outbox entries not yet acknowledged, as of the last push. */
  backlog: number | null;
}

const rotatedTokenSchema = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
const rotationsSchema = z.object({ statements: z.array(z.unknown()).max(MAX_ROTATION_STATEMENTS) });

export class SyncClient {
  readonly #o: SyncClientOptions;
  #auth: RequestAuth;
  readonly #applianceId: string;
  readonly #siteId: string;
  #cursor: number | null = null;
  #halt: HaltRecord | null;
  #clockAlert: boolean;
  #offsetMs: number | null = null;
  #lastSyncAt: string | null = null;
  #lastError: SyncStatus["last_error"] = null;
  #backlog: number | null = null;
  /** The announced-but-unpinned key ids we last failed to follow (so we do not ask again every pull). */
  #unfollowed = "";
  /** The last rule set payload refused (the relay resends it until a newer one exists; log it once). */
  #refusedRuleset: string | null = null;
  /** The same for the signed appliance config: a refused one is logged once, not at every pull. */
  #refusedConfig: string | null = null;
  /** The relay predates appliance configs (it refused the pull's `appliance_config_version`): stop reporting it. */
  #relayWithoutConfig = false;
  /** Public operations run one at a time (the loop and a caller never push concurrently). */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #orders: OrderRunner;

  private constructor(o: SyncClientOptions, halt: HaltRecord | null, clockAlert: boolean) {
    if (!Number.isFinite(o.maxSkewMs) || o.maxSkewMs <= 0) throw new RangeError(`Cannot sync as 'maxSkewMs' must be a positive number: current value is ${o.maxSkewMs}`);
    this.#o = o;
    const enrolled = o.identity.enrolled();
    this.#applianceId = enrolled.appliance_id;
    this.#siteId = enrolled.site_id;
    // The identity key is read at each request: a key rotation replaces it.
    this.#auth = { signer: { sign: (context, message) => o.identity.identitySigner.sign(context, message) }, token: o.token, clockOffsetMs: () => this.#offsetMs ?? 0 };
    this.#halt = halt;
    this.#clockAlert = clockAlert;
    this.#orders = new OrderRunner({ processor: o.orders, log: o.log, ...(o.orderWaitMs !== undefined ? { waitMs: o.orderWaitMs } : {}), ...(o.afterLateOrder ? { afterLate: o.afterLateOrder } : {}) });
  }

  /** Resolves once no order is running (one may outlive the pull that started it: order-runner.ts). */
  ordersSettled(): Promise<void> {
    return this.#orders.settled();
  }

  /** A client resuming the persisted state (halt, clock episode). */
  static async open(o: SyncClientOptions): Promise<SyncClient> {
    const halt = await readKv<HaltRecord>(o.store, SYNC_KEYS.halt);
    const clock = await readKv<unknown>(o.store, SYNC_KEYS.clockAlert);
    return new SyncClient(o, halt, clock !== null);
  }

  status(): SyncStatus {
    return {
      last_sync_at: this.#lastSyncAt,
      last_error: this.#lastError,
      clock_offset_ms: this.#offsetMs,
      clock_alert: this.#clockAlert,
      halted: this.#halt,
      backlog: this.#backlog,
    };
  }

  /** Whether rows were written after the push cursor (the loop's cheap "sync now?" probe). */
  async hasUnpushed(): Promise<boolean> {
    if (this.#halt) return false;
    const cursor = this.#cursor ?? (await localCursor(this.#o.store));
    return (await outboxHead(this.#o.store)) > cursor;
  }

  /** Clears a halt after a human dealt with the incident; pushing resumes from the relay's cursor. */
  async resume(): Promise<void> {
    await deleteKv(this.#o.store, SYNC_KEYS.halt);
    this.#halt = null;
    this.#cursor = null;
    this.#o.log.warn("sync_resumed", {});
  }

  /** One round: push, pull, and push again when the pull wrote anything. Throws SyncError. */
  sync(signal?: AbortSignal): Promise<SyncReport> {
    return this.#serial(() => this.#sync(signal));
  }

  /** Pushes the outbox (at most MAX_BATCHES_PER_ROUND batches). */
  push(signal?: AbortSignal): Promise<PushReport> {
    return this.#serial(() => this.#push(signal));
  }

  /** Pulls and applies clock, keys, rule set, orders and site configuration. */
  pull(signal?: AbortSignal): Promise<PullReport> {
    return this.#serial(() => this.#pull(signal));
  }

  /**
   * Token rotation (the `rotate_token` order): asks the relay for a new bearer token, has `persist` store it
   * (crash-safe, enroll.ts replaceToken), then signs every later request with it; the relay accepts the old
   * token until the new one is first used. Not serialised with sync rounds: it is a session order, which always finishes inside the pull that started it (order-runner.ts).
   */
  async rotateToken(persist: (token: string) => Promise<void>, signal?: AbortSignal): Promise<void> {
    const answer = await this.#call("POST", "/api/sync/rotate-token", {}, signal);
    const parsed = rotatedTokenSchema.safeParse(expectOk(answer, "token rotation"));
    if (!parsed.success) throw new SyncError("bad_response", "the relay's answer to a token rotation is not {token}");
    await persist(parsed.data.token);
    this.#auth = { ...this.#auth, token: parsed.data.token };
    this.#o.log.info("relay_token_rotated", {});
  }

  /**
   * Appliance key rotation (the `rotate_keys` order, key-rotation.ts): a new key of `kind`, stated to the relay
   * with the identity key in force, used once the relay accepted it (`deferred` until then). Not serialised with
   * sync rounds: it is a session order, which always finishes inside the pull that started it (order-runner.ts).
   */
  rotateKeyOrder(kind: ApplianceKeyKind, orderId: string, signal?: AbortSignal): Promise<KeyRotationOrderResult> {
    return rotateKeyOrder(this.#rotationDeps(signal), kind, orderId);
  }

  #rotationDeps(signal?: AbortSignal): KeyRotationDeps {
    const { identity, evidence, store, clock, log } = this.#o;
    const { prepareRotation, pendingRotation, switchKey, abandonRotation } = identity;
    if (!prepareRotation || !pendingRotation || !switchKey || !abandonRotation) throw new TypeError("Cannot rotate keys: this sync client's identity does not keep key files");
    const bound = { prepareRotation: prepareRotation.bind(identity), pendingRotation: pendingRotation.bind(identity), switchKey: switchKey.bind(identity), abandonRotation: abandonRotation.bind(identity) };
    return {
      identity: { ...bound, enrolled: () => identity.enrolled(), get identitySigner() { return identity.identitySigner; } },
      evidence,
      store,
      clock,
      log,
      send: (statement) => this.#call("POST", ROTATE_KEY_PATH, statement, signal),
    };
  }

  /** Fetches the relay's rotation statements and pins every key a pinned key vouches for. Returns the ids added. */
  followRotations(signal?: AbortSignal): Promise<string[]> {
    return this.#serial(() => this.#followRotations(signal));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #sync(signal?: AbortSignal): Promise<SyncReport> {
    try {
      // A key rotation interrupted by a crash (or a relay that was away) is finished before anything else.
      if (this.#o.identity.pendingRotation) await finishRotations(this.#rotationDeps(signal));
      const push = await this.#push(signal);
      const before = await outboxHead(this.#o.store);
      const pull = await this.#pull(signal);
      const followUp = !push.more && (await outboxHead(this.#o.store)) > before ? await this.#push(signal) : null;
      this.#lastSyncAt = isoTime(this.#o.clock.now());
      this.#lastError = null;
      return { push, pull, followUp, more: push.more || (followUp?.more ?? false) };
    } catch (e) {
      if (e instanceof SyncError) this.#lastError = { code: e.code, relay_code: e.relayCode ?? null, message: clip(e.message, MAX_ERROR_TEXT), at: isoTime(this.#o.clock.now()) };
      throw e;
    }
  }

  // ---- push --------------------------------------------------------------------------------------------

  async #push(signal?: AbortSignal): Promise<PushReport> {
    const report: PushReport = { entries: 0, batches: 0, more: false, halted: this.#halt !== null, acked_outbox_seq: null, verified_seq: null, countersigned: null };
    if (this.#halt) return report;
    const latest = await this.#o.evidence.checkpoint();
    let checkpoint: CheckpointRecord | null = latest && latest.countersigned_note === null ? latest : null;
    let cursor = this.#cursor ?? (await localCursor(this.#o.store));
    let gaps = 0;
    while (report.batches < MAX_BATCHES_PER_ROUND) {
      signal?.throwIfAborted();
      const rows = await readOutbox(this.#o.store, cursor, MAX_PUSH_ENTRIES);
      if (rows.length > 0 && rows[0]!.outbox_seq !== cursor + 1) {
        await this.#stop({ code: "outbox_pruned", message: `the relay needs outbox entries from ${cursor + 1}, but this appliance kept only from ${rows[0]!.outbox_seq}`, incident_id: null });
        break;
      }
      if (rows.length === 0 && checkpoint === null) break;
      const entries = fitBatch(rows);
      const answer = await this.#call("POST", "/api/sync/push", { schema: PUSH_SCHEMA, appliance_id: this.#applianceId, entries, checkpoint: checkpoint?.note ?? null }, signal, PUSH_TIMEOUT_MS);
      report.batches++;
      if (answer.status === 200) {
        const ack = parseAck(answer.body);
        if (!ack) throw new SyncError("bad_response", "push: the relay's acknowledgement does not match the protocol", { status: 200 });
        const last = entries.at(-1)?.outbox_seq ?? cursor;
        if (ack.acked_outbox_seq < last) throw new SyncError("relay_error", `push: the relay acknowledged only up to ${ack.acked_outbox_seq} of entries up to ${last} without saying why`, { status: 200 });
        if (!(await this.#applyAck(ack, checkpoint, report))) break;
        report.entries += Math.max(0, ack.acked_outbox_seq - cursor);
        cursor = ack.acked_outbox_seq;
        if (report.countersigned !== null) checkpoint = null;
        if (rows.length === 0) break; // the push that carried only the checkpoint
        continue;
      }
      const err = errorOf(answer);
      const ack = parseAck(err?.details);
      if (ack && !(await this.#applyAck(ack, null, report))) break;
      if (answer.status === 409 && err?.code === "outbox_gap" && ack) {
        if (++gaps > MAX_GAP_RESENDS) throw new SyncError("relay_error", `push: the relay answered outbox_gap ${gaps} times in one round (cursor ${ack.acked_outbox_seq})`, { status: 409, relayCode: "outbox_gap" });
        this.#o.log.warn("sync_outbox_gap", { sent_from: cursor + 1, relay_cursor: ack.acked_outbox_seq });
        cursor = ack.acked_outbox_seq;
        continue;
      }
      if (err && INTEGRITY_STATUSES.has(answer.status)) {
        const incident = typeof err.details?.["incident_id"] === "string" ? err.details["incident_id"] : null;
        await this.#stop({ code: err.code, message: err.message, incident_id: incident, failed_outbox_seq: err.details?.["failed_outbox_seq"] ?? null, seq: err.details?.["seq"] ?? null });
        break;
      }
      throw refusal(answer, "push");
    }
    this.#cursor = cursor;
    report.halted = this.#halt !== null;
    report.more = !report.halted && report.batches >= MAX_BATCHES_PER_ROUND && (await outboxHead(this.#o.store)) > cursor;
    this.#backlog = Math.max(0, (await outboxHead(this.#o.store)) - cursor);
    if (report.entries > 0) this.#o.log.info("sync_pushed", { entries: report.entries, batches: report.batches, acked_outbox_seq: report.acked_outbox_seq, verified_seq: report.verified_seq, countersigned: report.countersigned, more: report.more });
    return report;
  }

  /** Applies an acknowledgement; false when it revealed an integrity problem (pushing then stops). */
  async #applyAck(ack: PushAck, sent: CheckpointRecord | null, report: PushReport): Promise<boolean> {
    const { verified_seq, head_hash } = ack.evidence;
    if (verified_seq > 0) {
      const rs = await this.#o.store.execute({ sql: "SELECT hash FROM evidence WHERE seq = ?", args: [verified_seq] });
      const ours = rs.rows[0]?.hash;
      if (typeof ours === "string" && ours !== head_hash) {
        await this.#stop({ code: "head_mismatch", message: `the relay's chain head at seq ${verified_seq} is ${head_hash}, this appliance's is ${ours}`, incident_id: null });
        return false;
      }
    }
    try {
      await this.#o.evidence.acknowledge({ outboxSeq: ack.acked_outbox_seq, evidenceSeq: verified_seq });
    } catch (e) {
      if (e instanceof EvidenceError && e.code === "ack_beyond_head") {
        await this.#stop({ code: "ack_beyond_head", message: e.message, incident_id: null });
        return false;
      }
      throw e;
    }
    report.acked_outbox_seq = ack.acked_outbox_seq;
    report.verified_seq = verified_seq;
    if (sent && ack.countersigned_checkpoint !== null) {
      if (await this.#recordCountersigned(sent.size, ack.countersigned_checkpoint)) report.countersigned = sent.size;
    }
    return true;
  }

  /** Stores a countersigned checkpoint; follows key rotations once if the cosigning key is not pinned yet. */
  async #recordCountersigned(size: number, note: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#o.evidence.recordCountersigned(size, note);
        return true;
      } catch (e) {
        if (!(e instanceof EvidenceError)) throw e;
        if (e.code === "bad_cosignature" && attempt === 0 && (await this.#followRotations()).length > 0) continue;
        this.#o.log.error("sync_countersignature_refused", { size, code: e.code, error: e.message });
        return false;
      }
    }
    return false;
  }

  /** Stops pushing for good and raises the alert bundle, both once. */
  async #stop(reason: { code: string; message: string; incident_id: string | null; failed_outbox_seq?: unknown; seq?: unknown }): Promise<void> {
    if (this.#halt) return;
    const now = this.#o.clock.now();
    const record: HaltRecord = { code: reason.code, message: clip(reason.message), at: isoTime(now), incident_id: reason.incident_id };
    const details = {
      alert: "sync_halted",
      code: reason.code,
      message: record.message,
      incident_id: reason.incident_id,
      failed_outbox_seq: typeof reason.failed_outbox_seq === "number" ? reason.failed_outbox_seq : null,
      seq: typeof reason.seq === "number" ? reason.seq : null,
    };
    await raiseOnce(this.#o.evidence, SYNC_KEYS.halt, alertDraft(now, details), record, now);
    this.#halt = (await readKv<HaltRecord>(this.#o.store, SYNC_KEYS.halt)) ?? record;
    this.#o.log.error("sync_halted", { ...details, hint: "pushing stopped: the relay recorded an integrity incident; resolve it, then resume sync" });
  }

  // ---- pull --------------------------------------------------------------------------------------------

  async #pull(signal?: AbortSignal): Promise<PullReport> {
    const { clock, store, log } = this.#o;
    const since = await readKv<string>(store, SYNC_KEYS.pullSince);
    const t0 = clock.now();
    const body = { schema: PULL_SCHEMA, appliance_id: this.#applianceId, ruleset_version: this.#o.rules.version, since: typeof since === "string" ? since : null };
    const withConfig = this.#relayWithoutConfig ? body : { ...body, appliance_config_version: await this.#configVersion() };
    let answer = await this.#call("POST", "/api/sync/pull", withConfig, signal, undefined, MAX_PULL_BYTES);
    if (withConfig !== body && refusesConfigField(answer)) {
      // A relay older than appliance configs refuses the unknown field: pull as before, and stop asking.
      this.#relayWithoutConfig = true;
      log.warn("relay_without_appliance_config", { hint: "the relay does not deliver signed appliance configs; upgrade it to pin a system or firewall baseline" });
      answer = await this.#call("POST", "/api/sync/pull", body, signal, undefined, MAX_PULL_BYTES);
    }
    const t1 = clock.now();
    let pulled: PullResponse;
    try {
      pulled = parsePullResponse(expectOk(answer, "pull"));
    } catch (e) {
      if (e instanceof ValidationError) throw new SyncError("bad_response", `pull: ${e.message}`, { cause: e, status: answer.status });
      throw e;
    }
    const offset = await this.#observeClock(t0, t1, pulled.relay_time);
    const keysAdded = await this.#followAnnounced(pulled.relay_keys, signal);

    let rulesetInstalled: number | null = null;
    if (pulled.ruleset && pulled.ruleset.payload !== this.#refusedRuleset) {
      try {
        rulesetInstalled = (await this.#o.rules.install(pulled.ruleset)).payload.version;
      } catch (e) {
        this.#refusedRuleset = pulled.ruleset.payload;
        log.error("ruleset_refused", { code: (e as { code?: string }).code ?? null, error: clip((e as Error).message, MAX_ERROR_TEXT) });
      }
    }

    let configInstalled: number | null = null;
    if (pulled.appliance_config && pulled.appliance_config.payload !== this.#refusedConfig) {
      try {
        const accepted = await acceptApplianceConfig(store, pulled.appliance_config, { relayKeys: this.#o.identity.enrolled().relayKeys, applianceId: this.#applianceId, now: clock.now() });
        configInstalled = accepted.payload.version;
        log.info("appliance_config_installed", { version: configInstalled, hash: accepted.hash, pinned_system: accepted.payload.pinned_system, baseline_sha256: accepted.baselineSha256 });
      } catch (e) {
        this.#refusedConfig = pulled.appliance_config.payload;
        log.error("appliance_config_refused", { code: (e as { code?: string }).code ?? null, error: clip((e as Error).message, MAX_ERROR_TEXT) });
      }
    }

    let credentials: ApplyReport | undefined;
    if (this.#o.credentials) {
      try {
        credentials = await this.#o.credentials.apply(pulled.credentials);
      } catch (e) {
        log.error("credentials_apply_failed", { code: (e as { code?: string }).code ?? null });
      }
    }

    const orders = await this.#orders.run(pulled.orders, signal);

    const siteConfig = await this.#o.siteConfig.apply(pulled.site_config, this.#siteId, clock.now());
    await writeKv(store, SYNC_KEYS.pullSince, pulled.relay_time, clock.now());
    return { relay_time: pulled.relay_time, clock_offset_ms: offset, ruleset_installed: rulesetInstalled, appliance_config_installed: configInstalled, orders, site_config: siteConfig, keys_added: keysAdded, ...(credentials ? { credentials } : {}) };
  }

  /** Version of the signed appliance config in force (one that verifies now), or null. */
  async #configVersion(): Promise<number | null> {
    const stored = await readApplianceConfig(this.#o.store, { relayKeys: this.#o.identity.enrolled().relayKeys, applianceId: this.#applianceId });
    return stored.status === "verified" ? stored.config.payload.version : null;
  }

  /** Records the offset; raises one alert when an episode starts, ends it once the clock is back. */
  async #observeClock(t0: number, t1: number, relayTime: string): Promise<number> {
    const relayMs = parseIsoTime(relayTime);
    if (Number.isNaN(relayMs)) throw new SyncError("bad_response", `the relay's time ${JSON.stringify(relayTime)} is not an RFC 3339 time`);
    const offset = Math.round((t0 + t1) / 2 - relayMs);
    this.#offsetMs = offset;
    const { maxSkewMs, clock, log, evidence } = this.#o;
    if (Math.abs(offset) > maxSkewMs && !this.#clockAlert) {
      const now = clock.now();
      const details = { alert: "clock_offset", offset_ms: offset, max_skew_ms: maxSkewMs, relay_time: relayTime };
      const raised = await raiseOnce(evidence, SYNC_KEYS.clockAlert, alertDraft(now, details, offset), { since: isoTime(now), offset_ms: offset }, now);
      this.#clockAlert = true;
      if (raised) log.warn("clock_offset", details);
    } else if (Math.abs(offset) <= maxSkewMs * CLOCK_RECOVERY_FRACTION && this.#clockAlert) {
      await deleteKv(this.#o.store, SYNC_KEYS.clockAlert);
      this.#clockAlert = false;
      log.info("clock_offset_resolved", { offset_ms: offset });
    }
    return offset;
  }

  /** Follows rotations when the relay announces a key we do not pin (announcing alone never pins). */
  async #followAnnounced(announced: readonly RelayKeyInfo[], signal?: AbortSignal): Promise<string[]> {
    const pinned = new Set(this.#o.identity.pinnedRelayKeys.map((k) => k.key_id));
    const unknown = announced.filter((k) => !pinned.has(k.key_id)).map((k) => k.key_id).sort().join(",");
    if (unknown === "" || unknown === this.#unfollowed) return [];
    const added = await this.#followRotations(signal);
    const still = new Set(this.#o.identity.pinnedRelayKeys.map((k) => k.key_id));
    this.#unfollowed = announced.filter((k) => !still.has(k.key_id)).map((k) => k.key_id).sort().join(",");
    if (this.#unfollowed) this.#o.log.warn("relay_keys_unfollowed", { key_ids: this.#unfollowed, hint: "announced relay keys without a rotation statement from a pinned key are not trusted" });
    return added;
  }

  async #followRotations(signal?: AbortSignal): Promise<string[]> {
    const answer = await this.#call("GET", "/api/sync/key-rotations", undefined, signal);
    const parsed = rotationsSchema.safeParse(expectOk(answer, "key rotations"));
    if (!parsed.success) throw new SyncError("bad_response", `key rotations: ${clip(parsed.error.message, MAX_ERROR_TEXT)}`, { status: answer.status });
    const result = await followRotations(parsed.data.statements, this.#o.identity.pinnedRelayKeys);
    for (const r of result.refused) this.#o.log.warn("relay_key_rotation_refused", { index: r.index, reason: clip(r.reason) });
    if (result.added.length > 0) {
      // The statements first: a helper step must be able to follow every key the identity pins.
      await writeKv(this.#o.store, RELAY_KEY_ROTATIONS_KV_KEY, parsed.data.statements.slice(0, MAX_ROTATION_STATEMENTS), this.#o.clock.now());
      await this.#o.identity.pinRelayKeys(result.pins);
      this.#o.log.info("relay_keys_rotated", { added: result.added, pinned: result.pins.map((k) => k.key_id) });
    }
    return result.added;
  }

  // ---- requests ----------------------------------------------------------------------------------------

  /**
   * One signed request. A `timestamp_stale` refusal carries the relay's time: the offset is measured (and
   * alerted on) and the request is signed again once with the corrected time.
   */
  async #call(method: "GET" | "POST", path: string, body: unknown, signal: AbortSignal | undefined, timeoutMs?: number, maxBytes?: number): Promise<RelayAnswer> {
    for (let attempt = 0; ; attempt++) {
      const t0 = this.#o.clock.now();
      const answer = await this.#o.relay.request(method, path, { ...(body === undefined ? {} : { body }), auth: this.#auth, ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}), ...(maxBytes ? { maxBytes } : {}) });
      const err = answer.status === 401 ? errorOf(answer) : null;
      const relayTime = err?.code === "timestamp_stale" ? err.details?.["relay_time"] : undefined;
      if (attempt === 0 && typeof relayTime === "string") {
        await this.#observeClock(t0, this.#o.clock.now(), relayTime);
        continue;
      }
      return answer;
    }
  }
}

/** A relay's 400 `schema` refusal of the pull's `appliance_config_version` field (a relay older than appliance configs). */
function refusesConfigField(answer: RelayAnswer): boolean {
  const err = answer.status === 400 ? errorOf(answer) : null;
  return err?.code === "schema" && err.message.includes("appliance_config_version");
}

function parseAck(value: unknown): PushAck | null {
  if (value === null || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  const parsed = pushAckSchema.safeParse({ acked_outbox_seq: v["acked_outbox_seq"], evidence: v["evidence"], countersigned_checkpoint: v["countersigned_checkpoint"] ?? null });
  return parsed.success ? parsed.data : null;
}
