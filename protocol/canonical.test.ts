import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import rfc8785 from "../fixtures/vectors/rfc8785.json" with { type: "json" };
import jcs from "../fixtures/vectors/jcs-testdata.json" with { type: "json" };
import { canonicalBytes, canonicalize, MAX_DEPTH, parseCanonical } from "./canonical.ts";
import { fromHex, toHex, utf8 } from "./encoding.ts";
import { type ValidationCode, ValidationError } from "./errors.ts";

/** Fixed seed and run count so property failures reproduce and the suite stays fast. */
const FC = { seed: 8785, numRuns: 500 } as const;

/** The IEEE-754 double whose 64 bits are `hex` (1 to 16 hex digits, as in the vector files). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

/** Runs `fn`, insists it throws a ValidationError with `code`, and returns the error for further checks. */
function throwsCode(fn: () => unknown, code: ValidationCode): ValidationError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ValidationError);
    const err = e as ValidationError;
    assert.is(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.unreachable(`expected a ValidationError with code ${code}, but nothing was thrown`);
  throw new Error("unreachable");
}

/** Insists `value` is refused as unsupported and that the message and details name `path`. */
function refusedAt(value: unknown, path: string, what: RegExp): void {
  const err = throwsCode(() => canonicalize(value), "unsupported");
  assert.equal(err.details, { path });
  assert.ok(err.message.includes(`at ${path || "the top level"}:`), `message should name the path ${JSON.stringify(path)}: ${err.message}`);
  assert.match(err.message, what);
}

/** UTF-16 code unit order written out explicitly, as RFC 8785 §3.2.3 states it (independent of Array#sort). */
function compareCodeUnits(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** A copy of `value` whose objects were built with their keys inserted in another order (reversed, rotated). */
function reorderKeys(value: unknown, rotation: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorderKeys(v, rotation));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).reverse();
  const k = entries.length ? rotation % entries.length : 0;
  // Object.fromEntries defines properties, so a "__proto__" key stays an ordinary member.
  return Object.fromEntries([...entries.slice(k), ...entries.slice(0, k)].map(([key, v]) => [key, reorderKeys(v, rotation)]));
}

/** `value` with every -0 replaced by 0: the only difference canonicalization may make to a JSON value. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
}

/** Checks for -0 explicitly (uvu's deep equality treats 0 and -0 as equal). */
function hasNegativeZero(value: unknown): boolean {
  if (Object.is(value, -0)) return true;
  if (value === null || typeof value !== "object") return false;
  return Object.values(value).some(hasNegativeZero);
}

function nested(levels: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

// Arbitrary JSON values: fast-check's own, with full-Unicode strings, and one built from fc.double so -0,
// subnormals and extreme magnitudes come up often; object keys are arbitrary well-formed Unicode.
const unicodeKey = fc.string({ unit: "binary", maxLength: 6 });
const { json: doublesJson } = fc.letrec((tie) => ({
  json: fc.oneof(
    { maxDepth: 4, depthIdentifier: "json" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: "binary", maxLength: 12 }),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("json"), { maxLength: 5, depthIdentifier: "json" }),
  object: fc.dictionary(unicodeKey, tie("json"), { maxKeys: 6, noNullPrototype: true, depthIdentifier: "json" }),
}));
const jsonValues: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: "binary" }), doublesJson);
const unicodeObjects = fc.dictionary(unicodeKey, fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }), { minKeys: 1, maxKeys: 10, noNullPrototype: true });

// ---- RFC 8785 vectors ----------------------------------------------------------------------------------

test("canonicalize() serialises every finite number of RFC 8785 Appendix B as the table says", () => {
  const finite = rfc8785.numbers.vectors.filter((v) => v.json !== null);
  assert.is(finite.length, 24);
  for (const { ieee754, json, comment } of finite) {
    const n = fromBits(ieee754);
    assert.is(canonicalize(n), json, `${ieee754} (${comment})`);
    // The text reads back as the same double (minus zero excepted, which becomes zero).
    assert.ok(Object.is(JSON.parse(json!), Object.is(n, -0) ? 0 : n), `${json} reads back as ${ieee754}`);
  }
});

test("canonicalize() refuses the NaN and Infinity rows of RFC 8785 Appendix B", () => {
  const refused = rfc8785.numbers.vectors.filter((v) => v.json === null);
  assert.equal(refused.map((v) => v.ieee754), ["7fffffffffffffff", "7ff0000000000000"]);
  for (const { ieee754 } of refused) refusedAt(fromBits(ieee754), "", /NaN|Infinity/);
});

test("canonicalize() reproduces the RFC 8785 §3.2.2–3.2.4 sample and Appendix E text and bytes", () => {
  assert.is(rfc8785.canonical.length, 2);
  for (const c of rfc8785.canonical) {
    const value: unknown = JSON.parse(c.input);
    assert.is(canonicalize(value), c.canonical, c.name);
    assert.equal(canonicalBytes(value), utf8(c.canonical), c.name);
    if ("utf8_hex" in c) assert.is(toHex(canonicalBytes(value)), c.utf8_hex, c.name);
  }
});

test("canonicalize() orders the RFC 8785 §3.2.3 property names by UTF-16 code units", () => {
  const [sample] = rfc8785.property_order;
  const value = JSON.parse(sample!.input) as Record<string, string>;
  const keyOf = new Map(Object.entries(value).map(([k, v]) => [v, k]));
  const expected = "{" + sample!.values_in_order.map((v) => `${JSON.stringify(keyOf.get(v))}:${JSON.stringify(v)}`).join(",") + "}";
  assert.is(canonicalize(value), expected);
  // The emoji (a surrogate pair, D83D DE00) sorts before U+FB33, the reverse of code point order.
  assert.ok(canonicalize(value).indexOf("\u{1F600}") < canonicalize(value).indexOf("\uFB33"));
});

test("canonicalize() orders the RFC 8785 Appendix C address record as the RFC says", () => {
  const [sample] = rfc8785.key_order;
  const value = JSON.parse(sample!.input) as Record<string, unknown>;
  const expected = "{" + sample!.keys_in_order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(",") + "}";
  assert.is(canonicalize(value), expected);
});

test("canonicalize() matches every input/output pair of cyberphone/json-canonicalization testdata", () => {
  assert.is(jcs.cases.length, 6);
  for (const c of jcs.cases) {
    const value: unknown = JSON.parse(c.input);
    assert.is(canonicalize(value), c.output, c.name);
    if ("utf8_hex" in c && c.utf8_hex) assert.equal(canonicalBytes(value), fromHex(c.utf8_hex), c.name);
  }
});

test("canonicalize() matches the ES6 number sample lines of cyberphone/json-canonicalization", () => {
  assert.is(jcs.es6_numbers.lines.length, 7);
  for (const line of jcs.es6_numbers.lines) {
    const [bits, expected] = line.split(",") as [string, string];
    assert.is(canonicalize(fromBits(bits)), expected, line);
  }
});

// ---- serialisation rules -------------------------------------------------------------------------------

test("canonicalize() writes -0 as 0, wherever it appears", () => {
  assert.is(canonicalize(-0), "0");
  assert.is(canonicalize([-0, 0]), "[0,0]");
  assert.is(canonicalize({ a: { b: -0 } }), '{"a":{"b":0}}');
});

test("canonicalize() escapes only what RFC 8785 §3.2.2.2 says, in lower-case hex", () => {
  const input = "\u0000\u0007\b\t\n\u000b\f\r\u000e\u001f \"\\/\u007f\u0080\u2028\u2029\uFFFF\u{1F600}";
  const expected = String.raw`"\u0000\u0007\b\t\n\u000b\f\r\u000e\u001f \"\\/` + "\u007f\u0080\u2028\u2029\uFFFF\u{1F600}" + '"';
  assert.is(canonicalize(input), expected);
});

test("canonicalize() leaves Unicode unnormalised (RFC 8785 §3.1)", () => {
  assert.is.not(canonicalize("\u00e9"), canonicalize("e\u0301"));
  assert.is(canonicalize({ "e\u0301": 1, "\u00e9": 2 }), '{"e\u0301":1,"\u00e9":2}');
});

test("canonicalize() omits members whose value is undefined, as JSON has no undefined", () => {
  assert.is(canonicalize({ b: 1, a: undefined }), '{"b":1}');
  assert.is(canonicalize({ a: undefined }), "{}");
});

test("canonicalize() accepts objects without a prototype", () => {
  const o = Object.create(null) as Record<string, unknown>;
  o.b = 2;
  o.a = 1;
  assert.is(canonicalize(o), '{"a":1,"b":2}');
});

test("canonicalize() keeps a __proto__ member as an ordinary member", () => {
  const value = JSON.parse('{"z":1,"__proto__":{"x":1}}') as unknown;
  assert.is(canonicalize(value), '{"__proto__":{"x":1},"z":1}');
});

// ---- refusals ------------------------------------------------------------------------------------------

test("canonicalize() refuses NaN, Infinity and -Infinity, naming the path", () => {
  refusedAt(Number.NaN, "", /NaN/);
  refusedAt({ a: [1, { b: Number.POSITIVE_INFINITY }] }, ".a[1].b", /Infinity/);
  refusedAt([Number.NEGATIVE_INFINITY], "[0]", /-Infinity/);
});

test("canonicalize() refuses undefined in arrays and array holes, naming the index", () => {
  refusedAt([1, undefined, 3], "[1]", /undefined/);
  refusedAt({ list: [1, , 3] }, ".list[1]", /hole/);
  refusedAt(new Array(2), "[0]", /hole/);
  refusedAt(undefined, "", /undefined/);
});

test("canonicalize() refuses lone surrogates in strings, naming the path", () => {
  refusedAt("\uD800", "", /lone surrogate/);
  refusedAt({ a: ["ok", "x\uDC00"] }, ".a[1]", /lone surrogate/);
  refusedAt({ a: "\uD83D\uD83D\uDE00" }, ".a", /lone surrogate/); // a high surrogate followed by a pair
  refusedAt({ a: "\uD83D\uDE00\uDE00" }, ".a", /lone surrogate/); // a pair followed by a low surrogate
  assert.is(canonicalize("\uD83D\uDE00"), '"\u{1F600}"');
});

test("canonicalize() refuses lone surrogates in member names, naming the member escaped", () => {
  refusedAt({ "\uD800": 1 }, ".\\ud800", /member name with a lone surrogate/);
  refusedAt({ a: { ["x\uDFFF"]: true } }, ".a.x\\udfff", /member name with a lone surrogate/);
});

test("canonicalize() refuses functions, symbols and bigints, naming the path", () => {
  refusedAt({ f() {} }, ".f", /function/);
  refusedAt([Symbol("s")], "[0]", /symbol/);
  refusedAt({ n: 1n }, ".n", /bigint/);
});

test("canonicalize() refuses class instances such as Date and Map, naming the class and path", () => {
  refusedAt({ at: new Date(0) }, ".at", /instance of Date/);
  refusedAt([new Map([["a", 1]])], "[0]", /instance of Map/);
  refusedAt(new Set(), "", /instance of Set/);
  refusedAt({ u: new Uint8Array(1) }, ".u", /instance of Uint8Array/);
  class Point {
    x = 1;
  }
  refusedAt({ p: new Point() }, ".p", /instance of Point/);
});

test("canonicalize() accepts nesting up to MAX_DEPTH and refuses one level more, naming the path", () => {
  assert.is(MAX_DEPTH, 64);
  assert.is(canonicalize(nested(MAX_DEPTH)), "[".repeat(MAX_DEPTH) + "0" + "]".repeat(MAX_DEPTH));
  refusedAt(nested(MAX_DEPTH + 1), "[0]".repeat(MAX_DEPTH + 1), new RegExp(`nested deeper than ${MAX_DEPTH} levels`));
});

test("canonicalize() refuses a cycle instead of overflowing the stack", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const err = throwsCode(() => canonicalize(cyclic), "unsupported");
  assert.match(err.message, /nested deeper than/);
});

// ---- parseCanonical ------------------------------------------------------------------------------------

test("parseCanonical() returns the value of canonical text and of its UTF-8 bytes", () => {
  const text = rfc8785.canonical[0]!.canonical;
  const expected: unknown = JSON.parse(text);
  assert.equal(parseCanonical(text), expected);
  assert.equal(parseCanonical(utf8(text)), expected);
  assert.equal(parseCanonical('{"a":[1,"\u20ac",null,true]}'), { a: [1, "\u20ac", null, true] });
  assert.is(parseCanonical("0"), 0);
});

test("parseCanonical() rejects non-canonical JSON with not_canonical and the offset of the first difference", () => {
  const cases: [string, number][] = [
    ['{"a": 1}', 5], // whitespace
    [' {"a":1}', 0],
    ['{"a":1}\n', 7],
    ['{"b":1,"a":2}', 2], // key order
    ['"\\u0041"', 1], // needless escape
    ['"\\/"', 1],
    ['"\\u001F"', 6], // upper-case hex
    ["1.0", 1], // number spellings
    ["1e2", 1],
    ["[1E30]", 2],
    ["-0", 0],
    ["0.10", 3],
    ['{"a":1,"a":1}', 6], // duplicate names (I-JSON)
  ];
  for (const [text, offset] of cases) {
    const err = throwsCode(() => parseCanonical(text), "not_canonical");
    assert.equal(err.details, { offset }, text);
    throwsCode(() => parseCanonical(utf8(text)), "not_canonical");
  }
});

test("parseCanonical() rejects UTF-8 bytes that start with a byte order mark", () => {
  const err = throwsCode(() => parseCanonical(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), "not_canonical");
  assert.match(err.message, /byte order mark/);
  throwsCode(() => parseCanonical("\uFEFF{}"), "invalid_json");
});

test("parseCanonical() rejects text that is not JSON with invalid_json", () => {
  for (const text of ["", "{", "{'a':1}", "[1,]", "NaN", "undefined", '{"a":1}}', '"\u0001"', "01"]) {
    const err = throwsCode(() => parseCanonical(text), "invalid_json");
    assert.match(err.message, /^Cannot parse JSON: /);
  }
});

test("parseCanonical() rejects bytes that are not UTF-8 with invalid_json", () => {
  const cases = [
    [0x22, 0xff, 0x22], // never valid
    [0x22, 0xc0, 0xaf, 0x22], // overlong "/"
    [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate (CESU-8)
    [0x22, 0xe2, 0x82, 0x22], // truncated sequence
  ];
  for (const bytes of cases) {
    const err = throwsCode(() => parseCanonical(new Uint8Array(bytes)), "invalid_json");
    assert.match(err.message, /not valid UTF-8/);
  }
});

test("parseCanonical() refuses valid JSON that canonical JSON cannot carry with unsupported", () => {
  throwsCode(() => parseCanonical('"\\ud800"'), "unsupported");
  throwsCode(() => parseCanonical("[".repeat(MAX_DEPTH + 2) + "]".repeat(MAX_DEPTH + 2)), "unsupported");
});

test("parseCanonical() orders integer-like member names by code units, not as JavaScript enumerates them", () => {
  // JavaScript lists "9" before "10"; canonical JSON sorts "10" first. Neither order may fool the check.
  assert.equal(parseCanonical('{"10":1,"9":2,"a":{"10":[],"2":null}}'), { 10: 1, 9: 2, a: { 10: [], 2: null } });
  throwsCode(() => parseCanonical('{"9":2,"10":1}'), "not_canonical");
});

test("parseCanonical() refuses a lone surrogate however it is written, and accepts text that only looks like one", () => {
  throwsCode(() => parseCanonical('"a\\ud800"'), "unsupported"); // escaped, in a string
  throwsCode(() => parseCanonical('{"\\udc00":1}'), "unsupported"); // escaped, in a member name
  throwsCode(() => parseCanonical('["\\uD800"]'), "unsupported"); // upper-case escape
  throwsCode(() => parseCanonical(`"${String.fromCharCode(0xd800)}"`), "unsupported"); // the raw code unit
  throwsCode(() => parseCanonical('"\\ud83d\\ude91"'), "not_canonical"); // a valid pair is written as the character
  assert.is(parseCanonical('"\u{1F691}"'), "\u{1F691}");
  assert.is(parseCanonical('"\\\\ud800"'), "\\ud800"); // a backslash, then the letters "ud800"
});

test("parseCanonical() refuses objects nested deeper than MAX_DEPTH with unsupported, never a RangeError", () => {
  throwsCode(() => parseCanonical('{"a":'.repeat(MAX_DEPTH + 1) + "1" + "}".repeat(MAX_DEPTH + 1)), "unsupported");
  throwsCode(() => parseCanonical('{"a":'.repeat(5_000) + "1" + "}".repeat(5_000)), "unsupported");
  assert.ok(parseCanonical('{"a":'.repeat(MAX_DEPTH) + "1" + "}".repeat(MAX_DEPTH)));
});

// ---- properties ----------------------------------------------------------------------------------------

test("canonicalize() is idempotent through JSON.parse for arbitrary JSON values", () => {
  fc.assert(
    fc.property(jsonValues, (v) => {
      const once = canonicalize(v);
      assert.is(canonicalize(JSON.parse(once)), once);
    }),
    FC,
  );
});

test("parseCanonical() round-trips canonicalize() text and bytes for arbitrary JSON values", () => {
  fc.assert(
    fc.property(jsonValues, (v) => {
      const expected = withoutNegativeZero(v);
      assert.equal(parseCanonical(canonicalize(v)), expected);
      assert.equal(parseCanonical(canonicalBytes(v)), expected);
    }),
    FC,
  );
});

test("canonicalize() output never depends on the insertion order of keys", () => {
  fc.assert(
    fc.property(fc.oneof(jsonValues, unicodeObjects), fc.nat(), (v, rotation) => {
      assert.is(canonicalize(reorderKeys(v, rotation)), canonicalize(v));
    }),
    FC,
  );
});

test("canonicalize() output is JSON equal to the input except that -0 becomes 0", () => {
  fc.assert(
    fc.property(fc.oneof(jsonValues, unicodeObjects), (v) => {
      const parsed: unknown = JSON.parse(canonicalize(v));
      assert.equal(parsed, withoutNegativeZero(v));
      assert.not.ok(hasNegativeZero(parsed));
    }),
    FC,
  );
});

test("canonicalize() orders arbitrary Unicode member names by UTF-16 code units", () => {
  fc.assert(
    fc.property(unicodeObjects, (o) => {
      const keys = Object.keys(o).sort(compareCodeUnits);
      const expected = "{" + keys.map((k) => `${JSON.stringify(k)}:${canonicalize(o[k])}`).join(",") + "}";
      assert.is(canonicalize(o), expected);
    }),
    FC,
  );
});

test("parseCanonical() accepts a JSON text exactly when it is the canonical text of its value", () => {
  fc.assert(
    fc.property(jsonValues, fc.constantFrom(0, 1, 2), (v, indent) => {
      const text = JSON.stringify(v, null, indent);
      if (text === canonicalize(v)) assert.equal(parseCanonical(text), withoutNegativeZero(v));
      else throwsCode(() => parseCanonical(text), "not_canonical");
    }),
    FC,
  );
});

/** Whether `text` is the canonical text of its value, the slow way (the definition the fast check must agree with). */
function isCanonicalByDefinition(text: string): boolean {
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** Small edits that keep many texts valid JSON while breaking (or not) their canonical form. */
const EDITS = [" ", "0", "1", "-", ".", "e", "E", "+", "a", "z", "~", "\\u0041", "\\u001f", "\\u001F", "\\u000a", "\\n", "\\/", "\\ud800", "1.0", "1e2", "-0", '"a":1,', '"a":0,"a":1,', "[]", "{}", "\u00e9", "\u{1F600}"];

test("parseCanonical() agrees with canonicalize() on edited canonical texts (the fast check never says yes wrongly)", () => {
  const fixed = ['{"b":1,"a":2}', '{"a":1,"a":1}', '{"1":1,"a":2}', '{"10":1,"9":2}', '{"9":1,"10":2}', "[1.0]", "[1e2]", "[100]", "[-0]", "[0]", "[1E2]", "[1e+21]", "[1e21]", "[123456789012345678]", "[999999999999999]", "[-999999999999999]", "[0.1]", "[-1.5]", "[5e-324]", '["\\u0041"]', '["\\/"]', '["\\u001f"]', '["\\u001F"]', '["\\u000a"]', '["\\n"]', '["\\ud83d\\ude00"]', '["\u{1F600}"]', '{"a":[],"b":{}}', '{"a":{"c":1,"b":2}}', '{"":1,"a":2}', '{"a":1,"":2}', '{"ab":1,"a":2}', '{"a":1,"ab":2}', '{"a\\"":1}', '{"\\n":1,"\\t":2}', '{"\\t":1,"\\n":2}'];
  let canonical = 0;
  const check = (text: string) => {
    try {
      JSON.parse(text);
    } catch {
      return; // not JSON: parseCanonical refuses it as invalid_json, which other tests cover
    }
    const expected = isCanonicalByDefinition(text);
    let accepted = true;
    try {
      parseCanonical(text);
    } catch {
      accepted = false;
    }
    assert.is(accepted, expected, text);
    if (expected) canonical++;
  };
  fixed.forEach(check);
  fc.assert(
    fc.property(fc.oneof(jsonValues, unicodeObjects), fc.nat(), fc.nat(EDITS.length - 1), fc.boolean(), (v, at, e, replace) => {
      let text: string;
      try {
        text = canonicalize(v);
      } catch {
        return;
      }
      check(text);
      check(JSON.stringify(v));
      const p = at % (text.length + 1);
      check(text.slice(0, p) + EDITS[e]! + text.slice(replace ? p + 1 : p));
    }),
    { ...FC, numRuns: 5000 },
  );
  assert.ok(canonical > 1000, `only ${canonical} canonical texts were tried`);
});

test.run();
