/**
 * L2: when no L1 rule matches and the site has L2 enabled, ask the relay's planner which catalogue runbook
 * would fix the incident. The planner is an injected function (the daemon wires it to the relay's planner
 * endpoint over the signed request channel; the relay side comes later).
 *
 * What leaves the site: the check id, platform, severity, the facts the catalogue lists for that check (no
 * other fact, so nothing a collector happened to gather rides along) and the check's reason, all scrubbed
 * (PHI and secrets → placeholders), plus the catalogue runbooks that address this check on this platform as
 * the only valid answers. Never credentials, never other hosts' data.
 *
 * What is accepted (the response is untrusted input, parsed with zod): a runbook from those candidates —
 * in the catalogue, addressing this check and platform — with parameters valid against its schema, and
 * confidence ≥ L2_CONFIDENCE_THRESHOLD. The planner's text (`reasoning`) is kept for humans, never acted on;
 * no script, command or free-form action from the planner is ever run. Anything else, including no answer
 * within L2_TIMEOUT_MS, is a refusal with a code, and the engine escalates (L3).
 */
import { z } from "zod";
import type { Catalogue, Check, Json, Runbook } from "../../protocol/catalogue/mod.ts";
import { readFact, validateParams, type ParamsSchema } from "../../protocol/catalogue/mod.ts";
import { newId } from "../../protocol/ids.ts";
import { scrub, type Redaction } from "../../protocol/scrub.ts";
import type { IncidentSeverity } from "../../protocol/sync.ts";
import type { Facts } from "../engine/types.ts";
import { runbookAddresses } from "./rules.ts";
import { clip } from "./policy.ts";

import { L2_REQUEST_SCHEMA, L2_RESPONSE_SCHEMA, l2PlanResponseSchema, MAX_L2_REASONING_CHARS, type L2PlanResponse } from "../../protocol/l2.ts";

export { L2_REQUEST_SCHEMA, L2_RESPONSE_SCHEMA, l2PlanResponseSchema, MAX_L2_REASONING_CHARS, type L2PlanResponse };
/** Below this confidence a plan is not run: a wrong fix on a clinic machine costs more than a human's look. */
export const L2_CONFIDENCE_THRESHOLD = 0.8;
/** The planner gets this long; then the incident escalates (and the relay may still learn from it). */
export const L2_TIMEOUT_MS = 30_000;
/** Most candidate runbooks offered (the catalogue has a handful per check). */
export const MAX_L2_CANDIDATES = 20;

export interface L2Candidate {
  runbook: string;
  title: string;
  summary: string;
  disruptive: boolean;
  params_schema: ParamsSchema;
}

/** What the appliance sends the planner. */
export interface L2PlanRequest {
  schema: typeof L2_REQUEST_SCHEMA;
  request_id: string;
  incident_id: string | null;
  check: string;
  check_title: string;
  platform: string;
  severity: IncidentSeverity;
  /** The check's facts only, scrubbed. */
  facts: { [name: string]: Json };
  /** Why the check fails (scrubbed), or null. */
  reason: string | null;
  /** The only runbooks an answer may name. */
  candidates: L2Candidate[];
}


/** The planner as the engine sees it: resolves with the raw (untrusted) response, rejects when unreachable. */
export type Planner = (request: L2PlanRequest, signal: AbortSignal) => Promise<unknown>;

export const L2_REFUSALS = [
  "no_candidates",
  "scrub_failed",
  "offline",
  "timeout",
  "invalid_response",
  "request_mismatch",
  "declined",
  "unknown_runbook",
  "wrong_check",
  "invalid_params",
  "low_confidence",
] as const;
export type L2Refusal = (typeof L2_REFUSALS)[number];

export type L2Verdict =
  | { accepted: true; runbook: Runbook; params: { [name: string]: Json }; confidence: number; reasoning: string; request: L2PlanRequest }
  | { accepted: false; code: L2Refusal; reason: string; request: L2PlanRequest | null };

export interface L2Input {
  catalogue: Catalogue;
  check: Check;
  platform: string;
  severity: IncidentSeverity;
  incident_id: string | null;
  facts: Facts;
  reason: string | null;
}

export interface L2Deps {
  planner: Planner;
  random: (n: number) => Uint8Array;
  timeoutMs?: number;
  threshold?: number;
  signal?: AbortSignal;
}

/** The check's facts (by catalogue fact name) from a scan's facts; nothing else. */
export function relevantFacts(check: Pick<Check, "facts">, facts: Facts): { [name: string]: Json } {
  const out: { [name: string]: Json } = {};
  for (const name of check.facts) {
    const f = readFact(facts, name);
    if (f.found) out[name] = f.value;
  }
  return out;
}

/** Builds the scrubbed request; returns null (with the redactions) when the facts cannot be scrubbed. */
export function buildPlanRequest(input: L2Input, random: (n: number) => Uint8Array): { request: L2PlanRequest; redactions: Redaction[] } | { request: null; error: string } {
  const candidates = input.catalogue
    .listRunbooks()
    .filter((r) => runbookAddresses(r, input.check.id, input.platform))
    .slice(0, MAX_L2_CANDIDATES)
    .map((r) => ({ runbook: r.id, title: r.title, summary: r.summary, disruptive: r.disruptive, params_schema: r.params_schema }));
  let scrubbed;
  try {
    scrubbed = scrub({ facts: relevantFacts(input.check, input.facts), reason: input.reason === null ? null : clip(input.reason, 1_000) });
  } catch (e) {
    return { request: null, error: (e as Error).message };
  }
  const value = scrubbed.value as { facts: { [name: string]: Json }; reason: string | null };
  return {
    request: {
      schema: L2_REQUEST_SCHEMA,
      request_id: newId("plan", random),
      incident_id: input.incident_id,
      check: input.check.id,
      check_title: input.check.title,
      platform: input.platform,
      severity: input.severity,
      facts: value.facts,
      reason: value.reason,
      candidates,
    },
    redactions: scrubbed.redactions,
  };
}

class PlannerTimeout extends Error {}

/** Asks the planner and judges its answer; see the module comment. Never throws. */
export async function planWithL2(input: L2Input, deps: L2Deps): Promise<L2Verdict> {
  const built = buildPlanRequest(input, deps.random);
  if (built.request === null) return { accepted: false, code: "scrub_failed", reason: `facts could not be scrubbed, nothing was sent: ${built.error}`, request: null };
  const request = built.request;
  const refuse = (code: L2Refusal, reason: string): L2Verdict => ({ accepted: false, code, reason, request });
  if (request.candidates.length === 0) return refuse("no_candidates", `no catalogue runbook addresses ${input.check.id} on ${input.platform}`);

  const timeoutMs = deps.timeoutMs ?? L2_TIMEOUT_MS;
  const controller = new AbortController();
  const onAbort = () => controller.abort(deps.signal?.reason);
  deps.signal?.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let raw: unknown;
  try {
    raw = await Promise.race([
      deps.planner(request, controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(new PlannerTimeout());
          reject(new PlannerTimeout());
        }, timeoutMs);
      }),
    ]);
  } catch (e) {
    if (e instanceof PlannerTimeout) return refuse("timeout", `the L2 planner did not answer within ${timeoutMs} ms`);
    return refuse("offline", `the L2 planner could not be reached: ${clip((e as Error)?.message ?? String(e), 200)}`);
  } finally {
    clearTimeout(timer);
    deps.signal?.removeEventListener("abort", onAbort);
  }

  const parsed = l2PlanResponseSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "response"}: ${i.message}`);
    return refuse("invalid_response", `the L2 answer is not a valid plan: ${issues.join("; ")}`);
  }
  const plan = parsed.data;
  if (plan.request_id !== request.request_id) return refuse("request_mismatch", `the L2 answer is for request ${clip(plan.request_id, 60)}, not ${request.request_id}`);
  if (plan.runbook === null) return refuse("declined", `the L2 planner proposed no runbook${plan.reasoning ? ` (${clip(plan.reasoning, 300)})` : ""}`);
  const runbook = input.catalogue.findRunbook(plan.runbook);
  if (!runbook) return refuse("unknown_runbook", `the L2 answer names ${clip(plan.runbook, 80)}, which is not a catalogue runbook`);
  if (!runbookAddresses(runbook, input.check.id, input.platform)) {
    return refuse("wrong_check", `the L2 answer names ${runbook.id}, which fixes ${runbook.check} on ${runbook.platform}, not ${input.check.id} on ${input.platform}`);
  }
  const params = validateParams(runbook.params_schema, plan.params);
  if (!params.ok) return refuse("invalid_params", `the L2 parameters for ${runbook.id} are invalid: ${clip(params.issues.map((i) => i.message).join("; "), 400)}`);
  const threshold = deps.threshold ?? L2_CONFIDENCE_THRESHOLD;
  if (!(plan.confidence >= threshold)) return refuse("low_confidence", `the L2 confidence ${plan.confidence} is below ${threshold}`);
  return { accepted: true, runbook, params: params.value as { [name: string]: Json }, confidence: plan.confidence, reasoning: plan.reasoning, request };
}
