import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { canonicalize } from "../../protocol/canonical.ts";
import { count, enrolledAppliance, random, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { attemptFacts, importPushedAttempts, recordHealingAttempts } from "./attempts.ts";
import { groupKey } from "./mining.ts";
import { DEFENDER_OFF_UNKNOWN_MODE, attemptEntries, pushAttempts } from "./_testing.ts";

/**
 * Attempts as a relay without the push hook stored them (before the learning feature existed): the remediation
 * bundles pushed for real, the `healing_attempt` entries only as receipts, which is all such a relay kept.
 * Once per appliance: the receipts sit past the appliance's outbox cursor.
 */
async function receiptsOnly(relay: TestRelay, a: TestAppliance, specs: Parameters<typeof attemptEntries>[1]) {
  const out = await attemptEntries(a, specs);
  const base = a.outboxSeq - out.entries.length;
  const evidence = out.entries.filter((e) => e.type === "evidence").map((e, i) => ({ ...e, outbox_seq: base + 1 + i }));
  const res = await a.push(evidence);
  assert.is(res.status, 200, await res.clone().text());
  const received = isoTime(relay.clock.now());
  let seq = base + evidence.length;
  for (const b of out.bodies) {
    await relay.db.execute({ sql: "INSERT INTO outbox_receipts (appliance_id, outbox_seq, type, body, received_at) VALUES (?, ?, 'healing_attempt', ?, ?)", args: [a.id, ++seq, canonicalize(b), received] });
  }
  return out;
}

test("a push records its healing attempts at once: queryable rows with MSP, site, group key and the facts before", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const { bodies } = await pushAttempts(a, [{ params: { b: 2, a: 1 } }, { tier: "L3", outcome: "escalated", runbook: null }]);
    assert.is(await count(relay.db, "healing_attempts"), 2, "recorded by the push itself, no import needed");
    const rs = await relay.db.execute("SELECT * FROM healing_attempts ORDER BY finished_at, attempt_id");
    const row = rs.rows.find((r) => r["attempt_id"] === bodies[0]!.attempt_id)!;
    assert.equal(
      { msp: row["msp_id"], site: row["site_id"], app: row["appliance_id"], check: row["check_id"], platform: row["platform"], runbook: row["runbook"], params: row["params"], tier: row["tier"], outcome: row["outcome"], ms: row["duration_ms"], key: row["group_key"], prov: row["provenance"], seq: row["outbox_seq"] },
      { msp: relay.mspId, site: relay.siteId, app: a.id, check: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: '{"a":1,"b":2}', tier: "L2", outcome: "success", ms: 2000, key: groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", { a: 1, b: 2 }), prov: "appliance", seq: 2 },
    );
    assert.equal(JSON.parse(String(row["pre_state"])), DEFENDER_OFF_UNKNOWN_MODE, "facts come from the attempt's remediation bundle");
    const escalated = rs.rows.find((r) => r["attempt_id"] === bodies[1]!.attempt_id)!;
    assert.equal([escalated["runbook"], escalated["group_key"]], [null, null]);
    assert.is(await importPushedAttempts(relay.db, relay.clock), 0, "the receipts import finds them already there");
  } finally {
    await relay.close();
  }
});

test("importPushedAttempts() catches up on attempts stored only as receipts (pushed before the hook), once", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const { bodies } = await receiptsOnly(relay, a, [{ params: { b: 2, a: 1 } }, { outcome: "failed" }]);
    assert.is(await count(relay.db, "healing_attempts"), 0);
    assert.is(await importPushedAttempts(relay.db, relay.clock), 2);
    const row = (await relay.db.execute({ sql: "SELECT * FROM healing_attempts WHERE attempt_id = ?", args: [bodies[0]!.attempt_id] })).rows[0]!;
    assert.equal([row["msp_id"], row["site_id"], row["params"], row["provenance"]], [relay.mspId, relay.siteId, '{"a":1,"b":2}', "appliance"]);
    assert.equal(JSON.parse(String(row["pre_state"])), DEFENDER_OFF_UNKNOWN_MODE, "facts come from the attempt's remediation bundle");
    assert.is(await importPushedAttempts(relay.db, relay.clock), 0, "the cursor moved: nothing is imported twice");
    await receiptsOnly(relay, await enrolledAppliance(relay), [{ outcome: "failed" }]);
    assert.is(await importPushedAttempts(relay.db, relay.clock), 1, "later receipts (another appliance's) are picked up");
    assert.is(await count(relay.db, "healing_attempts"), 3);
  } finally {
    await relay.close();
  }
});

test("recordHealingAttempts() records each attempt once, whichever way it arrives first", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const { entries, bodies } = await pushAttempts(a, [{}, { tier: "L1", rule_id: "lrn_abcdefgh12345678" }]);
    assert.is(await count(relay.db, "healing_attempts"), 2, "the push recorded them");
    const received = isoTime(relay.clock.now());
    assert.is(await relay.db.transaction((tx) => recordHealingAttempts(tx, { id: a.id, site_id: a.siteId }, entries, received)), 0, "recording them again adds nothing");
    const again = await a.push(entries);
    assert.is(again.status, 200, "a retried push is acknowledged again");
    assert.is(await count(relay.db, "healing_attempts"), 2, "a retried push adds nothing");
    assert.is(await importPushedAttempts(relay.db, relay.clock), 0, "the receipts import finds them already there");
    const rule = await relay.db.execute({ sql: "SELECT rule_id, outbox_seq FROM healing_attempts WHERE attempt_id = ?", args: [bodies[1]!.attempt_id] });
    assert.equal([rule.rows[0]?.["rule_id"], rule.rows[0]?.["outbox_seq"]], ["lrn_abcdefgh12345678", 4]);
  } finally {
    await relay.close();
  }
});

test("attempts keep their site's MSP; the table is append-only", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const msp2 = await createMsp(relay.db, { name: "Other MSP" }, env);
    const org2 = await createOrganisation(relay.db, { msp_id: msp2.id, name: "Other clinic" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Elsewhere" }, env);
    const b = await enrolledAppliance(relay, undefined, site2.id);
    await pushAttempts(b, [{}]);
    const rs = await relay.db.execute("SELECT msp_id, site_id FROM healing_attempts");
    assert.equal([rs.rows[0]?.["msp_id"], rs.rows[0]?.["site_id"]], [msp2.id, site2.id]);
    for (const sql of ["UPDATE healing_attempts SET outcome = 'success'", "DELETE FROM healing_attempts"]) {
      try {
        await relay.db.execute(sql);
        assert.unreachable(sql);
      } catch (e) {
        assert.match((e as Error).message, /append-only/);
      }
    }
  } finally {
    await relay.close();
  }
});

test("attemptFacts() finds the remediation bundle of an attempt, and null when it is not at the relay", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const { bodies } = await pushAttempts(a, [{ facts: { "defender.running_mode": "Normal" } }]);
    const b = bodies[0]!;
    assert.equal(await attemptFacts(relay.db, a.id, b.attempt_id, b.finished_at), { "defender.running_mode": "Normal" });
    const unpushed = await attemptEntries(a, [{}]);
    const u = unpushed.bodies[0]!;
    assert.is(await attemptFacts(relay.db, a.id, u.attempt_id, u.finished_at), null);
  } finally {
    await relay.close();
  }
});

test.run();
