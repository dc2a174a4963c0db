import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { utf8 } from "./encoding.ts";
import {
  ID_PATTERN,
  idSchema,
  ISO_TIME_PATTERN,
  isId,
  isIsoTime,
  isoTime,
  isoTimeSchema,
  keyIdSchema,
  MAX_TIME_MS,
  newId,
  newNonce,
  nonceSchema,
  parseIsoTime,
  prefixedIdSchema,
  sha256HexSchema,
  signatureHexSchema,
  toBase32Lower,
} from "./ids.ts";

/** Deterministic "random" bytes for tests: a counter. */
function counter(start = 0): (n: number) => Uint8Array {
  let next = start;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

test("toBase32Lower() matches the RFC 4648 §10 vectors in lower case", () => {
  const vectors: [string, string][] = [["", ""], ["f", "my"], ["fo", "mzxq"], ["foo", "mzxw6"], ["foob", "mzxw6yq"], ["fooba", "mzxw6ytb"], ["foobar", "mzxw6ytboi"]];
  for (const [plain, enc] of vectors) assert.is(toBase32Lower(utf8(plain)), enc);
});

test("newId() makes <prefix>_<26 base32 characters> from 16 random bytes", () => {
  const id = newId("app", counter());
  assert.is(id, `app_${toBase32Lower(Uint8Array.from({ length: 16 }, (_, i) => i))}`);
  assert.ok(ID_PATTERN.test(id));
  assert.is(id.length, 4 + 26);
  assert.is.not(newId("app", counter(1)), id);
  assert.ok(isId(id));
});

test("newId() refuses a prefix that is not lower-case letters", () => {
  assert.throws(() => newId("App", counter()), /prefix must be 1-16 lower-case letters, current value is "App"/);
  assert.throws(() => newId("", counter()), TypeError);
  assert.throws(() => newId("site_x", counter()), TypeError);
  assert.throws(() => newId("app", () => new Uint8Array(3)), /must return 16 bytes/);
});

test("idSchema accepts the documented id shape only", () => {
  for (const ok of ["app_12345678", "site_abcdefgh0123", `x_${"a".repeat(40)}`]) assert.ok(idSchema.safeParse(ok).success, ok);
  for (const bad of ["app_1234567", `x_${"a".repeat(41)}`, "APP_12345678", "app-12345678", "app_1234567A", "_12345678", "app_12345678 "]) {
    assert.not.ok(idSchema.safeParse(bad).success, bad);
  }
  assert.ok(prefixedIdSchema("site").safeParse("site_12345678").success);
  assert.not.ok(prefixedIdSchema("site").safeParse("app_12345678").success);
});

test("isoTime() formats milliseconds as RFC 3339 UTC with three fractional digits", () => {
  assert.is(isoTime(0), "1970-01-01T00:00:00.000Z");
  assert.is(isoTime(1795817736123), "2026-11-27T22:15:36.123Z");
  assert.is(parseIsoTime(isoTime(1795817736123)), 1795817736123);
  assert.is(isoTime(MAX_TIME_MS), "9999-12-31T23:59:59.999Z");
});

test("isoTime() refuses values that have no wire form", () => {
  for (const bad of [-1, 1.5, NaN, MAX_TIME_MS + 1]) assert.throws(() => isoTime(bad), RangeError);
});

test("parseIsoTime() accepts only real times in the exact wire format", () => {
  for (const bad of ["2026-11-27T22:35:36Z", "2026-11-27T22:35:36.12Z", "2026-11-27T22:35:36.123+00:00", "2026-11-27 22:35:36.123Z", "2026-02-30T00:00:00.000Z", "2026-11-27T24:00:00.000Z", "2026-11-27t22:35:36.123z"]) {
    assert.ok(Number.isNaN(parseIsoTime(bad)), bad);
    assert.not.ok(isIsoTime(bad), bad);
  }
  assert.ok(isIsoTime("2024-02-29T23:59:59.999Z"));
  const r = isoTimeSchema.safeParse("2026-11-27T22:35:36Z");
  assert.not.ok(r.success);
  assert.match(r.error!.issues[0]!.message, /RFC 3339 UTC time with milliseconds/);
});

test("newNonce() encodes 16 random bytes as 22 base64url characters that nonceSchema accepts", () => {
  const n = newNonce(counter());
  assert.is(n.length, 22);
  assert.ok(nonceSchema.safeParse(n).success);
  assert.ok(nonceSchema.safeParse(newNonce(() => new Uint8Array(16).fill(255))).success);
  assert.throws(() => newNonce(() => new Uint8Array(15)), /must return 16 bytes/);
});

test("nonceSchema refuses other lengths and non-canonical final characters", () => {
  const n = newNonce(counter());
  for (const bad of [n.slice(1), n + "A", `${n.slice(0, 21)}B`, `${n.slice(0, 21)}=`, n.replace(/./, "+")]) assert.not.ok(nonceSchema.safeParse(bad).success, bad);
});

test("hex schemas accept lower-case digits of the right length only", () => {
  assert.ok(sha256HexSchema.safeParse("a".repeat(64)).success);
  assert.not.ok(sha256HexSchema.safeParse("A".repeat(64)).success);
  assert.not.ok(sha256HexSchema.safeParse("a".repeat(63)).success);
  assert.ok(signatureHexSchema.safeParse("0".repeat(128)).success);
  assert.ok(keyIdSchema.safeParse("0123456789abcdef").success);
  assert.not.ok(keyIdSchema.safeParse("0123456789abcdeg").success);
});

/** The definition parseIsoTime must agree with: the wire pattern, and a date that formats back to the same text. */
function parseIsoTimeByDefinition(text: string): number {
  if (!ISO_TIME_PATTERN.test(text)) return NaN;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms : NaN;
}

test("parseIsoTime() agrees with Date.parse and a round trip on real times and on edited ones", () => {
  for (const t of ["0000-01-01T00:00:00.000Z", "0000-02-29T12:00:00.000Z", "0001-02-29T00:00:00.000Z", "0099-12-31T23:59:59.999Z", "1900-02-29T00:00:00.000Z", "2000-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-12-31T23:59:60.000Z"]) {
    assert.ok(Object.is(parseIsoTime(t), parseIsoTimeByDefinition(t)), t);
  }
  const earliest = Date.UTC(0, 0, 1) - 1900 * 365.2425 * 86_400_000; // about year 0
  fc.assert(
    fc.property(fc.integer({ min: Math.ceil(earliest), max: MAX_TIME_MS }), fc.nat(23), fc.constantFrom("0", "1", "2", "3", "5", "9", "-", ":", "T", ".", "Z", " ", "a"), (ms, at, c) => {
      const text = new Date(ms).toISOString();
      assert.ok(Object.is(parseIsoTime(text), parseIsoTimeByDefinition(text)), text);
      const edited = text.slice(0, at) + c + text.slice(at + 1);
      assert.ok(Object.is(parseIsoTime(edited), parseIsoTimeByDefinition(edited)), edited);
    }),
    { seed: 3339, numRuns: 20_000 },
  );
});

test.run();
