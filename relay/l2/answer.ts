/**
 * Judging the model's answer. It must be exactly one JSON object `{runbook_id, params, confidence,
 * reasoning}` (a single ```json fence around it is tolerated, nothing else), naming one of the runbooks the
 * prompt offered (catalogue runbooks for this check and platform), with parameters valid against that
 * runbook's schema (defaults filled in), and confident enough. Anything else is a refusal with a code, and
 * the incident escalates; nothing the model writes is ever run.
 */
import { z } from "zod";
import { catalogue, validateParams, type Json, type Runbook } from "../../protocol/catalogue/mod.ts";
import { scrub } from "../../protocol/scrub.ts";
import { MAX_L2_REASONING_CHARS } from "../../protocol/l2.ts";

export const llmAnswerSchema = z.strictObject({
  runbook_id: z.string().max(128).nullable(),
  params: z.record(z.string().max(64), z.json()),
  confidence: z.number().min(0).max(1),
  reasoning: z.string().max(8_000),
});

export type AnswerRefusal = "malformed_answer" | "declined" | "unknown_runbook" | "wrong_check" | "invalid_params" | "low_confidence";

export type Judgement =
  | { ok: true; runbook: Runbook; params: { [name: string]: Json }; confidence: number; reasoning: string }
  | { ok: false; code: AnswerRefusal; message: string; runbook: string | null; confidence: number | null; reasoning: string | null };

const FENCE = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i;

/** The model's reasoning as shown to humans and the appliance: scrubbed and clipped. */
export function safeReasoning(text: string): string {
  const v = scrub(text.slice(0, MAX_L2_REASONING_CHARS)).value;
  return typeof v === "string" ? v : "";
}

/** Judges raw model content against the runbooks that were offered. */
export function judgeAnswer(content: string, offered: readonly Runbook[], minConfidence: number): Judgement {
  const refuse = (code: AnswerRefusal, message: string, extra: Partial<Pick<Judgement & { ok: false }, "runbook" | "confidence" | "reasoning">> = {}): Judgement => ({
    ok: false,
    code,
    message,
    runbook: extra.runbook ?? null,
    confidence: extra.confidence ?? null,
    reasoning: extra.reasoning ?? null,
  });
  const trimmed = content.trim();
  const body = FENCE.exec(trimmed)?.[1] ?? trimmed;
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return refuse("malformed_answer", `the model's answer is not JSON: ${JSON.stringify(trimmed.slice(0, 80))}`);
  }
  const parsed = llmAnswerSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "answer"}: ${i.code === "unrecognized_keys" ? `unknown field ${i.keys.join(", ")}` : i.message}`);
    return refuse("malformed_answer", `the model's answer is not {runbook_id, params, confidence, reasoning}: ${issues.join("; ")}`);
  }
  const a = parsed.data;
  const extra = { runbook: a.runbook_id, confidence: a.confidence, reasoning: safeReasoning(a.reasoning) };
  if (a.runbook_id === null) return refuse("declined", "the model proposed no runbook", extra);
  const runbook = offered.find((r) => r.id === a.runbook_id);
  if (!runbook) {
    const known = catalogue.findRunbook(a.runbook_id);
    return known
      ? refuse("wrong_check", `the model named ${known.id}, which fixes ${known.check} on ${known.platform}: not one of the runbooks offered`, extra)
      : refuse("unknown_runbook", `the model named ${JSON.stringify(a.runbook_id.slice(0, 80))}, which is not a catalogue runbook`, extra);
  }
  const params = validateParams(runbook.params_schema, a.params);
  if (!params.ok) return refuse("invalid_params", `the parameters for ${runbook.id} are invalid: ${params.issues.map((i) => i.message).join("; ").slice(0, 400)}`, extra);
  if (!(a.confidence >= minConfidence)) return refuse("low_confidence", `the model's confidence ${a.confidence} is below the MSP's floor ${minConfidence}`, extra);
  return { ok: true, runbook, params: params.value as { [name: string]: Json }, confidence: a.confidence, reasoning: extra.reasoning };
}
