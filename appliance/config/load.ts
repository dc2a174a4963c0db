/**
 * Loading the appliance config: read the file (bounded), parse YAML, validate against the schema, and turn
 * every problem into a ConfigIssue naming the key path and the value seen, with "did you mean" for typos.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./errors.ts";
import { configSchema, type Config } from "./schema.ts";
import { suggest } from "./suggest.ts";

/** A config is a few kilobytes; anything near this is not a config (and must not exhaust memory). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases allowed in one file: enough for shared anchors, too few for a "billion laughs" expansion. */
export const MAX_YAML_ALIASES = 100;
/** Values quoted in error messages are cut to this many characters. */
const MAX_SHOWN_CHARS = 80;

export interface ParseOptions {
  /** Directory relative paths resolve against; `loadConfig` passes the file's directory. */
  baseDir?: string;
}

/** Reads and validates the config file at `path`. Throws ConfigError. */
export async function loadConfig(path: string): Promise<Config> {
  const text = await readBounded(path, MAX_CONFIG_BYTES);
  return parseConfig(text, path, { baseDir: dirname(resolve(path)) });
}

/** Validates config YAML `text`; `sourceName` (a file name) prefixes every message. Throws ConfigError. */
export function parseConfig(text: string, sourceName: string, options: ParseOptions = {}): Config {
  const data = parseYamlMapping(text, sourceName);
  const schema = configSchema(options);
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => toConfigIssues(issue, data, schema));
  // "adress" unknown + "address" missing is one mistake: keep the did-you-mean, drop the missing key.
  const meant = new Set(issues.flatMap((i) => (i.code === "unknown_key" && i.suggestion ? [i.path.replace(/[^.[\]]+$/, i.suggestion)] : [])));
  throw configError(sourceName, issues.filter((i) => !(i.code === "missing_key" && meant.has(i.path))));
}

/** Reads at most `limit` bytes of a file; ConfigError `read_failed` / `too_large`. */
export async function readBounded(path: string, limit: number): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ConfigError("read_failed", `${path}: not a regular file`, { source: path, issues: [] });
    if (info.size > limit) {
      throw new ConfigError("too_large", `${path}: file is ${info.size} bytes; the limit is ${limit}`, { source: path, issues: [] });
    }
    return await readFile(path, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError("read_failed", `${path}: cannot read: ${err.code ?? err.message}`, { source: path, issues: [] });
  }
}

/**
 * Parses YAML whose top level must be a mapping. `showValues` false keeps the file's text out of every
 * message (the `yaml` package quotes the offending line, which in a credentials file would be a secret).
 */
export function parseYamlMapping(text: string, sourceName: string, showValues = true): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: showValues });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? `${sourceName}:${pos.line}:${pos.col}` : sourceName;
    // The position is already in front; drop the package's own " at line L, column C:" and its excerpt.
    const message = showValues ? error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") : describeYamlCode(error.code);
    throw new ConfigError("yaml_syntax", `${where}: YAML syntax error: ${message}`, { source: sourceName, issues: [{ code: "yaml_syntax", path: "", message }] });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    const message = showValues ? (e as Error).message : "the document could not be converted (value not shown)";
    throw new ConfigError("yaml_syntax", `${sourceName}: YAML error: ${message}`, { source: sourceName, issues: [] });
  }
  if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
    const seen = data === null || data === undefined ? "an empty document" : Array.isArray(data) ? "a list" : showValues ? `${typeof data} ${clip(data)}` : `a ${typeof data}`;
    const message = `the top level must be a mapping of settings; saw ${seen}`;
    throw new ConfigError("not_a_mapping", `${sourceName}: ${message}`, { source: sourceName, issues: [{ code: "not_a_mapping", path: "", message }] });
  }
  return data as Record<string, unknown>;
}

function describeYamlCode(code: string): string {
  return code.toLowerCase().replaceAll("_", " ");
}

/** One ConfigError for all issues: the message lists them all on one line; details keep them structured. */
export function configError(sourceName: string, issues: ConfigIssue[]): ConfigError {
  const text = (i: ConfigIssue) => (i.path === "" ? i.message : `${i.path}: ${i.message}`);
  const first = issues[0];
  const code: ConfigErrorCode = first?.code ?? "invalid_value";
  const message =
    issues.length === 1 ? `${sourceName}: ${text(first!)}` : `${sourceName}: ${issues.length} problems: ${issues.map(text).join("; ")}`;
  return new ConfigError(code, message, { source: sourceName, issues });
}

/** `site.maintenance_windows[0].rrule` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function clip(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Turns one zod issue into ConfigIssues (one per unknown key). Values are shown clipped. */
export function toConfigIssues(issue: z.core.$ZodIssue, data: unknown, schema: z.ZodType): ConfigIssue[] {
  const path = issue.path;
  const value = valueAt(data, path);
  const at = formatPath(path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(schema, data, path);
      return issue.keys.map((key) => {
        const hint = suggest(key, known);
        const issuePath = formatPath([...path, key]);
        if (hint) return { code: "unknown_key", path: issuePath, message: `unknown key ${clip(key)} (did you mean ${clip(hint)}?)`, suggestion: hint };
        return { code: "unknown_key", path: issuePath, message: `unknown key ${clip(key)}; known keys here: ${known.join(", ")}` };
      });
    }
    case "invalid_type":
      if (value === undefined) return [{ code: "missing_key", path: at, message: `is required (${issue.expected}); saw nothing` }];
      return [{ code: "invalid_value", path: at, message: `expected ${issue.expected}; saw ${value === null ? "null (an empty value)" : `${typeName(value)} ${clip(value)}`}` }];
    case "invalid_value": {
      const values = issue.values.map(String);
      const hint = typeof value === "string" ? suggest(value, values) : undefined;
      const out: ConfigIssue = { code: "invalid_value", path: at, message: `expected one of ${values.join(" | ")}; saw ${clip(value)}${hint ? ` (did you mean ${clip(hint)}?)` : ""}` };
      if (hint) out.suggestion = hint;
      return [out];
    }
    case "invalid_union": {
      if ("discriminator" in issue && typeof issue.discriminator === "string") {
        const disc = issue.discriminator;
        const options = "options" in issue && Array.isArray(issue.options) ? issue.options.map(String) : [];
        const discPath = path.at(-1) === disc ? path : [...path, disc];
        const seen = valueAt(data, discPath);
        const hint = typeof seen === "string" ? suggest(seen, options) : undefined;
        const target = formatPath(discPath);
        return [{ code: seen === undefined ? "missing_key" : "invalid_value", path: target, message: `expected one of ${options.join(" | ")}; saw ${clip(seen)}${hint ? ` (did you mean ${clip(hint)}?)` : ""}` }];
      }
      return [{ code: "invalid_value", path: at, message: `${issue.message}; saw ${clip(value)}` }];
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
      const inclusive = issue.inclusive !== false;
      const what =
        issue.origin === "string" ? (small && Number(bound) === 1 ? "must not be empty" : `must be ${small ? "at least" : "at most"} ${bound} characters long`)
        : issue.origin === "array" ? `must have ${small ? "at least" : "at most"} ${bound} ${Number(bound) === 1 ? "item" : "items"}`
        : `must be ${small ? (inclusive ? "at least" : "more than") : inclusive ? "at most" : "less than"} ${bound}`;
      const custom = !issue.message.startsWith("Too ");
      const message = custom ? issue.message : `${what}; saw ${clip(value)}`;
      return [{ code: "invalid_value", path: at, message }];
    }
    case "custom":
      return [{ code: "invalid_value", path: at, message: issue.message }];
    default:
      return [{ code: "invalid_value", path: at, message: /saw /.test(issue.message) ? issue.message : `${issue.message}; saw ${clip(value)}` }];
  }
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "list" : typeof v === "object" ? "mapping" : typeof v;
}

interface JsonNode {
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
  oneOf?: JsonNode[];
  anyOf?: JsonNode[];
  const?: unknown;
}

/** The keys the schema allows at `path`, read from its JSON Schema; for a union, the variant the data selects. */
function knownKeys(schema: z.ZodType, data: unknown, path: readonly PropertyKey[]): string[] {
  let nodes: JsonNode[] = [z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonNode];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    nodes = nodes.flatMap((n) => variants(n)).flatMap((n) => {
      const next = typeof seg === "number" ? n.items : n.properties?.[String(seg)];
      return next ? [next] : [];
    });
  }
  const here = valueAt(data, path);
  let objects = nodes.flatMap((n) => variants(n)).filter((n) => n.properties);
  const selected = objects.filter((n) => Object.entries(n.properties!).some(([k, p]) => p.const !== undefined && here !== null && typeof here === "object" && (here as Record<string, unknown>)[k] === p.const));
  if (selected.length > 0) objects = selected;
  return [...new Set(objects.flatMap((n) => Object.keys(n.properties!)))].sort();
}

function variants(n: JsonNode): JsonNode[] {
  const alts = n.oneOf ?? n.anyOf;
  return alts ? alts.flatMap(variants) : [n];
}
