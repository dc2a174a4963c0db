import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, generateKeyPair, keyId } from "./crypto.ts";
import { fromBase64Url } from "./encoding.ts";
import { signEnvelope, type TrustedKey } from "./envelope.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { type Rule, RULESET_SCHEMA, type RulesetPayload, signRuleset, verifyRuleset } from "./ruleset.ts";

const relay = generateKeyPair(new Uint8Array(32).fill(7));
const signer = createSigner(relay.secretKey);
const relayKeys: TrustedKey[] = [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }];

const rule: Rule = {
  id: "L1-BITLOCKER-001",
  check: "windows.bitlocker",
  platform: "windows",
  conditions: [
    { fact: "bitlocker.status", op: "eq", value: "off" },
    { fact: "tpm.present", op: "exists", value: true },
  ],
  runbook: "windows.enable_bitlocker",
  params: { drive: "C:" },
  priority: 10,
  source: "builtin",
};
const ruleset = (version: number, rules: unknown[] = [rule]) => ({ schema: RULESET_SCHEMA, version, issued_at: "2026-11-27T12:00:00.000Z", rules }) as RulesetPayload;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

test("verifyRuleset() returns the payload and the SHA-256 of the signed payload bytes", async () => {
  const env = await signRuleset(ruleset(3), signer);
  const { payload, hash } = await verifyRuleset(env, { relayKeys, currentVersion: 2 });
  assert.equal(payload, ruleset(3));
  assert.is(hash, sha256Hex(fromBase64Url(env.payload)));
});

test("a first rule set is accepted when no version is in force", async () => {
  const env = await signRuleset(ruleset(1), signer);
  assert.is((await verifyRuleset(env, { relayKeys })).payload.version, 1);
  assert.is((await verifyRuleset(env, { relayKeys, currentVersion: null })).payload.version, 1);
});

test("a replayed rule set at or below the version in force is refused as stale_version", async () => {
  const env = await signRuleset(ruleset(5), signer);
  for (const current of [5, 6]) {
    const e = await rejection(verifyRuleset(env, { relayKeys, currentVersion: current }));
    assert.instance(e, IntegrityError);
    assert.is((e as IntegrityError).code, "stale_version");
    assert.is(e.message, `version: rule set version 5 is not newer than version ${current} in force`);
  }
});

test("a rule set from an unpinned key or with a changed payload is refused", async () => {
  const stranger = await signRuleset(ruleset(9), createSigner(new Uint8Array(32).fill(8)));
  assert.is(((await rejection(verifyRuleset(stranger, { relayKeys }))) as IntegrityError).code, "unknown_key");
  const env = await signRuleset(ruleset(9), signer);
  const other = await signRuleset(ruleset(10), signer);
  assert.is(((await rejection(verifyRuleset({ ...env, payload: other.payload }, { relayKeys }))) as IntegrityError).code, "bad_signature");
});

test("a rule set signed as an order is not accepted as a rule set", async () => {
  const env = await signEnvelope("order", ruleset(4), signer);
  assert.is(((await rejection(verifyRuleset(env, { relayKeys }))) as IntegrityError).code, "bad_signature");
});

test("condition values are checked per op, naming the field", async () => {
  const cases: [unknown, string][] = [
    [{ ...rule, conditions: [{ fact: "a.b", op: "in", value: "x" }] }, 'rules[0].conditions[0].value: expected array, got "x"'],
    [{ ...rule, conditions: [{ fact: "a.b", op: "exists", value: "yes" }] }, 'rules[0].conditions[0].value: expected boolean, got "yes"'],
    [{ ...rule, conditions: [{ fact: "a.b", op: "like", value: "x" }] }, 'rules[0].conditions[0].op: expected one of "eq" | "ne" | "contains" | "gt" | "gte" | "lt" | "lte" | "in" | "not_in" | "exists" | "regex", got "like"'],
    [{ ...rule, conditions: [{ fact: "a..b", op: "eq", value: 1 }] }, 'rules[0].conditions[0].fact: expected a dotted fact path like disk.encryption.status, got "a..b"'],
    [{ ...rule, conditions: [{ fact: "a.b", op: "eq" }] }, "rules[0].conditions[0].value: required, but missing"],
    [{ ...rule, conditions: [{ fact: "a.b", op: "regex", value: "x".repeat(257) }] }, "rules[0].conditions[0].value: must be at most 256 characters, got 257 characters"],
    [{ ...rule, source: "manual" }, 'rules[0].source: expected "builtin" | "promoted", got "manual"'],
    [{ ...rule, priority: 1.5 }, "rules[0].priority: expected int, got 1.5"],
  ];
  for (const [bad, message] of cases) {
    const e = await rejection(signRuleset(ruleset(1, [bad]), signer));
    assert.instance(e, ValidationError);
    assert.is(e.message, message);
  }
});

test("rule ids must be unique within a set", async () => {
  const e = await rejection(signRuleset(ruleset(1, [rule, { ...rule, priority: 1 }]), signer));
  assert.is(e.message, 'rules[1].id: duplicates rule id "L1-BITLOCKER-001", got "L1-BITLOCKER-001"');
});

test.run();
