/**
 * The healing engine: what the daemon calls after each host scan, and what the order processor calls for a
 * `run_runbook` order.
 *
 *   const engine = new HealingEngine({ store, sink, runner, recheck, rules, approvals, site, identity, ... });
 *   await engine.recoverInterrupted();          // once at startup, before the first scan
 *   await engine.handleScan(scan);              // after every HostScan (its check_cycle bundle is the scanner's)
 *   await engine.runOrder(order);               // a verified run_runbook order
 *
 * handleScan: an unreachable host changes nothing (no incidents, no healing). Otherwise each result updates
 * its incident (incidents.ts), and each failing check whose incident is due is decided (decide.ts), gated
 * (gates.ts, one function, every path) and, if it passes, executed and verified (executor.ts). Every outcome
 * is recorded (attempts.ts): a remediation bundle + healing_attempt outbox entry (+ escalation) in one
 * append, and a row in healing_attempts. A decision that repeats the last recorded gate or escalation for
 * the incident is not recorded again, so a blocked fix does not write evidence every scan. An escalated incident
 * is decided again after ESCALATED_RECHECK_MS, or at its host's next scan once a new rule set is in force.
 */
import type { Catalogue, Check, Json, Runbook } from "../../protocol/catalogue/mod.ts";
import { catalogue as shippedCatalogue, validateParams } from "../../protocol/catalogue/mod.ts";
import type { HealingOutcome, JsonObject } from "../../protocol/evidence.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import type { HealingMode, HealingTier, IncidentSeverity } from "../../protocol/sync.ts";
import type { Store } from "../store/index.ts";
import type { Clock, EvidenceSink, HostCheckResult, HostScan, Log, StepRunner, TargetRef } from "../engine/types.ts";
import type { ApprovalSource } from "./approvals.ts";
import { AttemptLog, FAILED_OUTCOMES, isTransactional, type AttemptRecord } from "./attempts.ts";
import { decide, type Decision } from "./decide.ts";
import { ANSWERABLE_BY_NEW_RULES, buildEscalation, notifyReseller, type EscalationCode, type PublishReseller } from "./escalation.ts";
import { HealError } from "./errors.ts";
import { executeRunbook, plannedSteps, type Recheck } from "./executor.ts";
import { clearsAt, evaluateGates, type GateDecision, type GateOrder, type GateStep } from "./gates.ts";
import { IncidentBook, type Incident, type IncidentStatus } from "./incidents.ts";
import { relevantFacts, type Planner } from "./l2-client.ts";
import { clip, COOLDOWN_MS, ESCALATED_RECHECK_MS, FAILURE_BUDGET, FAILURE_WINDOW_MS, MAX_ACTIONS_PER_SCAN, MAX_FLUSH_PER_CALL, MAX_TIER_HISTORY, safeText } from "./policy.ts";
import type { RuleBook } from "./rules.ts";
import { parseWindow, type MaintenanceWindow, type WindowSpec } from "../../protocol/windows/windows.ts";

/** The site settings healing reads, fresh at every decision (the relay or an order may change them). */
export interface SiteSettings {
  healing_mode: HealingMode;
  /** Windows with their zone resolved (the config loader fills `tz` from the site's time zone). */
  maintenance_windows: readonly WindowSpec[];
  allow_disruptive_outside_window: boolean;
  l2_enabled: boolean;
  deployment_mode: "direct" | "reseller";
}

export interface HealingEngineOptions {
  store: Store;
  sink: EvidenceSink;
  runner: StepRunner;
  recheck: Recheck;
  rules: RuleBook;
  approvals: ApprovalSource;
  site: () => SiteSettings;
  /** Who this appliance is, for reseller events; null before enrollment (no events sent). */
  identity: () => { site_id: string; appliance_id: string } | null;
  planner?: Planner | null;
  /** publishResellerEvent bound to the configured channels; called only in reseller deployment mode. */
  publish?: PublishReseller | null;
  clock: Clock;
  random: (n: number) => Uint8Array;
  log: Log;
  catalogue?: Catalogue;
  /** Report what would run, run nothing (outcome `dry_run`, never `success`). */
  dryRun?: boolean;
  /** Overrides for tests: step and re-check budgets, L2 timeout. */
  timeouts?: { stepMs?: number; recheckMs?: number; l2Ms?: number };
}

/** One healing decision, as the caller sees it. */
export interface HealReport {
  host_id: string;
  check: string;
  tier: HealingTier | null;
  runbook: string | null;
  outcome: HealingOutcome;
  /** False when the decision repeated the last one recorded for the incident (nothing new written). */
  recorded: boolean;
  attempt_id: string | null;
  evidence_seq: number | null;
  detail: string;
}

export interface ScanReport {
  host_id: string;
  skipped: "unreachable" | null;
  opened: string[];
  resolved: string[];
  healing: HealReport[];
}

/** A verified `run_runbook` order, resolved by the order processor to a target. */
export interface RunbookOrder {
  order_id: string;
  target: TargetRef;
  runbook: string;
  params: { [name: string]: Json };
  dry_run: boolean;
  ignore_window: boolean;
}

/** A runbook chosen for a failing check, by an L1 rule, an L2 plan or an order. */
interface Fix {
  tier: HealingTier;
  rule_id: string | null;
  runbook: Runbook;
  params: { [name: string]: Json };
}

/** The gate trail as evidence keeps it. */
const trailOf = (trail: readonly GateStep[]): Json => trail.map((g) => ({ gate: g.gate, verdict: g.verdict, note: clip(g.note) }));

/** What one decision is about. */
interface Context {
  target: TargetRef;
  checkId: string;
  check: Check | undefined;
  incident: Incident | null;
  severity: IncidentSeverity;
  pre: JsonObject;
  started: number;
  order_id: string | null;
}

const ROW_STATUS: Partial<Record<HealingOutcome, IncidentStatus>> = {
  alert: "open",
  dry_run: "open",
  pending_approval: "pending_approval",
  deferred: "deferred",
  escalated: "escalated",
};

export class HealingEngine {
  readonly incidents: IncidentBook;
  readonly attempts: AttemptLog;
  readonly #o: HealingEngineOptions;
  readonly #catalogue: Catalogue;
  /** host + check pairs being healed right now (a scan and an order never act on one at once). */
  readonly #busy = new Set<string>();
  #windows: { key: string; parsed: MaintenanceWindow[] } | null = null;
  /** Whether an incident update may be waiting (true at start, and after a failed append). */
  #incidentsDirty = true;
  /** The rule set version the escalated incidents were last decided under. */
  #rulesVersion: number | null;

  constructor(opts: HealingEngineOptions) {
    this.#o = opts;
    this.#rulesVersion = opts.rules.version;
    this.#catalogue = opts.catalogue ?? shippedCatalogue;
    this.incidents = new IncidentBook({ store: opts.store, clock: opts.clock, random: opts.random });
    this.attempts = new AttemptLog({ store: opts.store, sink: opts.sink, clock: opts.clock, log: opts.log });
  }

  /** At startup: interrupted attempts become `failed` evidence; unsent evidence and incident updates go out. */
  async recoverInterrupted(): Promise<{ interrupted: string[]; resent: number; incidents: number }> {
    const { interrupted, resent } = await this.attempts.recover();
    return { interrupted, resent, incidents: await this.#flushIncidents(true) };
  }

  /** Updates incidents from one scan and heals what is due; see the module comment. */
  async handleScan(scan: HostScan, signal?: AbortSignal): Promise<ScanReport> {
    const host = scan.target.id;
    const report: ScanReport = { host_id: host, skipped: null, opened: [], resolved: [], healing: [] };
    await this.attempts.flushPending();
    await this.#flushIncidents();
    await this.#reconsiderAfterNewRules();
    if (!scan.reachable) {
      this.#o.log.info("heal_skip_unreachable", { host_id: host, error: scan.error?.code ?? null });
      return { ...report, skipped: "unreachable" };
    }
    const failing: { result: HostCheckResult; incident: Incident }[] = [];
    const seen = new Set<string>();
    const unresolved = await this.incidents.unresolvedChecks(host);
    for (const result of scan.results) {
      if (seen.has(result.check)) continue;
      seen.add(result.check);
      if (result.status === "pass" || result.status === "not_applicable") {
        if (!unresolved.has(result.check)) continue; // nothing open to resolve
        const resolved = await this.incidents.recordPass(host, result.check);
        if (resolved) {
          report.resolved.push(result.check);
          await this.#sendIncident(resolved);
        }
      } else if (result.status === "fail") {
        const severity = this.#catalogue.findCheck(result.check)?.severity ?? "medium";
        const { incident, change } = await this.incidents.recordFailure(host, result.check, severity);
        if (change !== "repeated") report.opened.push(result.check);
        await this.#sendIncident(incident);
        failing.push({ result, incident });
      }
    }
    let acted = 0;
    for (const { result, incident } of failing) {
      if (signal?.aborted) break;
      if (incident.next_attempt_at !== null && this.#o.clock.now() < incident.next_attempt_at) continue;
      let r: HealReport | null = null;
      try {
        r = await this.#exclusive(host, result.check, () => this.#heal(scan, result, incident, acted < MAX_ACTIONS_PER_SCAN, signal));
      } catch (e) {
        // One check's failure (a store error, a bug) must not stop the others; the incident stays due.
        this.#o.log.error("heal_failed", { host_id: host, check: result.check, error: (e as Error).message });
      }
      if (r) {
        report.healing.push(r);
        if (r.outcome === "success" || r.outcome === "failed" || r.outcome === "reverted") acted++;
      }
    }
    return report;
  }

  /**
   * Runs a verified `run_runbook` order through the same gates (the order stands in for an approval).
   * Throws HealError `order_invalid` for a runbook that is unknown, for another platform, or with invalid
   * parameters, and `busy` when the host + check is being healed; the order processor records the refusal.
   */
  async runOrder(order: RunbookOrder, signal?: AbortSignal): Promise<HealReport> {
    const runbook = this.#catalogue.findRunbook(order.runbook);
    if (!runbook) throw new HealError("order_invalid", `order ${order.order_id}: ${order.runbook} is not a catalogue runbook`);
    if (runbook.platform !== order.target.platform) {
      throw new HealError("order_invalid", `order ${order.order_id}: ${runbook.id} is for ${runbook.platform}, host ${order.target.id} is ${order.target.platform}`);
    }
    const params = validateParams(runbook.params_schema, order.params);
    if (!params.ok) throw new HealError("order_invalid", `order ${order.order_id}: parameters for ${runbook.id}: ${params.issues.map((i) => i.message).join("; ")}`);
    const result = await this.#exclusive(order.target.id, runbook.check, async () => {
      const started = this.#o.clock.now();
      let pre: JsonObject = {};
      try {
        pre = factsOf(await this.#o.recheck(order.target, runbook.check, signal));
      } catch (e) {
        this.#o.log.warn("heal_order_precheck_failed", { order_id: order.order_id, error: (e as Error).message });
      }
      const check = this.#catalogue.findCheck(runbook.check);
      const ctx: Context = {
        target: order.target,
        checkId: runbook.check,
        check,
        incident: await this.incidents.get(order.target.id, runbook.check),
        severity: check?.severity ?? "medium",
        pre,
        started,
        order_id: order.order_id,
      };
      const gate: GateOrder = { order_id: order.order_id, ignore_window: order.ignore_window, dry_run: order.dry_run };
      return this.#gateAndAct(ctx, { tier: "L3", rule_id: null, runbook, params: params.value as { [name: string]: Json } }, gate, true, signal);
    });
    if (!result) throw new HealError("busy", `order ${order.order_id}: ${runbook.check} on ${order.target.id} is being healed right now`);
    return result;
  }

  /**
   * After a new rule set came in force, escalations that said "no fix known" are decided again at the next scan
   * of their host instead of after ESCALATED_RECHECK_MS: the new set may hold the fix (a promoted rule).
   */
  async #reconsiderAfterNewRules(): Promise<void> {
    const version = this.#o.rules.version;
    if (version === this.#rulesVersion) return;
    this.#rulesVersion = version;
    const due = await this.incidents.dueAgain(ANSWERABLE_BY_NEW_RULES);
    if (due > 0) this.#o.log.info("heal_reconsidered", { reason: "new_ruleset", version, incidents: due });
  }

  // ---- one decision ----------------------------------------------------------------------------------

  async #heal(scan: HostScan, result: HostCheckResult, incident: Incident, mayAct: boolean, signal?: AbortSignal): Promise<HealReport | null> {
    if (!mayAct) return null; // this scan already ran MAX_ACTIONS_PER_SCAN runbooks; the next scan continues
    const check = this.#catalogue.findCheck(result.check);
    const site = this.#o.site();
    const ctx: Context = {
      target: scan.target,
      checkId: result.check,
      check,
      incident,
      severity: check?.severity ?? "medium",
      pre: check ? relevantFacts(check, scan.facts) : factsOf(result),
      started: this.#o.clock.now(),
      order_id: null,
    };
    const decision: Decision = await decide({
      catalogue: this.#catalogue,
      rules: this.#o.rules,
      checkId: result.check,
      check,
      target: scan.target,
      facts: scan.facts,
      reason: result.reason,
      severity: ctx.severity,
      incident_id: incident.state.wire_id,
      mode: site.healing_mode,
      l2Enabled: site.l2_enabled,
      planner: this.#o.planner ?? null,
      random: this.#o.random,
      ...(this.#o.timeouts?.l2Ms === undefined ? {} : { l2TimeoutMs: this.#o.timeouts.l2Ms }),
      ...(signal ? { signal } : {}),
    });
    if (decision.kind === "escalate") return this.#escalate(ctx, decision.code, decision.reason, decision.outcome, decision.tried, decision.runbook, null);
    return this.#gateAndAct(ctx, decision, null, false, signal);
  }

  async #gateAndAct(ctx: Context, fix: Fix, order: GateOrder | null, always: boolean, signal?: AbortSignal): Promise<HealReport> {
    const { runbook, params } = fix;
    const now = this.#o.clock.now();
    const site = this.#o.site();
    const host = ctx.target.id;
    const approval = order ? null : await this.#o.approvals.find({ runbook: runbook.id, host_id: host, check: ctx.checkId, params, now });
    const history = await this.attempts.forCheck(host, ctx.checkId, now - FAILURE_WINDOW_MS, FAILURE_BUDGET * MAX_TIER_HISTORY);
    const decision = evaluateGates({
      now,
      mode: site.healing_mode,
      runbook,
      windows: this.#parsedWindows(site.maintenance_windows),
      allowDisruptiveOutsideWindow: site.allow_disruptive_outside_window,
      approval: approval ? { order_id: approval.order_id, approved_until: Date.parse(approval.approved_until) } : null,
      order,
      reopens: ctx.incident?.state.reopens ?? [],
      lastActedAt: await this.attempts.lastActed(host, { rule_id: fix.rule_id, runbook: runbook.id }),
      failures: history.filter((a) => (FAILED_OUTCOMES as readonly string[]).includes(a.outcome)).map((a) => a.started_at),
      dryRun: this.#o.dryRun === true,
    });
    if (!decision.go) {
      if (decision.outcome === "escalated") {
        const code: EscalationCode = decision.gate === "flap" ? "flapping" : "failure_budget";
        return this.#escalate(ctx, code, decision.reason, "escalated", [], runbook.id, decision, always);
      }
      return this.#recordGate(ctx, fix, decision, always);
    }
    return this.#act(ctx, fix, decision, approval?.order_id ?? null, signal);
  }

  async #act(ctx: Context, fix: Fix, gates: GateDecision & { go: true }, approvalOrder: string | null, signal?: AbortSignal): Promise<HealReport> {
    const { runbook, params } = fix;
    const record = this.#newRecord(ctx, fix.tier, fix.rule_id, runbook.id, params, "in_progress");
    record.rollback_available = runbook.rollback.length > 0;
    record.order_id = ctx.order_id ?? approvalOrder;
    const row = await this.attempts.begin(record, ctx.incident?.id ?? null);
    if (ctx.incident) ctx.incident = await this.incidents.update(ctx.incident, { acted: true });
    const exec = await executeRunbook({
      target: ctx.target,
      runbook,
      params,
      checkId: ctx.checkId,
      runner: this.#o.runner,
      recheck: this.#o.recheck,
      clock: this.#o.clock,
      ...(signal ? { signal } : {}),
      ...(this.#o.timeouts?.stepMs === undefined ? {} : { timeoutMs: this.#o.timeouts.stepMs }),
      ...(this.#o.timeouts?.recheckMs === undefined ? {} : { recheckTimeoutMs: this.#o.timeouts.recheckMs }),
    });
    const finished = this.#o.clock.now();
    const post: JsonObject = {
      ...(exec.recheck ? factsOf(exec.recheck) : {}),
      recheck: exec.recheck ? exec.recheck.status : null,
      steps: exec.steps.map((s) => ({ id: s.id, action: s.action, phase: s.phase, ok: s.ok, detail: s.detail, ms: s.ms })),
      rollback: exec.rollback,
      gates: trailOf(gates.trail),
    };
    const done = { ...record, outcome: exec.outcome, finished_at: isoTime(Math.max(finished, ctx.started)), post_state: post, detail: exec.detail };
    const seq = await this.attempts.finish(row, done);
    if (ctx.incident) {
      ctx.incident = await this.incidents.update(ctx.incident, { last_outcome: exec.outcome, last: null, status: "open", next_attempt_at: finished + COOLDOWN_MS, healed: exec.outcome === "success" });
    }
    await this.#notify(ctx, exec.outcome, fix.tier, `${runbook.id}: ${exec.detail}`);
    const report: HealReport = { host_id: ctx.target.id, check: ctx.checkId, tier: fix.tier, runbook: runbook.id, outcome: exec.outcome, recorded: true, attempt_id: record.attempt_id, evidence_seq: seq, detail: exec.detail };

    if (exec.outcome !== "success" && ctx.incident) {
      if (exec.rollback === "failed") {
        await this.#escalate(ctx, "rollback_failed", `${runbook.id} failed and its rollback failed too: the host may be half-changed`, "escalated", [], runbook.id, null, true);
      } else {
        const recent = await this.attempts.forCheck(ctx.target.id, ctx.checkId, finished - FAILURE_WINDOW_MS, FAILURE_BUDGET * MAX_TIER_HISTORY);
        // The budget is spent by this failure: escalate now rather than at the next scan.
        const failures = recent.filter((a) => (FAILED_OUTCOMES as readonly string[]).includes(a.outcome)).map((a) => a.started_at);
        if (failures.length >= FAILURE_BUDGET) {
          const reason = `${failures.length} failed attempts within ${FAILURE_WINDOW_MS / 3_600_000} h: healing stopped for this check`;
          const gate = { go: false as const, gate: "failure_budget" as const, outcome: "escalated" as const, reason, next_attempt_at: clearsAt(failures, FAILURE_BUDGET, FAILURE_WINDOW_MS), next_window_start: null, trail: [] };
          await this.#escalate(ctx, "failure_budget", reason, "escalated", [], runbook.id, gate, true);
        }
      }
    }
    return report;
  }

  /** Records a gate's block (deduplicated against the incident's last recorded decision). */
  async #recordGate(ctx: Context, fix: Fix, gate: GateDecision & { go: false }, always: boolean): Promise<HealReport> {
    const key = { outcome: gate.outcome, code: gate.gate };
    const base = { host_id: ctx.target.id, check: ctx.checkId, tier: fix.tier, runbook: fix.runbook.id, outcome: gate.outcome, detail: gate.reason };
    if (!always && ctx.incident && sameLast(ctx.incident, key)) {
      await this.incidents.update(ctx.incident, { next_attempt_at: gate.next_attempt_at });
      return { ...base, recorded: false, attempt_id: null, evidence_seq: null };
    }
    const record = this.#newRecord(ctx, fix.tier, fix.rule_id, fix.runbook.id, fix.params, gate.outcome);
    record.rollback_available = fix.runbook.rollback.length > 0;
    record.deferred_until = gate.outcome === "deferred" && gate.next_attempt_at !== null ? isoTime(gate.next_attempt_at) : null;
    record.post_state = {
      gate: gate.gate,
      reason: safeText(gate.reason),
      gates: trailOf(gate.trail),
      ...(gate.gate === "window" ? { next_window_start: gate.next_window_start === null ? null : isoTime(gate.next_window_start) } : {}),
      ...(gate.outcome === "dry_run" ? { would_run: plannedSteps(fix.runbook, fix.params) as unknown as Json } : {}),
    };
    record.detail = safeText(gate.reason);
    const seq = await this.attempts.record({ ...record, outcome: gate.outcome, finished_at: isoTime(this.#o.clock.now()) }, ctx.incident?.id ?? null);
    if (ctx.incident) {
      ctx.incident = await this.incidents.update(ctx.incident, { status: ROW_STATUS[gate.outcome] ?? "open", next_attempt_at: gate.next_attempt_at, last_outcome: gate.outcome, last: key });
      await this.#sendIncident(ctx.incident);
    }
    await this.#notify(ctx, gate.outcome, fix.tier, `${fix.runbook.id}: ${gate.reason}`);
    return { ...base, recorded: true, attempt_id: record.attempt_id, evidence_seq: seq };
  }

  /** L3: an `escalated` (or, for encryption, `alert`) bundle with its escalation entry (deduplicated). */
  async #escalate(ctx: Context, code: EscalationCode, reason: string, outcome: "escalated" | "alert", tried: string[], runbook: string | null, gate: (GateDecision & { go: false }) | null, always = false): Promise<HealReport> {
    const now = this.#o.clock.now();
    const key = { outcome, code };
    reason = safeText(reason, 1_000);
    const base = { host_id: ctx.target.id, check: ctx.checkId, tier: "L3" as const, runbook, outcome, detail: reason };
    const next = gate?.next_attempt_at ?? now + ESCALATED_RECHECK_MS;
    const quiet = code === "flapping" || code === "failure_budget" ? next : undefined;
    if (!always && ctx.incident && sameLast(ctx.incident, key)) {
      await this.incidents.update(ctx.incident, { next_attempt_at: next, ...(quiet === undefined ? {} : { quiet_until: quiet }) });
      return { ...base, recorded: false, attempt_id: null, evidence_seq: null };
    }
    const history = await this.attempts.forCheck(ctx.target.id, ctx.checkId, now - FAILURE_WINDOW_MS, MAX_TIER_HISTORY);
    const record = this.#newRecord(ctx, "L3", null, runbook, {}, outcome);
    record.escalation = buildEscalation({
      incident_id: ctx.incident?.state.wire_id ?? null,
      host_id: ctx.target.id,
      check: ctx.checkId,
      severity: ctx.severity,
      code,
      reason,
      history,
      tried,
      now,
      random: this.#o.random,
    });
    record.post_state = { escalation: code, reason: safeText(reason), ...(gate ? { gates: trailOf(gate.trail) } : {}) };
    record.detail = safeText(reason);
    const seq = await this.attempts.record({ ...record, outcome, finished_at: isoTime(Math.max(now, ctx.started)) }, ctx.incident?.id ?? null);
    if (ctx.incident) {
      ctx.incident = await this.incidents.update(ctx.incident, { status: "escalated", next_attempt_at: next, last_outcome: outcome, last: key, ...(quiet === undefined ? {} : { quiet_until: quiet }) });
      await this.#sendIncident(ctx.incident);
    }
    await this.#notify(ctx, outcome, "L3", reason);
    return { ...base, recorded: true, attempt_id: record.attempt_id, evidence_seq: seq };
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  #newRecord(ctx: Context, tier: HealingTier, rule_id: string | null, runbook: string | null, params: { [name: string]: Json }, outcome: AttemptRecord["outcome"]): AttemptRecord {
    return {
      attempt_id: newId("att", this.#o.random),
      incident_id: ctx.incident?.state.wire_id ?? null,
      host_id: ctx.target.id,
      check: ctx.checkId,
      platform: ctx.target.platform,
      tier,
      rule_id,
      runbook,
      params: params as JsonObject,
      order_id: ctx.order_id,
      started_at: isoTime(ctx.started),
      finished_at: null,
      outcome,
      deferred_until: null,
      detail: null,
      controls: ctx.check ? this.#catalogue.controlKeysFor(ctx.check.id) : [],
      pre_state: ctx.pre,
      post_state: {},
      rollback_available: false,
      escalation: null,
      simulated: ctx.target.simulated,
    };
  }

  async #exclusive<T>(host: string, check: string, fn: () => Promise<T>): Promise<T | null> {
    const key = `${host}\u0000${check}`;
    if (this.#busy.has(key)) return null;
    this.#busy.add(key);
    try {
      return await fn();
    } finally {
      this.#busy.delete(key);
    }
  }

  #parsedWindows(specs: readonly WindowSpec[]): MaintenanceWindow[] {
    const key = JSON.stringify(specs);
    if (this.#windows?.key === key) return this.#windows.parsed;
    const parsed: MaintenanceWindow[] = [];
    for (const spec of specs) {
      try {
        parsed.push(parseWindow(spec));
      } catch (e) {
        this.#o.log.error("heal_window_unusable", { rrule: spec.rrule, error: (e as Error).message });
      }
    }
    this.#windows = { key, parsed };
    return parsed;
  }

  async #sendIncident(incident: Incident): Promise<void> {
    const body = incident.state.unsent;
    if (!body) return;
    const entry = { type: "incident" as const, body: body as unknown as { [name: string]: Json } };
    const sink = this.#o.sink;
    try {
      if (isTransactional(sink)) {
        await sink.transaction(async (w) => {
          await w.append([], [entry]);
          await this.incidents.markSentIn(w.tx, incident.host_id, incident.check, body);
        });
      } else {
        await sink.append([], [entry]);
        await this.incidents.markSent(incident.host_id, incident.check, body);
      }
    } catch (e) {
      this.#incidentsDirty = true;
      this.#o.log.error("heal_incident_append_failed", { incident_id: body.incident_id, error: (e as Error).message });
    }
  }

  async #flushIncidents(force = false): Promise<number> {
    if (!force && !this.#incidentsDirty) return 0;
    this.#incidentsDirty = false;
    let n = 0;
    for (const body of await this.incidents.unsent(MAX_FLUSH_PER_CALL)) {
      const incident = await this.incidents.get(body.host_id ?? "", body.check);
      if (incident) {
        await this.#sendIncident(incident);
        n++;
      }
    }
    return n;
  }

  async #notify(ctx: Context, outcome: HealingOutcome, tier: HealingTier, message: string): Promise<void> {
    const publish = this.#o.publish;
    const who = this.#o.identity();
    if (!publish || !who || this.#o.site().deployment_mode !== "reseller") return;
    await notifyReseller(publish, { ...who, host_id: ctx.target.id, check: ctx.checkId, outcome, tier, severity: ctx.severity, message: `${ctx.target.simulated ? "[simulated] " : ""}${ctx.checkId} on ${ctx.target.id}: ${outcome} — ${message}`, now: this.#o.clock.now() }, this.#o.log);
  }
}

function sameLast(incident: Incident, key: { outcome: string; code: string }): boolean {
  const last = incident.state.last;
  return last !== null && last.outcome === key.outcome && last.code === key.code;
}

/** A check result's facts (its `actual` object), for pre/post state. */
function factsOf(result: Pick<HostCheckResult, "actual">): JsonObject {
  const a = result.actual;
  return a !== null && typeof a === "object" && !Array.isArray(a) ? (a as JsonObject) : {};
}

