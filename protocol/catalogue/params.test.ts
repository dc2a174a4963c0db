import { test } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { catalogue } from "./mod.ts";
import { assertParams, defaultsOf, JSON_SCHEMA_DIALECT, NO_PARAMS, paramsSchemaSchema, toJsonSchema, validateParams, type ParamsSchema } from "./params.ts";

const schema: ParamsSchema = paramsSchemaSchema.parse({
  type: "object",
  additionalProperties: false,
  required: ["unit"],
  properties: {
    unit: { type: "string", description: "systemd unit", max: 40, pattern: "^[a-z-]+\\.service$" },
    timeout_s: { type: "integer", description: "seconds to wait", min: 30, max: 600, default: 120 },
    dry_run: { type: "boolean", description: "only say what would happen", default: false },
    mode: { type: "enum", description: "healing mode", values: ["observe", "advise", "enforce"] },
    allowed: { type: "string_list", description: "allowed names", max: 3, item_max: 20, item_pattern: "^[A-Za-z ]+$", default: ["Administrator"] },
    runbook_params: { type: "object", description: "a runbook's own parameters", max: 4 },
  },
});

function fail(input: unknown) {
  const r = validateParams(schema, input);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return r.issues;
}

test("validateParams() accepts valid input and fills in defaults", () => {
  const r = validateParams(schema, { unit: "clamav-daemon.service", mode: "enforce" });
  assert.equal(r, { ok: true, value: { unit: "clamav-daemon.service", timeout_s: 120, dry_run: false, mode: "enforce", allowed: ["Administrator"] } });
});

test("validateParams() keeps given values over defaults and accepts flat objects", () => {
  const r = validateParams(schema, { unit: "a.service", timeout_s: 30, allowed: [], runbook_params: { keep: 3, names: ["x"], on: true } });
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.value.timeout_s, 30);
    assert.equal(r.value.allowed, []);
    assert.equal(r.value.runbook_params, { keep: 3, names: ["x"], on: true });
  }
});

test("validateParams() rejects a missing required field, naming it", () => {
  const issues = fail({});
  assert.equal(issues, [{ field: "unit", code: "missing", message: "'unit' is required but missing" }]);
});

test("validateParams() rejects unknown fields (additionalProperties is always false)", () => {
  const issues = fail({ unit: "a.service", script: "rm -rf /" });
  assert.is(issues[0]?.code, "unknown_field");
  assert.match(issues[0]?.message ?? "", /'script' is not a parameter here/);
});

test("validateParams() rejects values outside bounds with the bound and the current value", () => {
  assert.equal(fail({ unit: "a.service", timeout_s: 900 })[0], { field: "timeout_s", code: "too_large", message: "'timeout_s' must be at most 600: current value is 900" });
  assert.is(fail({ unit: "a.service", timeout_s: 10 })[0]?.code, "too_small");
  assert.is(fail({ unit: "a.service", timeout_s: 1.5 })[0]?.code, "type");
  assert.is(fail({ unit: "a.service", timeout_s: "60" })[0]?.code, "type");
});

test("validateParams() checks patterns, enums, booleans and lists item by item", () => {
  assert.equal(fail({ unit: "a; reboot" })[0], { field: "unit", code: "pattern", message: "'unit' must match ^[a-z-]+\\.service$: current value is \"a; reboot\"" });
  assert.match(fail({ unit: "a.service", mode: "yolo" })[0]?.message ?? "", /'mode' must be one of observe, advise, enforce: current value is "yolo"/);
  assert.is(fail({ unit: "a.service", dry_run: "yes" })[0]?.code, "type");
  assert.equal(fail({ unit: "a.service", allowed: ["ok", "bad!"] })[0]?.field, "allowed[1]");
  assert.is(fail({ unit: "a.service", allowed: ["a", "b", "c", "d"] })[0]?.code, "too_large");
  assert.is(fail({ unit: "a.service", runbook_params: { nested: { x: 1 } } })[0]?.field, "runbook_params.nested");
});

test("validateParams() reports every problem at once", () => {
  const issues = fail({ timeout_s: 0, mode: 1, extra: true });
  assert.equal(issues.map((i) => i.field).sort(), ["extra", "mode", "timeout_s", "unit"]);
});

test("validateParams() refuses non-objects", () => {
  for (const v of [null, [], "x", 3]) assert.is(fail(v)[0]?.code, "not_object");
});

test("NO_PARAMS accepts only the empty object", () => {
  assert.equal(validateParams(NO_PARAMS, {}), { ok: true, value: {} });
  assert.is(validateParams(NO_PARAMS, { a: 1 }).ok, false);
});

test("assertParams() throws a ValidationError whose message names the label and the field", () => {
  assert.throws(() => assertParams(schema, { unit: 7 }, "order ord_12345678 (restart_service)"), (e: Error) => e.name === "ValidationError" && /order ord_12345678 \(restart_service\): 'unit' must be a string/.test(e.message));
});

test("defaultsOf() lists the defaults, copied", () => {
  const d = defaultsOf(schema);
  assert.equal(d, { timeout_s: 120, dry_run: false, allowed: ["Administrator"] });
  (d.allowed as string[]).push("x");
  assert.equal(defaultsOf(schema).allowed, ["Administrator"]);
});

test("paramsSchemaSchema rejects unanchored patterns, invalid defaults, unknown required names and inverted bounds", () => {
  const base = { type: "object", additionalProperties: false, required: [] };
  const bad = [
    { ...base, properties: { a: { type: "string", description: "abc", max: 5, pattern: "[a-z]+" } } },
    { ...base, properties: { a: { type: "integer", description: "abc", min: 1, max: 5, default: 9 } } },
    { ...base, properties: { a: { type: "integer", description: "abc", min: 6, max: 5 } } },
    { ...base, required: ["b"], properties: { a: { type: "boolean", description: "abc" } } },
    { ...base, properties: { a: { type: "string", description: "abc" } } },
    { ...base, additionalProperties: true, properties: {} },
    { ...base, properties: { "Bad-Name": { type: "boolean", description: "abc" } } },
  ];
  for (const s of bad) assert.is(paramsSchemaSchema.safeParse(s).success, false, JSON.stringify(s));
});

test("toJsonSchema() writes each property type as JSON Schema (2020-12), with bounds, patterns, required and defaults", () => {
  assert.equal(toJsonSchema(schema), {
    $schema: JSON_SCHEMA_DIALECT,
    type: "object",
    properties: {
      unit: { type: "string", description: "systemd unit", maxLength: 40, pattern: "^[a-z-]+\\.service$" },
      timeout_s: { type: "integer", description: "seconds to wait", minimum: 30, maximum: 600, default: 120 },
      dry_run: { type: "boolean", description: "only say what would happen", default: false },
      mode: { type: "string", description: "healing mode", enum: ["observe", "advise", "enforce"] },
      allowed: { type: "array", description: "allowed names", maxItems: 3, items: { type: "string", maxLength: 20, pattern: "^[A-Za-z ]+$" }, default: ["Administrator"] },
      runbook_params: {
        type: "object",
        description: "a runbook's own parameters",
        maxProperties: 4,
        propertyNames: { pattern: "^[a-z][a-z0-9_]{0,63}$" },
        additionalProperties: { anyOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "array", items: { type: "string" } }] },
      },
    },
    required: ["unit"],
    additionalProperties: false,
  });
  assert.equal(toJsonSchema(NO_PARAMS), { $schema: JSON_SCHEMA_DIALECT, type: "object", properties: {}, required: [], additionalProperties: false });
});

test("toJsonSchema() accepts and refuses what validateParams() does (checked with zod's JSON Schema reader)", () => {
  const js = z.fromJSONSchema(toJsonSchema(schema) as Parameters<typeof z.fromJSONSchema>[0]);
  const unit = "nginx.service";
  const inputs: unknown[] = [
    { unit },
    {},
    { unit: "Nginx.service" },
    { unit: "a".repeat(33) + ".service" },
    { unit, timeout_s: 29 },
    { unit, timeout_s: 600 },
    { unit, timeout_s: 1.5 },
    { unit, dry_run: "yes" },
    { unit, mode: "advise" },
    { unit, mode: "fix" },
    { unit, allowed: ["a", "b", "c", "d"] },
    { unit, allowed: ["a1"] },
    { unit, allowed: ["x".repeat(21)] },
    { unit, runbook_params: { a: 1, b: null, c: ["x"], d: true } },
    { unit, runbook_params: { A: 1 } },
    { unit, runbook_params: { a: {} } },
    { unit, runbook_params: { a: 1, b: 1, c: 1, d: 1, e: 1 } },
    { unit, extra: 1 },
    [],
    "nginx.service",
  ];
  for (const input of inputs) assert.is(js.safeParse(input).success, validateParams(schema, input).ok, JSON.stringify(input));
});

test("every runbook's and order type's parameter schema in the catalogue converts, and its defaults pass both ways alike", () => {
  const schemas = [...catalogue.listRunbooks().map((r) => [r.id, r.params_schema] as const), ...catalogue.listOrderTypes().map((o) => [o.type, o.params_schema] as const)];
  assert.ok(schemas.length > 10);
  for (const [id, s] of schemas) {
    const js = z.fromJSONSchema(toJsonSchema(s) as Parameters<typeof z.fromJSONSchema>[0]);
    assert.is(js.safeParse(defaultsOf(s)).success, validateParams(s, defaultsOf(s)).ok, id);
    assert.is(js.safeParse({ not_a_parameter: 1 }).success, false, `${id}: unknown fields are refused`);
  }
});

test.run();
