/**
 * Schema validation at the protocol's boundaries. zod parses untrusted input once into typed values; every
 * failure becomes one `ValidationError("schema")` whose message names the field and says what was seen:
 *
 *   timestamps.started_at: expected an RFC 3339 UTC time with milliseconds, got "2026-11-27T22:35:36Z"
 *
 * Field paths are written the way a reader would type them (`entries[3].body.outcome`), so the relay, the CLI
 * and the appliance can show the message as is.
 *
 * Messages go to logs, terminals and HTTP 400 bodies, so a seen value that may hold a secret is never quoted:
 * a field named like a secret (token, password, api_key, secret, …) says only "a value (not shown)", and a
 * URL is shown as its scheme and host alone (its user info, path and query can carry keys: `user:key@host`,
 * a Slack webhook's path).
 */
import { z } from "zod";
import { ValidationError } from "./errors.ts";

type Issue = z.ZodError["issues"][number];

/** At most this many problems are spelled out in one message; the rest are only counted. */
export const MAX_REPORTED_ISSUES = 3;
/** Seen values are quoted up to this many characters, so a message stays one readable line. */
export const MAX_PREVIEW_CHARS = 60;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `["entries", 3, "body"]` → `entries[3].body`; the empty path (the value itself) → `value`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || "value";
}

/** A short, quoted rendering of a value for error messages. */
export function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_PREVIEW_CHARS ? `${text.slice(0, MAX_PREVIEW_CHARS)}…` : text;
}

/** Field names whose values are never quoted: they may be (or contain) a secret. */
const SECRET_FIELD = /token|secret|passw|passphrase|api_?key|private|credential|cookie|authori[sz]ation|^code$|claim/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A URL shown by scheme and host only (`"https://llm.example/…"`); anything after the host is left out. */
function urlPreview(text: string): string {
  let shown: string;
  try {
    const u = new URL(text);
    shown = `${u.protocol}//${u.host}`;
    if (text.length > shown.length || u.username || u.password) shown += "/…";
  } catch {
    shown = `${text.slice(0, text.indexOf("://") + 3)}…`;
  }
  return JSON.stringify(shown);
}

/** A seen value as an error message may show it: quoted (preview), or withheld where it may hold a secret. */
export function seenPreview(value: unknown, path: readonly PropertyKey[]): string {
  if (value === undefined) return "nothing";
  const field = [...path].reverse().find((seg): seg is string => typeof seg === "string");
  if (field !== undefined && SECRET_FIELD.test(field)) return "a value (not shown)";
  if (typeof value === "string" && URL_LIKE.test(value)) return urlPreview(value);
  return preview(value);
}

/** Reads the value at `path` inside `root` (own properties only), or undefined. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function sizeOf(v: unknown, path: readonly PropertyKey[]): string {
  if (typeof v === "string") return `${v.length} characters`;
  if (Array.isArray(v)) return `${v.length} items`;
  return seenPreview(v, path);
}

/** The problem part of one issue (without the path); `path` is where `seen` sat. */
function problem(issue: Issue, seen: unknown, path: readonly PropertyKey[]): string {
  const got = () => seenPreview(seen, path);
  switch (issue.code) {
    case "invalid_type":
      if (seen === undefined) return "required, but missing";
      return `expected ${issue.expected}, got ${got()}`;
    case "invalid_value":
      return `expected ${issue.values.map((v) => preview(v)).join(" | ")}, got ${got()}`;
    case "too_big": {
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" || issue.origin === "set" ? " items" : "";
      return `must be at most ${String(issue.maximum)}${unit}${issue.inclusive === false ? " (exclusive)" : ""}, got ${sizeOf(seen, path)}`;
    }
    case "too_small": {
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" || issue.origin === "set" ? " items" : "";
      return `must be at least ${String(issue.minimum)}${unit}${issue.inclusive === false ? " (exclusive)" : ""}, got ${sizeOf(seen, path)}`;
    }
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator !== undefined) {
        const options = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).map((o) => preview(o)).join(" | ") : "a known value";
        return `expected one of ${options}, got ${got()}`;
      }
      return `${issue.message}, got ${got()}`;
    default:
      return seen === undefined ? issue.message : `${issue.message}, got ${got()}`;
  }
}

/**
 * A union failed in every branch: report the branch that got furthest (its first issue has the longest path),
 * which is nearly always the one the author meant.
 */
function expandUnion(issue: Issue): Issue[] {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
  let best: Issue[] | undefined;
  let bestDepth = -1;
  for (const branch of issue.errors) {
    const depth = branch.reduce((m, i) => Math.max(m, i.path.length), 0);
    if (branch.length && depth > bestDepth) {
      best = branch;
      bestDepth = depth;
    }
  }
  if (!best || bestDepth === 0) return [issue];
  return best.flatMap((i) => expandUnion({ ...i, path: [...issue.path, ...i.path] } as Issue));
}

/**
 * One line per problem: `<path>: <problem>`. `root` is the value that was parsed (to quote what was seen);
 * `at` is where that value sits in the enclosing message, prepended to every path.
 */
export function describeIssues(issues: readonly Issue[], root: unknown, at: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues.flatMap(expandUnion)) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push(`${formatPath([...at, ...issue.path, key])}: unknown field`);
      continue;
    }
    out.push(`${formatPath([...at, ...issue.path])}: ${problem(issue, valueAt(root, issue.path), [...at, ...issue.path])}`);
  }
  return out;
}

/** Where the parsed value sits and what it is called, for messages and details. */
export interface SchemaContext {
  /** Names the value in the error's details, e.g. "order payload". */
  what?: string;
  /** Path of the value inside the enclosing message, prepended to every reported path (e.g. `["params"]`). */
  at?: readonly PropertyKey[];
}

/**
 * Turns a ZodError into `ValidationError("schema", "<path>: <problem>[; …]")`. `root` is the input that
 * failed, so messages can quote what was seen.
 */
export function schemaError(error: z.ZodError, root: unknown, context: SchemaContext | string = {}): ValidationError {
  const { what, at = [] } = typeof context === "string" ? { what: context } : context;
  const lines = describeIssues(error.issues, root, at);
  const shown = lines.slice(0, MAX_REPORTED_ISSUES).join("; ");
  const more = lines.length > MAX_REPORTED_ISSUES ? ` (and ${lines.length - MAX_REPORTED_ISSUES} more problems)` : "";
  const first = error.issues[0];
  return new ValidationError("schema", shown + more, {
    ...(what ? { what } : {}),
    path: formatPath([...at, ...(first?.path ?? [])]),
    problems: lines,
  });
}

/** Parses `value` with `schema`, throwing `ValidationError("schema")` with a precise message on failure. */
export function parseSchema<S extends z.ZodType>(schema: S, value: unknown, context?: SchemaContext | string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw schemaError(result.error, value, context);
  return result.data;
}
