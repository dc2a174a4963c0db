/**
 * The L2 planner gateway: an appliance sends a scrubbed incident (`POST /api/l2/plan`); the relay scrubs it
 * again, offers the model the catalogue's runbooks for that check and platform as the only possible answers,
 * judges the answer, records the decision (prompt and answer kept for the MSP to review) and answers the
 * appliance with a plan, or with `runbook: null`: escalate.
 *
 * Every way this can fail ends in L3, never in execution: L2 not configured for the MSP, the kill switch, the
 * site not using L2, a budget used up, suspicious text in the facts, the model unreachable or too slow, an
 * answer that is not the JSON asked for, names a runbook that was not offered, has parameters outside the
 * runbook's schema, or is not confident enough. Each of those records the decision and opens (or joins) an
 * escalation ticket for the incident, in one transaction.
 *
 * Budgets are enforced by reserving: the `pending` decision row is written in the same write transaction
 * that counted the calls before it, so concurrent requests cannot overspend. A replayed request (same
 * appliance and request id) gets the recorded answer again without a second model call.
 */
import { catalogue, findCheck, type Json } from "../../protocol/catalogue/mod.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { scrub, type Redaction } from "../../protocol/scrub.ts";
import { num, str, strOrNull, type Row, type Tx } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { openEscalation } from "../escalations/escalations.ts";
import { RelayError } from "../errors.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { judgeAnswer } from "./answer.ts";
import { endpointFor } from "./config.ts";
import { chatCompletion, LlmError } from "./llm.ts";
import { L2_RESPONSE_SCHEMA, l2PlanRequestSchema, MAX_L2_REASONING_CHARS, type L2PlanRequest, type L2PlanResponse } from "../../protocol/l2.ts";
import { buildPrompt, injectionSignals } from "./prompt.ts";
import { exceededBudget, l2Settings, usage } from "./settings.ts";

/** Why a request went to L3 instead of being planned. */
export const L2_ESCALATION_CODES = [
  "site_l2_disabled",
  "kill_switch",
  "l2_off",
  "unknown_check",
  "no_candidates",
  "scrub_failed",
  "suspected_injection",
  "budget_exhausted",
  "llm_timeout",
  "llm_error",
  "malformed_answer",
  "declined",
  "unknown_runbook",
  "wrong_check",
  "invalid_params",
  "low_confidence",
  "in_progress",
] as const;
export type L2EscalationCode = (typeof L2_ESCALATION_CODES)[number];

/** Longest model answer kept for review (a plan is a few hundred bytes). */
export const MAX_STORED_ANSWER_CHARS = 16 * 1024;

export interface PlanOutcome {
  response: L2PlanResponse;
  decision_id: string | null;
  status: "planned" | "escalated";
  code: L2EscalationCode | null;
  escalation_id: string | null;
}

interface Base {
  id: string;
  msp_id: string;
  site_id: string;
  appliance_id: string;
  req: L2PlanRequest;
  created_at: string;
  started: number;
  redactions: Redaction[];
}

type Final =
  | { status: "planned"; runbook: string; params: { [name: string]: Json }; confidence: number; reasoning: string; answer: string; model: string }
  | { status: "escalated"; code: L2EscalationCode; message: string; answer?: string; model?: string; runbook?: string | null; confidence?: number | null; reasoning?: string | null };

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function escalateResponse(requestId: string, code: string, message: string): L2PlanResponse {
  return { schema: L2_RESPONSE_SCHEMA, request_id: requestId, runbook: null, params: {}, confidence: 0, reasoning: clip(`escalated to L3 (${code}): ${message}`, MAX_L2_REASONING_CHARS) };
}

/** The answer recorded in a finished decision row (for replays). */
function responseFromRow(r: Row): PlanOutcome {
  const requestId = str(r, "request_id");
  const escalationId = strOrNull(r, "escalation_id");
  if (str(r, "status") === "planned") {
    return {
      response: {
        schema: L2_RESPONSE_SCHEMA,
        request_id: requestId,
        runbook: str(r, "runbook"),
        params: JSON.parse(str(r, "params")) as { [name: string]: Json },
        confidence: Number(r["confidence"]),
        reasoning: strOrNull(r, "reasoning") ?? "",
      },
      decision_id: str(r, "id"),
      status: "planned",
      code: null,
      escalation_id: escalationId,
    };
  }
  const code = (strOrNull(r, "reason_code") ?? "llm_error") as L2EscalationCode;
  return { response: escalateResponse(requestId, code, strOrNull(r, "reason") ?? ""), decision_id: str(r, "id"), status: "escalated", code, escalation_id: escalationId };
}

/** Writes the finished decision (insert, or completing the pending row) and, when escalated, its ticket. */
async function finish(tx: Tx, deps: RelayDeps, b: Base, f: Final, llmCalled: boolean, prompt: string | null): Promise<PlanOutcome> {
  const now = deps.clock.now();
  let escalationId: string | null = null;
  if (f.status === "escalated") {
    const opened = await openEscalation(
      tx,
      {
        site_id: b.site_id,
        source: "l2",
        source_key: `l2:${b.id}`,
        appliance_id: b.appliance_id,
        incident_id: b.req.incident_id,
        host_id: null,
        check: b.req.check,
        severity: b.req.severity,
        reason: `L2 could not plan (${f.code}): ${f.message}`,
        attempts: 0,
        reported_at: isoTime(now),
      },
      deps,
    );
    escalationId = opened.escalation_id;
  }
  const cols = {
    status: f.status,
    reason_code: f.status === "escalated" ? f.code : null,
    reason: f.status === "escalated" ? clip(f.message, 2_000) : null,
    model: f.model ?? null,
    answer: f.answer === undefined ? null : clip(f.answer, MAX_STORED_ANSWER_CHARS),
    runbook: f.status === "planned" ? f.runbook : (f.runbook ?? null),
    params: f.status === "planned" ? JSON.stringify(f.params) : null,
    confidence: f.status === "planned" ? f.confidence : (f.confidence ?? null),
    reasoning: f.status === "planned" ? f.reasoning : (f.reasoning ?? null),
    escalation_id: escalationId,
    finished_at: isoTime(now),
    duration_ms: Math.max(0, now - b.started),
  };
  if (llmCalled) {
    await tx.execute({
      sql: `UPDATE l2_decisions SET status = ?, reason_code = ?, reason = ?, model = ?, answer = ?, runbook = ?, params = ?, confidence = ?, reasoning = ?, escalation_id = ?, finished_at = ?, duration_ms = ?
            WHERE id = ? AND status = 'pending'`,
      args: [cols.status, cols.reason_code, cols.reason, cols.model, cols.answer, cols.runbook, cols.params, cols.confidence, cols.reasoning, cols.escalation_id, cols.finished_at, cols.duration_ms, b.id],
    });
  } else {
    await tx.execute({
      sql: `INSERT INTO l2_decisions (id, msp_id, site_id, appliance_id, request_id, incident_id, check_id, platform, severity, status, reason_code, reason, llm_called,
              model, prompt, answer, runbook, params, confidence, reasoning, redactions, escalation_id, created_at, finished_at, duration_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        b.id, b.msp_id, b.site_id, b.appliance_id, b.req.request_id, b.req.incident_id, b.req.check, b.req.platform, b.req.severity, cols.status, cols.reason_code, cols.reason,
        cols.model, prompt, cols.answer, cols.runbook, cols.params, cols.confidence, cols.reasoning, JSON.stringify(b.redactions), cols.escalation_id, b.created_at, cols.finished_at, cols.duration_ms,
      ],
    });
  }
  deps.log[f.status === "planned" ? "info" : "warn"]("l2_decision", {
    decision_id: b.id,
    appliance_id: b.appliance_id,
    site_id: b.site_id,
    check: b.req.check,
    status: f.status,
    code: f.status === "escalated" ? f.code : null,
    runbook: cols.runbook,
    llm_called: llmCalled,
    escalation_id: escalationId,
    ms: cols.duration_ms,
  });
  const response: L2PlanResponse =
    f.status === "planned"
      ? { schema: L2_RESPONSE_SCHEMA, request_id: b.req.request_id, runbook: f.runbook, params: f.params, confidence: f.confidence, reasoning: clip(f.reasoning, MAX_L2_REASONING_CHARS) }
      : escalateResponse(b.req.request_id, f.code, f.message);
  return { response, decision_id: b.id, status: f.status, code: f.status === "escalated" ? f.code : null, escalation_id: escalationId };
}

/** Plans (or escalates) one incident for an authenticated appliance. Throws RelayError only for a malformed request. */
export async function planIncident(deps: RelayDeps, appliance: AuthedAppliance, body: unknown, signal?: AbortSignal): Promise<PlanOutcome> {
  const req = parseSchema(l2PlanRequestSchema, body, "L2 plan request");
  const started = deps.clock.now();
  const prior = await deps.db.execute({ sql: "SELECT * FROM l2_decisions WHERE appliance_id = ? AND request_id = ?", args: [appliance.id, req.request_id] });
  if (prior.rows[0]) {
    if (str(prior.rows[0], "status") !== "pending") return responseFromRow(prior.rows[0]);
    return { response: escalateResponse(req.request_id, "in_progress", "this request is already being planned"), decision_id: null, status: "escalated", code: "in_progress", escalation_id: null };
  }
  const siteRs = await deps.db.execute({ sql: "SELECT s.l2_enabled, o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?", args: [appliance.site_id] });
  const site = siteRs.rows[0];
  if (!site) throw new RelayError("site_unknown", `Site ${appliance.site_id} of this appliance no longer exists`);
  const b: Base = { id: newId("ltwo", deps.random), msp_id: str(site, "msp_id"), site_id: appliance.site_id, appliance_id: appliance.id, req, created_at: isoTime(started), started, redactions: [] };
  const escalate = (code: L2EscalationCode, message: string, prompt: string | null = null) => deps.db.transaction((tx) => finish(tx, deps, b, { status: "escalated", code, message }, false, prompt));

  // The appliance scrubbed already; a second pass here is the relay's own guarantee of what reaches a model.
  let facts: { [name: string]: Json };
  let reason: string | null;
  try {
    const s = scrub({ facts: req.facts, reason: req.reason });
    const v = s.value as { facts: { [name: string]: Json }; reason: string | null };
    facts = v.facts;
    reason = v.reason;
    b.redactions = s.redactions;
    if (s.redactions.length > 0) deps.log.warn("l2_rescrub_redacted", { appliance_id: appliance.id, request_id: req.request_id, redactions: s.redactions });
  } catch (e) {
    return escalate("scrub_failed", `the incident could not be scrubbed, nothing was sent: ${(e as Error).message}`);
  }

  const check = findCheck(req.check);
  if (!check) return escalate("unknown_check", `${clip(req.check, 80)} is not a catalogue check`);
  const runbooks = catalogue.runbooksFor(check.id, req.platform);
  if (runbooks.length === 0) return escalate("no_candidates", `no catalogue runbook fixes ${check.id} on ${req.platform}`);
  const settings = await l2Settings(deps.db, b.msp_id);
  if (num(site, "l2_enabled") !== 1) return escalate("site_l2_disabled", "L2 is not enabled for this site");
  if (!settings.enabled) return escalate("kill_switch", "the MSP has switched L2 off");
  const endpoint = endpointFor(deps.l2, b.msp_id);
  if (endpoint === null || !deps.l2) return escalate("l2_off", "no L2 model is configured for this MSP");
  const signals = injectionSignals(JSON.stringify({ facts, reason }));
  if (signals.length > 0) return escalate("suspected_injection", `the facts contain text aimed at a language model (${signals.join(", ")}); not sent to the model`);

  const prompt = JSON.stringify(buildPrompt({ check, platform: req.platform, severity: req.severity, facts, reason, runbooks }));
  const reserved = await deps.db.transaction(async (tx) => {
    const over = exceededBudget(settings, await usage(tx, b.msp_id, b.site_id, started));
    if (over !== null) return finish(tx, deps, b, { status: "escalated", code: "budget_exhausted", message: over }, false, null);
    await tx.execute({
      sql: `INSERT INTO l2_decisions (id, msp_id, site_id, appliance_id, request_id, incident_id, check_id, platform, severity, status, llm_called, model, prompt, redactions, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?)`,
      args: [b.id, b.msp_id, b.site_id, b.appliance_id, req.request_id, req.incident_id, req.check, req.platform, req.severity, endpoint.model, prompt, JSON.stringify(b.redactions), b.created_at],
    });
    return null;
  });
  if (reserved !== null) return reserved;

  const done = (f: Final) => deps.db.transaction((tx) => finish(tx, deps, b, f, true, prompt));
  let apiKey: string | null = null;
  if (endpoint.api_key_file) {
    try {
      apiKey = (await deps.l2.readSecret(endpoint.api_key_file)).trim();
    } catch (e) {
      deps.log.error("l2_key_unreadable", { msp_id: b.msp_id, file: endpoint.api_key_file, error: (e as NodeJS.ErrnoException).code ?? "read failed" });
      return done({ status: "escalated", code: "llm_error", message: "the relay could not read the LLM API key file" });
    }
  }
  let content: string;
  let model: string;
  try {
    ({ content, model } = await chatCompletion(endpoint, apiKey, JSON.parse(prompt) as ReturnType<typeof buildPrompt>, { fetch: deps.l2.fetch, ...(signal ? { signal } : {}) }));
  } catch (e) {
    const code = e instanceof LlmError ? e.code : "llm_error";
    const message = (apiKey ? (e as Error).message.split(apiKey).join("<key>") : (e as Error).message).slice(0, 500);
    return done({ status: "escalated", code, message });
  }
  const j = judgeAnswer(content, runbooks, settings.min_confidence);
  if (!j.ok) return done({ status: "escalated", code: j.code, message: j.message, answer: content, model, runbook: j.runbook, confidence: j.confidence, reasoning: j.reasoning });
  return done({ status: "planned", runbook: j.runbook.id, params: j.params, confidence: j.confidence, reasoning: j.reasoning, answer: content, model });
}
