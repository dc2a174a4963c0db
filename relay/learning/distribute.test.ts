import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { RULESET_SCHEMA } from "../../protocol/ruleset.ts";
import { count, testRelay } from "../_testing.ts";
import { latestRulesetRow, publishRuleset, storedRulesetPayload } from "../orders/rulesets.ts";
import { syncMspRuleset } from "./distribute.ts";
import { candidateId, groupKey } from "./mining.ts";
import { builtinRules, promotedRule, ruleProblems, PROMOTED_PRIORITY } from "./rules.ts";
import { proposeCandidate } from "./transitions.ts";

test("syncMspRuleset() publishes only when the live rules change, and keeps an operator's shared rules in the MSP's set", async () => {
  const relay = await testRelay();
  try {
    const deps = { clock: relay.clock, relayKey: relay.relayKey };
    const key = groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", {});
    const id = candidateId(relay.mspId, key);
    await relay.db.transaction((tx) => proposeCandidate(tx, relay.clock, { id, msp_id: relay.mspId, group_key: key, check_id: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: "{}", stats: {} }, "test"));

    assert.is((await relay.db.transaction((tx) => syncMspRuleset(tx, deps, relay.mspId))).published, false, "no live rules, no set");
    const shared = { ...builtinRules()[0]!, id: "operator.tuned.rule", priority: 20 };
    await publishRuleset(relay.db, { schema: RULESET_SCHEMA, version: 1, issued_at: isoTime(relay.clock.now()), rules: [shared] }, relay.relayKey);

    const first = await relay.db.transaction((tx) => syncMspRuleset(tx, deps, relay.mspId, [id]));
    assert.equal([first.published, first.current?.version, first.rule_ids], [true, 2, [id, "operator.tuned.rule"].sort()]);
    const stored = storedRulesetPayload((await latestRulesetRow(relay.db, { msp_id: relay.mspId }))!.envelope);
    assert.equal(stored.rules.find((r) => r.id === id), { id, check: "windows.defender_realtime", platform: "windows", conditions: [], runbook: "windows.enable_defender_realtime", params: {}, priority: PROMOTED_PRIORITY, source: "promoted" });

    const again = await relay.db.transaction((tx) => syncMspRuleset(tx, deps, relay.mspId, [id]));
    assert.equal([again.published, again.current?.version], [false, 2], "same live rules: no new version");
    const dropped = await relay.db.transaction((tx) => syncMspRuleset(tx, deps, relay.mspId));
    assert.equal([dropped.published, dropped.current?.version, dropped.rule_ids], [true, 3, ["operator.tuned.rule"]]);
    assert.is(await count(relay.db, "rulesets"), 3);
  } finally {
    await relay.close();
  }
});

test("ruleProblems() refuses what appliances refuse: unknown runbooks, a runbook for another check, bad params, encryption checks", () => {
  const ok = promotedRule({ id: "lrn_a", check_id: "windows.screen_lock", platform: "windows", runbook: "windows.set_screen_lock", params: { timeout_s: 600 } });
  assert.equal(ruleProblems([ok]), []);
  const wrongCheck = promotedRule({ id: "lrn_b", check_id: "windows.guest_account", platform: "windows", runbook: "windows.set_screen_lock", params: {} });
  assert.match(ruleProblems([wrongCheck]).join(";"), "fixes windows.screen_lock on windows, not windows.guest_account");
  const badParams = promotedRule({ id: "lrn_c", check_id: "windows.screen_lock", platform: "windows", runbook: "windows.set_screen_lock", params: { timeout_s: "soon" } });
  assert.match(ruleProblems([badParams]).join(";"), "params for windows.set_screen_lock");
  const unknown = promotedRule({ id: "lrn_d", check_id: "windows.bitlocker", platform: "windows", runbook: "windows.enable_bitlocker", params: {} });
  assert.match(ruleProblems([unknown]).join(";"), "runbook windows.enable_bitlocker is not in catalogue");
  const encryption = { ...promotedRule({ id: "lrn_e", check_id: "windows.screen_lock", platform: "windows", runbook: "windows.set_screen_lock", params: {} }), check: "windows.bitlocker" };
  assert.match(ruleProblems([encryption]).join(";"), "encryption check, which is never fixed automatically");
  assert.equal(ruleProblems(builtinRules()), [], "the catalogue's own rules pass");
});

test.run();
