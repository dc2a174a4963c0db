import { test } from "uvu";
import * as assert from "uvu/assert";
import { catalogue, validateParams } from "../../protocol/catalogue/mod.ts";
import { createSigner, generateKeyPair, keyId } from "../../protocol/crypto.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { IntegrityError } from "../../protocol/errors.ts";
import { RULESET_SCHEMA, signRuleset, type Rule } from "../../protocol/ruleset.ts";
import { FakeClock, recordingLog, tempStore } from "./_test-fakes.ts";
import { HealError } from "./errors.ts";
import { isEncryptionCheck } from "./policy.ts";
import { builtinRules, ruleProblems, RuleBook, runbookAddresses } from "./rules.ts";

const relay = generateKeyPair(new Uint8Array(32).fill(9));
const signer = createSigner(relay.secretKey);
const relayKeys: TrustedKey[] = [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }];
const stranger = createSigner(generateKeyPair(new Uint8Array(32).fill(3)).secretKey);

const promoted: Rule = {
  id: "promoted.linux.failed_services_gentle",
  check: "linux.failed_services",
  platform: "linux",
  conditions: [{ fact: "services.failed_units", op: "exists", value: true }],
  runbook: "linux.restart_failed_units",
  params: { max_units: 2 },
  priority: 50,
  source: "promoted",
};
const set = (version: number, rules: Rule[]) => ({ schema: RULESET_SCHEMA, version, issued_at: "2026-11-27T12:00:00.000Z", rules }) as const;

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

async function withBook(fn: (book: RuleBook, ctx: Awaited<ReturnType<typeof tempStore>>) => Promise<void>): Promise<void> {
  const ctx = await tempStore();
  try {
    const book = await RuleBook.open({ catalogue, store: ctx.store, relayKeys: () => relayKeys, clock: new FakeClock(), log: recordingLog() });
    await fn(book, ctx);
  } finally {
    await ctx.done();
  }
}

test("every built-in rule names a runbook that fixes the rule's own check on the rule's platform, with valid params", () => {
  const rules = builtinRules(catalogue);
  assert.ok(rules.length >= 30, `expected the shipped built-in rules, got ${rules.length}`);
  for (const rule of rules) {
    const runbook = catalogue.getRunbook(rule.runbook);
    const check = catalogue.getCheck(rule.check);
    assert.ok(runbookAddresses(runbook, rule.check, rule.platform), `${rule.id}: ${runbook.id} fixes ${runbook.check} on ${runbook.platform}, rule is for ${rule.check} on ${rule.platform}`);
    assert.is(check.platform, rule.platform, `${rule.id}: check platform`);
    assert.ok(validateParams(runbook.params_schema, rule.params).ok, `${rule.id}: params`);
    assert.not.ok(isEncryptionCheck(check), `${rule.id}: auto-fixes an encryption check`);
  }
  assert.equal(ruleProblems(rules, catalogue), []);
});

test("ruleProblems() names a rule that maps a check to another check's runbook (the seed's Defender → lockout bug)", () => {
  const wrong: Rule = { ...promoted, id: "bad.defender", check: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_firewall_profiles", params: {}, conditions: [] };
  const problems = ruleProblems([wrong], catalogue);
  assert.equal(problems, ["rule bad.defender: runbook windows.enable_firewall_profiles fixes windows.firewall_profiles on windows, not windows.defender_realtime on windows"]);
});

test("ruleProblems() names unknown runbooks, platform mismatches, bad params, encryption checks and unsafe regexes", () => {
  const table: [Rule, RegExp][] = [
    [{ ...promoted, id: "r.unknown", runbook: "linux.does_not_exist" }, /runbook linux.does_not_exist is not in catalogue/],
    [{ ...promoted, id: "r.platform", platform: "windows" }, /fixes linux.failed_services on linux, not linux.failed_services on windows/],
    [{ ...promoted, id: "r.params", params: { max_units: 500 } }, /'max_units' must be at most 20/],
    [{ ...promoted, id: "r.params2", params: { script: "rm -rf /" } }, /'script' is not a parameter here/],
    [{ ...promoted, id: "r.encryption", check: "windows.bitlocker", platform: "windows", runbook: "windows.enable_firewall_profiles", params: {} }, /encryption check, which is never fixed automatically/],
    [{ ...promoted, id: "r.regex", conditions: [{ fact: "services.failed_units.0", op: "regex", value: "(a+)+$" }] }, /nests quantifiers/],
  ];
  for (const [rule, message] of table) {
    const problems = ruleProblems([rule], catalogue);
    assert.ok(problems.some((p) => message.test(p)), `${rule.id}: ${problems.join(" | ")}`);
  }
});

test("RuleBook starts with the built-in rules and selects by check, platform and facts", async () => {
  await withBook(async (book) => {
    assert.is(book.version, null);
    assert.is(book.hash, null);
    assert.is(book.select({ check: "windows.firewall_profiles", platform: "windows", facts: {} })?.runbook, "windows.enable_firewall_profiles");
    assert.is(book.select({ check: "windows.firewall_profiles", platform: "linux", facts: {} }), null, "another platform");
    assert.is(book.select({ check: "linux.sshd_root_login", platform: "linux", facts: { sshd: { installed: false } } }), null, "conditions must hold");
    assert.is(book.select({ check: "linux.sshd_root_login", platform: "linux", facts: { sshd: { installed: true } } })?.runbook, "linux.sshd_disable_root_login");
    assert.is(book.select({ check: "windows.bitlocker", platform: "windows", facts: {} }), null, "no rule ever fixes encryption");
  });
});

test("RuleBook.install() puts a verified set in force atomically, stores it, and a reopened book loads it", async () => {
  await withBook(async (book, ctx) => {
    const env = await signRuleset(set(4, [promoted]), signer);
    const verified = await book.install(env);
    assert.is(book.version, 4);
    assert.is(book.hash, verified.hash);
    assert.is(book.select({ check: "linux.failed_services", platform: "linux", facts: { services: { failed_units: ["a.service"] } } })?.id, promoted.id, "higher priority promoted rule wins");
    const row = (await ctx.store.execute("SELECT version, hash FROM ruleset WHERE id = 1")).rows[0]!;
    assert.is(Number(row.version), 4);
    assert.is(String(row.hash), verified.hash);
    const reopened = await RuleBook.open({ catalogue, store: ctx.store, relayKeys: () => relayKeys, clock: new FakeClock(), log: recordingLog() });
    assert.is(reopened.version, 4);
    assert.is(reopened.select({ check: "linux.failed_services", platform: "linux", facts: { services: { failed_units: ["a.service"] } } })?.id, promoted.id);
  });
});

test("RuleBook.install() lets a signed rule override the built-in rule with the same id", async () => {
  await withBook(async (book) => {
    const builtin = book.rules().find((r) => r.id === "builtin.linux.failed_services")!;
    await book.install(await signRuleset(set(1, [{ ...builtin, params: { max_units: 1 } }]), signer));
    const matching = book.rules().filter((r) => r.id === "builtin.linux.failed_services");
    assert.is(matching.length, 1);
    assert.equal(matching[0]!.params, { max_units: 1 });
  });
});

test("RuleBook.install() refuses a whole set when one rule maps a check to the wrong runbook, and keeps the set in force", async () => {
  await withBook(async (book, ctx) => {
    await book.install(await signRuleset(set(2, [promoted]), signer));
    const wrong: Rule = { ...promoted, id: "promoted.windows.update", check: "windows.update_service", platform: "windows", runbook: "windows.restart_event_log", params: {}, conditions: [] };
    const e = await caught(book.install(await signRuleset(set(3, [promoted, wrong]), signer)));
    assert.instance(e, HealError);
    assert.is((e as HealError).code, "ruleset_invalid");
    assert.match(e.message, /promoted.windows.update: runbook windows.restart_event_log fixes windows.event_log_service/);
    assert.is(book.version, 2);
    assert.is(Number((await ctx.store.execute("SELECT version FROM ruleset")).rows[0]!.version), 2, "nothing stored");
  });
});

test("RuleBook.install() refuses unknown signers and stale versions (IntegrityError codes), changing nothing", async () => {
  await withBook(async (book) => {
    await book.install(await signRuleset(set(5, [promoted]), signer));
    const table: [ReturnType<typeof signRuleset>, string][] = [
      [signRuleset(set(6, [promoted]), stranger), "unknown_key"],
      [signRuleset(set(5, [promoted]), signer), "stale_version"],
      [signRuleset(set(1, [promoted]), signer), "stale_version"],
    ];
    for (const [env, code] of table) {
      const e = await caught(book.install(await env));
      assert.instance(e, IntegrityError);
      assert.is((e as IntegrityError).code, code);
    }
    assert.is(book.version, 5);
  });
});

test("RuleBook.open() falls back to the built-in rules when the stored set no longer verifies", async () => {
  await withBook(async (book, ctx) => {
    await book.install(await signRuleset(set(7, [promoted]), signer));
    const log = recordingLog();
    const other = await RuleBook.open({ catalogue, store: ctx.store, relayKeys: () => [], clock: new FakeClock(), log });
    assert.is(other.version, null);
    assert.ok(log.lines.some((l) => l.level === "error" && l.msg === "ruleset_stored_unusable"));
    assert.is(other.select({ check: "windows.firewall_profiles", platform: "windows", facts: {} })?.runbook, "windows.enable_firewall_profiles");
  });
});

test.run();
