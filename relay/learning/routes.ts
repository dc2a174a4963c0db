/**
 * Routes of relay/learning/ (listed in routes.ts): the thresholds (read by MSP staff, changed by MSP admins),
 * the candidates with their numbers, one candidate with its ledger and daily series, and the three decisions
 * people make (approve, reject, retire), each audited. Approving publishes the new signed rule set in the
 * same transaction, so the answer says which version carries the rule.
 */
import { z } from "zod";
import { isoTimeSchema } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { MSP_STAFF, type RelayContext, type RouteSpec } from "../http/types.ts";
import { approveCandidate, rejectCandidate, retireCandidate } from "./actions.ts";
import { candidateDetail, candidateSummaries } from "./queries.ts";
import { DEFAULT_THRESHOLDS, describeThresholds, learningPolicy, policyUpdateSchema, thresholdsSchema, updateLearningPolicy, type LearningPolicy } from "./thresholds.ts";
import { CANDIDATE_STATES, MAX_REASON_CHARS } from "./transitions.ts";

/** Bodies here are a reason or a handful of numbers. */
const SMALL_BODY_BYTES = 4 * 1024;
/** Routes without a body. */
const EMPTY_BODY_BYTES = 1024;

const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(MAX_REASON_CHARS) });
const optionalReasonBody = z.strictObject({ reason: z.string().trim().min(1).max(MAX_REASON_CHARS).optional() });

const policyResponse = z.strictObject({
  thresholds: thresholdsSchema,
  defaults: thresholdsSchema,
  overrides: thresholdsSchema.partial(),
  auto_promote: z.boolean(),
  descriptions: z.array(z.strictObject({ name: z.string(), value: z.number(), text: z.string() })),
});
const counters = z.strictObject({ executions: z.number(), successes: z.number(), failures: z.number(), not_run: z.number(), sites: z.number(), last_run_at: isoTimeSchema.nullable() });
const summary = z.object({
  id: z.string(),
  rule_id: z.string(),
  check: z.string(),
  platform: z.string(),
  runbook: z.string(),
  params: z.record(z.string(), z.unknown()),
  state: z.enum(CANDIDATE_STATES),
  scope_site: z.strictObject({ id: z.string(), name: z.string() }).nullable(),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  occurrences: z.number(),
  successes: z.number(),
  l2_resolutions: z.number(),
  success_pct: z.number(),
  sites: z.array(z.strictObject({ id: z.string(), name: z.string() })),
  last_seen: isoTimeSchema.nullable(),
  unmet: z.array(z.string()),
  replay: z.strictObject({ pass: z.boolean(), agreement_pct: z.number(), agree: z.number(), disagree: z.number() }).nullable(),
  executions: counters,
});
const detail = summary.extend({
  rule: z.record(z.string(), z.unknown()),
  ledger: z.array(z.strictObject({ seq: z.number(), from: z.enum(CANDIDATE_STATES).nullable(), to: z.enum(CANDIDATE_STATES), at: isoTimeSchema, actor_kind: z.string(), actor_id: z.string(), actor_name: z.string(), reason: z.string(), proof: z.record(z.string(), z.unknown()) })),
  replay_result: z.record(z.string(), z.unknown()).nullable(),
  proposed_stats: z.record(z.string(), z.unknown()),
  daily: z.array(z.strictObject({ day: z.string(), runs: z.number(), successes: z.number(), success_pct: z.number(), by_rule: z.number() })),
});
const actionResponse = z.strictObject({ candidate_id: z.string(), state: z.enum(CANDIDATE_STATES), ruleset_version: z.number().nullable(), published: z.boolean() });

function policyView(p: LearningPolicy) {
  return { thresholds: p.thresholds, defaults: { ...DEFAULT_THRESHOLDS }, overrides: p.overrides, auto_promote: p.auto_promote, descriptions: describeThresholds(p.thresholds) };
}

function bodyOrEmpty(c: RelayContext): unknown {
  return c.var.body.length === 0 ? {} : parseJsonBody(c.var.body);
}

const candidatesQuery = z.object({ state: z.enum(CANDIDATE_STATES).optional().describe("only candidates in this state") });

export const LEARNING_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/learning/thresholds",
    callers: MSP_STAFF,
    summary: "the learning loop's effective thresholds for the caller's MSP, the defaults, and a sentence for each",
    maxBodyBytes: EMPTY_BODY_BYTES,
    response: policyResponse,
    handler: async (c, deps) => c.json(policyView(await learningPolicy(deps.db, c.var.principal.msp_id))),
  },
  {
    method: "PUT",
    path: "/api/learning/thresholds",
    callers: ["msp_admin"],
    summary: "change threshold overrides (null puts one back to its default) and auto-promotion",
    maxBodyBytes: SMALL_BODY_BYTES,
    request: policyUpdateSchema,
    response: policyResponse,
    handler: async (c, deps) => {
      const update = parseSchema(policyUpdateSchema, parseJsonBody(c.var.body), "learning thresholds update");
      const principal = c.var.principal;
      const policy = await deps.db.transaction(async (tx) => {
        const p = await updateLearningPolicy(tx, deps.clock, principal.msp_id, update, principal.user_id);
        await audit(tx, deps.clock, principal, { action: "learning.thresholds.update", target: principal.msp_id, details: { overrides: p.overrides, auto_promote: p.auto_promote } });
        return p;
      });
      return c.json(policyView(policy));
    },
  },
  {
    method: "GET",
    path: "/api/learning/candidates",
    callers: MSP_STAFF,
    summary: "learning candidates (optionally ?state=) with current occurrences, success rate, sites, replay and rule executions",
    maxBodyBytes: EMPTY_BODY_BYTES,
    query: candidatesQuery,
    response: z.strictObject({ candidates: z.array(summary) }),
    handler: async (c, deps) => c.json({ candidates: await candidateSummaries(deps.db, c.var.principal, deps.clock.now(), queryParams(c, candidatesQuery).state) }),
  },
  {
    method: "GET",
    path: "/api/learning/candidates/:candidate_id",
    callers: MSP_STAFF,
    summary: "one candidate: numbers, the rule it becomes, its ledger, its shadow replay and a daily success series",
    maxBodyBytes: EMPTY_BODY_BYTES,
    response: detail,
    handler: async (c, deps) => c.json(await candidateDetail(deps.db, c.var.principal, c.req.param("candidate_id")!, deps.clock.now())),
  },
  {
    method: "POST",
    path: "/api/learning/candidates/:candidate_id/approve",
    callers: MSP_STAFF,
    peopleOnly: true,
    summary: "approve a candidate whose shadow replay passed: it goes live in a new signed rule set at once",
    maxBodyBytes: SMALL_BODY_BYTES,
    request: optionalReasonBody,
    response: actionResponse,
    handler: async (c, deps) => {
      const { reason } = parseSchema(optionalReasonBody, bodyOrEmpty(c), "approval");
      const principal = c.var.principal;
      const id = c.req.param("candidate_id")!;
      const r = await deps.db.transaction((tx) => approveCandidate(tx, deps, id, { kind: "user", principal }, reason ?? `approved by ${principal.email}`));
      deps.log.info("learning_candidate_approved", { candidate_id: id, by: principal.user_id, ruleset_version: r.ruleset_version });
      return c.json(r);
    },
  },
  {
    method: "POST",
    path: "/api/learning/candidates/:candidate_id/reject",
    callers: MSP_STAFF,
    peopleOnly: true,
    summary: "reject a proposed or shadow candidate (it is retired and never proposed again)",
    maxBodyBytes: SMALL_BODY_BYTES,
    request: reasonBody,
    response: actionResponse,
    handler: async (c, deps) => {
      const { reason } = parseSchema(reasonBody, bodyOrEmpty(c), "rejection");
      const r = await deps.db.transaction((tx) => rejectCandidate(tx, deps, c.req.param("candidate_id")!, c.var.principal, reason));
      return c.json(r);
    },
  },
  {
    method: "POST",
    path: "/api/learning/candidates/:candidate_id/retire",
    callers: MSP_STAFF,
    summary: "retire a candidate; a live rule leaves the next signed rule set",
    maxBodyBytes: SMALL_BODY_BYTES,
    request: reasonBody,
    response: actionResponse,
    handler: async (c, deps) => {
      const { reason } = parseSchema(reasonBody, bodyOrEmpty(c), "retirement");
      const r = await deps.db.transaction((tx) => retireCandidate(tx, deps, c.req.param("candidate_id")!, c.var.principal, reason));
      deps.log.info("learning_candidate_retired", { candidate_id: r.candidate_id, by: c.var.principal.user_id, ruleset_version: r.ruleset_version });
      return c.json(r);
    },
  },
];
