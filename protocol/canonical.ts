/**
 * JSON Canonicalization Scheme (RFC 8785, "JCS").
 *
 * The canonical form is what we hash and sign, so two parties that agree on a value agree on its bytes:
 * - object members sorted by their names' UTF-16 code units (RFC 8785 §3.2.3), which is exactly what
 *   JavaScript's default string comparison does;
 * - numbers serialised as ECMAScript's Number.prototype.toString (§3.2.2.3), which JSON.stringify uses;
 * - strings with the minimal escaping of §3.2.2.2 (JSON.stringify's, once lone surrogates are excluded);
 * - no whitespace.
 * Values JSON cannot represent are rejected rather than silently changed (JSON.stringify would turn NaN into
 * null and drop undefined members, which would make a signed value differ from the one the caller holds).
 */
import { ValidationError } from "./errors.ts";
import { fromUtf8, utf8 } from "./encoding.ts";

/** Maximum nesting accepted; deeper values are refused instead of overflowing the stack. */
export const MAX_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function fail(path: string, what: string): never {
  throw new ValidationError("unsupported", `Cannot canonicalize ${what} at ${path || "the top level"}: JSON cannot represent it`, { path });
}

function str(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) fail(path, "a string with a lone surrogate");
  return JSON.stringify(s);
}

function walk(value: unknown, path: string, depth: number): string {
  if (depth > MAX_DEPTH) fail(path, `a value nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case "string":
      return str(value, path);
    case "number":
      if (!Number.isFinite(value)) fail(path, String(value));
      return JSON.stringify(value); // "-0" becomes "0", as RFC 8785 §3.2.2.3 requires
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i) out += ",";
          if (!(i in value) || value[i] === undefined) fail(`${path}[${i}]`, "undefined (or a hole)");
          out += walk(value[i], `${path}[${i}]`, depth + 1);
        }
        return out + "]";
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail(path, `an instance of ${(value as object).constructor?.name ?? "a class"}`);
      const keys = Object.keys(value).sort();
      let out = "{";
      let first = true;
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue; // absent and undefined members are the same thing in JSON
        // Name the member (escaped, so the message itself stays well-formed) rather than the object holding it.
        if (LONE_SURROGATE.test(k)) fail(`${path}.${JSON.stringify(k).slice(1, -1)}`, "a member name with a lone surrogate");
        if (!first) out += ",";
        first = false;
        out += JSON.stringify(k) + ":" + walk(v, `${path}.${k}`, depth + 1);
      }
      return out + "}";
    }
    default:
      return fail(path, `a ${typeof value}`);
  }
}

/** The RFC 8785 canonical JSON text of `value`. Throws ValidationError for values JSON cannot represent. */
export function canonicalize(value: unknown): string {
  return walk(value, "", 0);
}

/** UTF-8 bytes of the canonical form. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

/** An escape that may stand for a lone surrogate (`\uD800`–`\uDFFF`; a false alarm only costs the slow path). */
const SURROGATE_ESCAPE = /\\u[dD]/;

/** Whether every object in `value` lists its keys in strictly ascending order and nothing is nested too deep. */
function keysSorted(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!keysSorted(v, depth + 1)) return false;
    return true;
  }
  let previous: string | undefined;
  // for…in rather than Object.keys: no array per object. Parsed JSON has no inherited enumerable members.
  for (const k in value) {
    if (previous !== undefined && !(previous < k)) return false;
    previous = k;
    if (!keysSorted((value as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/**
 * The fast check behind `parseCanonical`: `text` is canonical if re-serialising its parsed value gives it back
 * (JSON.stringify writes strings and numbers exactly as `canonicalize` does, and members in key order), every
 * object's keys are already sorted (then that order is the canonical one), and no string can hold a lone
 * surrogate (which `canonicalize` refuses). A false answer proves nothing: the caller then canonicalises, which
 * decides and explains. Checking a bundle line this way costs a fraction of canonicalising it.
 */
function isCanonicalFast(text: string, value: unknown): boolean {
  // keysSorted first: it bounds the depth before JSON.stringify recurses. `includes` before the regular
  // expression: most texts have no `\u` escape at all, and finding that out is cheaper.
  return (!text.includes("\\u") || !SURROGATE_ESCAPE.test(text)) && !LONE_SURROGATE.test(text) && keysSorted(value, 0) && JSON.stringify(value) === text;
}

/**
 * Parses JSON text (or its UTF-8 bytes) and insists it is already canonical, so the bytes a signature covers
 * are exactly the bytes stored. Throws ValidationError `invalid_json` or `not_canonical`, or `unsupported` for
 * JSON that canonical JSON cannot carry (a lone surrogate escape, nesting deeper than MAX_DEPTH).
 */
export function parseCanonical(input: string | Uint8Array): unknown {
  // TextDecoder silently drops a leading byte order mark, which would let bytes other than the canonical ones pass.
  if (typeof input !== "string" && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
    throw new ValidationError("not_canonical", "JSON is not in RFC 8785 canonical form: it starts with a UTF-8 byte order mark", { offset: 0 });
  }
  let text: string;
  try {
    text = typeof input === "string" ? input : fromUtf8(input);
  } catch {
    throw new ValidationError("invalid_json", "Cannot parse JSON: the bytes are not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidationError("invalid_json", `Cannot parse JSON: ${(e as Error).message}`);
  }
  if (isCanonicalFast(text, value)) return value;
  const canonical = canonicalize(value);
  if (canonical !== text) {
    let i = 0;
    while (i < text.length && text[i] === canonical[i]) i++;
    throw new ValidationError("not_canonical", `JSON is not in RFC 8785 canonical form: first difference at character ${i}`, { offset: i });
  }
  return value;
}
