/**
 * The L2 decision log as the MSP reviews it: per site, newest first, with the exact prompt sent (scrubbed),
 * the model's raw answer, what was decided and why, and the escalation it opened.
 */
import { z } from "zod";
import { num, str, strOrNull, type RelayDb, type Row } from "../db/index.ts";

export const MAX_DECISIONS = 200;

export const decisionQuerySchema = z.strictObject({
  before: z.string().max(40).optional().describe("page cursor: decisions made before this time (created_at of the last one seen)"),
  limit: z.coerce.number().int().min(1).max(MAX_DECISIONS).optional().describe(`page size, 1 to ${MAX_DECISIONS}`),
});

export const decisionViewSchema = z.object({
  decision_id: z.string(),
  appliance_id: z.string(),
  request_id: z.string(),
  incident_id: z.string().nullable(),
  check: z.string(),
  platform: z.string(),
  severity: z.string(),
  status: z.enum(["pending", "planned", "escalated"]),
  reason_code: z.string().nullable(),
  reason: z.string().nullable(),
  llm_called: z.boolean(),
  model: z.string().nullable(),
  prompt: z.array(z.object({ role: z.string(), content: z.string() })).nullable(),
  answer: z.string().nullable(),
  runbook: z.string().nullable(),
  params: z.record(z.string(), z.unknown()).nullable(),
  confidence: z.number().nullable(),
  reasoning: z.string().nullable(),
  redactions: z.array(z.object({ kind: z.string(), count: z.number() })),
  escalation_id: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
});
export type DecisionView = z.output<typeof decisionViewSchema>;

function view(r: Row): DecisionView {
  const prompt = strOrNull(r, "prompt");
  const params = strOrNull(r, "params");
  return {
    decision_id: str(r, "id"),
    appliance_id: str(r, "appliance_id"),
    request_id: str(r, "request_id"),
    incident_id: strOrNull(r, "incident_id"),
    check: str(r, "check_id"),
    platform: str(r, "platform"),
    severity: str(r, "severity"),
    status: str(r, "status") as DecisionView["status"],
    reason_code: strOrNull(r, "reason_code"),
    reason: strOrNull(r, "reason"),
    llm_called: num(r, "llm_called") === 1,
    model: strOrNull(r, "model"),
    prompt: prompt === null ? null : (JSON.parse(prompt) as DecisionView["prompt"]),
    answer: strOrNull(r, "answer"),
    runbook: strOrNull(r, "runbook"),
    params: params === null ? null : (JSON.parse(params) as Record<string, unknown>),
    confidence: r["confidence"] === null ? null : Number(r["confidence"]),
    reasoning: strOrNull(r, "reasoning"),
    redactions: JSON.parse(str(r, "redactions")) as DecisionView["redactions"],
    escalation_id: strOrNull(r, "escalation_id"),
    created_at: str(r, "created_at"),
    finished_at: strOrNull(r, "finished_at"),
    duration_ms: r["duration_ms"] === null ? null : num(r, "duration_ms"),
  };
}

/** A site's decisions, newest first. */
export async function listDecisions(db: RelayDb, siteId: string, q: z.output<typeof decisionQuerySchema>): Promise<DecisionView[]> {
  const args: (string | number)[] = [siteId];
  let where = "site_id = ?";
  if (q.before) (where += " AND created_at < ?"), args.push(q.before);
  const rs = await db.execute({ sql: `SELECT * FROM l2_decisions WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ${q.limit ?? 50}`, args });
  return rs.rows.map(view);
}
