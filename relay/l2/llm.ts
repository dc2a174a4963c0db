/**
 * One call to an OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, llama.cpp server,
 * Ollama, …): `POST <url>` with `{model, messages, temperature: 0, max_tokens, response_format}` and
 * `Authorization: Bearer <key>`; the answer is `choices[0].message.content`. Bounded in time (the caller's
 * AbortSignal plus the endpoint's timeout) and size. Errors never carry the key.
 */
import { z } from "zod";
import type { LlmEndpoint } from "./config.ts";
import type { ChatMessage } from "./prompt.ts";

/** Largest answer read from the endpoint: a plan is a few hundred bytes; the envelope adds a little. */
export const MAX_LLM_RESPONSE_BYTES = 256 * 1024;

export type LlmErrorCode = "llm_timeout" | "llm_error";

export class LlmError extends Error {
  override readonly name = "LlmError";
  constructor(
    readonly code: LlmErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const completionSchema = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable().optional() }) })).min(1),
});

async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new LlmError("llm_error", `the LLM endpoint answered more than ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return new TextDecoder().decode(out);
}

/** Asks the model; resolves with the message content and the model name it reported. Throws LlmError. */
export async function chatCompletion(
  endpoint: LlmEndpoint,
  apiKey: string | null,
  messages: readonly ChatMessage[],
  effects: { fetch: typeof fetch; signal?: AbortSignal },
): Promise<{ content: string; model: string }> {
  const timeout = AbortSignal.timeout(endpoint.timeout_ms);
  const signal = effects.signal ? AbortSignal.any([effects.signal, timeout]) : timeout;
  const body = {
    model: endpoint.model,
    messages,
    temperature: 0,
    max_tokens: endpoint.max_tokens,
    ...(endpoint.json_mode ? { response_format: { type: "json_object" } } : {}),
  };
  let text: string;
  let status: number;
  try {
    const res = await effects.fetch(endpoint.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      redirect: "error",
      signal,
    });
    status = res.status;
    text = await readBounded(res, MAX_LLM_RESPONSE_BYTES);
  } catch (e) {
    if (e instanceof LlmError) throw e;
    if (signal.aborted) throw new LlmError("llm_timeout", `the LLM endpoint did not answer within ${endpoint.timeout_ms} ms`);
    const cause = (e as { cause?: { code?: unknown } }).cause?.code;
    throw new LlmError("llm_error", `the LLM endpoint could not be reached: ${(e as Error).message}${cause ? ` (${String(cause)})` : ""}`);
  }
  if (status < 200 || status >= 300) throw new LlmError("llm_error", `the LLM endpoint answered HTTP ${status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new LlmError("llm_error", "the LLM endpoint's answer is not JSON");
  }
  const completion = completionSchema.safeParse(parsed);
  if (!completion.success) throw new LlmError("llm_error", "the LLM endpoint's answer is not a chat completion (no choices[0].message)");
  const content = completion.data.choices[0]!.message.content ?? "";
  return { content, model: completion.data.model ?? endpoint.model };
}
