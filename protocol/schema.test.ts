import { test } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { ValidationError } from "./errors.ts";
import { formatPath, MAX_REPORTED_ISSUES, parseSchema, preview, schemaError } from "./schema.ts";

const message = z.strictObject({
  appliance_id: z.string().regex(/^app_[a-z0-9]{8}$/, "expected an appliance id"),
  mode: z.enum(["observe", "advise", "enforce"]),
  timestamps: z.strictObject({ started_at: z.string(), finished_at: z.string() }),
  entries: z.array(
    z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("heartbeat"), body: z.strictObject({ backlog: z.number().int().min(0) }) }),
      z.strictObject({ type: z.literal("evidence"), body: z.string().max(5) }),
    ]),
  ),
});

const good = { appliance_id: "app_12345678", mode: "enforce", timestamps: { started_at: "a", finished_at: "b" }, entries: [] };

function failure(value: unknown): ValidationError {
  try {
    parseSchema(message, value, "test message");
  } catch (e) {
    assert.instance(e, ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

test("formatPath() writes paths the way a reader types them", () => {
  assert.is(formatPath(["entries", 3, "body", "outcome"]), "entries[3].body.outcome");
  assert.is(formatPath([]), "value");
  assert.is(formatPath(["odd key", 0]), '["odd key"][0]');
  assert.is(formatPath([0, "a"]), "[0].a");
});

test("preview() quotes values as JSON and shortens long ones", () => {
  assert.is(preview("x"), '"x"');
  assert.is(preview(undefined), "nothing");
  assert.ok(preview("y".repeat(500)).endsWith("…"));
});

test("parseSchema() returns the typed value when it matches", () => {
  assert.equal(parseSchema(message, good), good);
});

test("a wrong value is reported with its path and what was seen", () => {
  const e = failure({ ...good, appliance_id: "Clinic 1" });
  assert.is(e.code, "schema");
  assert.is(e.message, 'appliance_id: expected an appliance id, got "Clinic 1"');
  assert.is(e.details?.["path"], "appliance_id");
  assert.is(e.details?.["what"], "test message");
});

test("a value that may hold a secret is never quoted: secret-named fields are withheld, URLs show scheme and host only", () => {
  const settings = z.strictObject({
    url: z.string().superRefine((u, ctx) => {
      if (u.includes("@")) ctx.addIssue({ code: "custom", message: "must not carry credentials (use api_key_file)" });
    }),
    webhook: z.string().startsWith("https://"),
    token: z.string().regex(/^[a-f0-9]{64}$/, "expected 64 hex characters"),
    api_key: z.string().min(20),
    name: z.string().max(3),
  });
  const fail = (v: object) => {
    try {
      parseSchema(settings, { url: "https://llm.example/v1", webhook: "https://hooks.example/x", token: "a".repeat(64), api_key: "k".repeat(20), name: "ok", ...v });
    } catch (e) {
      return (e as ValidationError).message;
    }
    throw new Error("expected a ValidationError");
  };
  const secret = "sk-proj-0123456789abcdef";
  const url = fail({ url: `https://key:${secret}@llm.example/v1/chat/completions` });
  assert.is(url, 'url: must not carry credentials (use api_key_file), got "https://llm.example/…"');
  const hook = fail({ webhook: "http://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX" });
  assert.ok(hook.includes('"http://hooks.slack.com/…"') && !hook.includes("XXXX"), hook);
  assert.is(fail({ token: `magic-${secret}` }), "token: expected 64 hex characters, got a value (not shown)");
  assert.is(fail({ api_key: 12345 }), "api_key: expected string, got a value (not shown)");
  assert.is(fail({ name: "Clinic" }), "name: must be at most 3 characters, got 6 characters", "sizes are still said");
  assert.is(fail({ name: 7 }), "name: expected string, got 7", "other values are still quoted");
});

test("a missing field is reported as required, but missing", () => {
  const e = failure({ ...good, timestamps: { started_at: "a" } });
  assert.is(e.message, "timestamps.finished_at: required, but missing");
});

test("an unknown field is named", () => {
  const e = failure({ ...good, extra: 1 });
  assert.is(e.message, "extra: unknown field");
});

test("an enum failure lists the allowed values and the value seen", () => {
  const e = failure({ ...good, mode: "yolo" });
  assert.is(e.message, 'mode: expected "observe" | "advise" | "enforce", got "yolo"');
});

test("a discriminated union names the bad discriminator and the options", () => {
  const e = failure({ ...good, entries: [{ type: "bogus", body: 1 }] });
  assert.is(e.message, 'entries[0].type: expected one of "heartbeat" | "evidence", got "bogus"');
});

test("a problem inside a union branch is reported at its full path", () => {
  const e = failure({ ...good, entries: [{ type: "evidence", body: "x" }, { type: "heartbeat", body: { backlog: -1 } }] });
  assert.is(e.message, "entries[1].body.backlog: must be at least 0, got -1");
  const long = failure({ ...good, entries: [{ type: "evidence", body: "toolong" }] });
  assert.is(long.message, "entries[0].body: must be at most 5 characters, got 7 characters");
});

test("many problems are capped and counted", () => {
  const e = failure({ appliance_id: 1, mode: 2, timestamps: 3, entries: 4, a: 5 });
  assert.is(e.message.split("; ").length, MAX_REPORTED_ISSUES);
  assert.match(e.message, /\(and 2 more problems\)$/);
  assert.is((e.details?.["problems"] as string[]).length, MAX_REPORTED_ISSUES + 2);
});

test("schemaError() can root paths inside an enclosing message", () => {
  const r = z.strictObject({ port: z.number() }).safeParse({ port: "22" });
  assert.not.ok(r.success);
  const e = schemaError(r.error!, { port: "22" }, { what: "params", at: ["params"] });
  assert.is(e.message, 'params.port: expected number, got "22"');
  assert.is(e.details?.["path"], "params.port");
});

test.run();
