/**
 * Where the L2 planner's model lives: an OpenAI-compatible chat-completions endpoint per MSP (by MSP id, or
 * `*` for every MSP without its own), with the model name and the path of a file holding the API key. This
 * is operator configuration (a file given to `osiris relay serve --l2-config`), never something a tenant
 * sets over HTTP: a web-editable key path would let a tenant make the relay read any file and send it to any
 * URL. The key is read from its file on every call (rotation needs no restart) and never logged or stored.
 *
 *   endpoints:
 *     "*":        { url: https://api.openai.com/v1/chat/completions, model: gpt-4o-mini, api_key_file: /run/secrets/openai }
 *     msp_abc…:   { url: https://llm.msp.example/v1/chat/completions, model: llama-3.1-70b, api_key_file: /run/secrets/msp-llm }
 *
 * No endpoint for an MSP means L2 is off there: every plan request escalates to L3.
 */
import { z } from "zod";
import { parse as parseYaml } from "yaml";
import { parseSchema } from "../../protocol/schema.ts";
import { isLoopbackHost } from "../notify/url-policy.ts";

/** The appliance waits 30 s for a plan; the relay must answer (escalate) before that. */
export const MAX_LLM_TIMEOUT_MS = 25_000;
export const DEFAULT_LLM_TIMEOUT_MS = 20_000;

const endpointUrl = z
  .string()
  .max(2048)
  .superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected an absolute URL such as https://api.openai.com/v1/chat/completions" });
      return;
    }
    if (u.username || u.password) ctx.addIssue({ code: "custom", message: "must not carry credentials (use api_key_file)" });
    if (!(u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.hostname)))) ctx.addIssue({ code: "custom", message: "must use https (plain http only to a loopback address)" });
  });

export const llmEndpointSchema = z.strictObject({
  /** The chat-completions URL itself (…/v1/chat/completions). */
  url: endpointUrl,
  model: z.string().min(1).max(200),
  /** File holding the API key (Bearer token); absent for a local server without auth. */
  api_key_file: z.string().min(1).max(4096).optional(),
  timeout_ms: z.number().int().min(1_000).max(MAX_LLM_TIMEOUT_MS).default(DEFAULT_LLM_TIMEOUT_MS),
  /** Ask for `response_format: {type: "json_object"}` (turn off for servers that reject it). */
  json_mode: z.boolean().default(true),
  max_tokens: z.number().int().min(100).max(4_000).default(800),
});
export type LlmEndpoint = z.output<typeof llmEndpointSchema>;

export const l2ConfigFileSchema = z.strictObject({
  endpoints: z.record(z.string().regex(/^(?:\*|[a-z]+_[0-9a-z]{8,40})$/, "expected an MSP id or *"), llmEndpointSchema),
});

/** What the gateway needs at run time (on `RelayDeps.l2`). */
export interface L2Config {
  endpoints: Readonly<Record<string, LlmEndpoint>>;
  fetch: typeof fetch;
  /** Reads a secret file (the API key); trimmed by the caller. */
  readSecret(path: string): Promise<string>;
}

/** Parses a YAML or JSON config file's text (throws ValidationError naming the field). */
export function parseL2ConfigFile(text: string): Record<string, LlmEndpoint> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new TypeError(`Cannot read the L2 config: not YAML or JSON: ${(e as Error).message}`);
  }
  return parseSchema(l2ConfigFileSchema, raw, "L2 config").endpoints;
}

/** The endpoint configured for an MSP, or null (L2 off). */
export function endpointFor(config: L2Config | undefined, mspId: string): LlmEndpoint | null {
  if (!config) return null;
  return config.endpoints[mspId] ?? config.endpoints["*"] ?? null;
}

export interface L2ConfigSources {
  /** `--l2-config FILE`: YAML/JSON with per-MSP endpoints. */
  file?: string;
  /** `--l2-url`, `--l2-model`, `--l2-key-file`: one endpoint for every MSP (`*`), overridden by the file's. */
  url?: string;
  model?: string;
  apiKeyFile?: string;
}

/**
 * Builds the gateway config from the CLI's sources, or undefined when none is given (L2 off). The file is
 * read once here; the key files on every call. Throws (ValidationError / TypeError) naming what is wrong.
 */
export async function loadL2Config(sources: L2ConfigSources, io: { readText(path: string): Promise<string>; fetch: typeof fetch }): Promise<L2Config | undefined> {
  const endpoints: Record<string, LlmEndpoint> = {};
  if (sources.url !== undefined || sources.model !== undefined) {
    if (!sources.url || !sources.model) throw new TypeError("Cannot configure L2 as --l2-url and --l2-model must be given together");
    endpoints["*"] = parseSchema(llmEndpointSchema, { url: sources.url, model: sources.model, ...(sources.apiKeyFile ? { api_key_file: sources.apiKeyFile } : {}) }, "L2 endpoint flags");
  }
  if (sources.file) Object.assign(endpoints, parseL2ConfigFile(await io.readText(sources.file)));
  if (Object.keys(endpoints).length === 0) return undefined;
  return { endpoints, fetch: io.fetch, readSecret: (path) => io.readText(path) };
}
