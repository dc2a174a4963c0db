import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex } from "../../protocol/encoding.ts";
import { verifyRuleset } from "../../protocol/ruleset.ts";
import { parsePullResponse } from "../../protocol/sync.ts";
import { asUser, count, enrolledAppliance, random, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { approveCandidate } from "./actions.ts";
import { getCandidate } from "./candidates.ts";
import { runLearningCycle, startLearningScheduler, takeLease } from "./cycle.ts";
import { candidateId, groupKey } from "./mining.ts";
import { ruleCounters } from "./monitor.ts";
import { updateLearningPolicy } from "./thresholds.ts";
import { ledger } from "./transitions.ts";
import { pushAttempts } from "./_testing.ts";

const H = 3_600_000;
const KEY = groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", {});

interface Fleet {
  relay: TestRelay;
  a1: TestAppliance;
  a2: TestAppliance;
  id: string;
}

/** Two sites of the test MSP, each with an appliance, and 5 L2 successes of the same fix between them. */
async function withFleet(fn: (f: Fleet) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Second clinic" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Second site" }, env);
    const a1 = await enrolledAppliance(relay);
    const a2 = await enrolledAppliance(relay, undefined, site2.id);
    const t0 = relay.clock.now();
    await pushAttempts(a1, [{ at: t0 - 30 * H }, { at: t0 - 20 * H }, { at: t0 - 10 * H }]);
    await pushAttempts(a2, [{ at: t0 - 25 * H }, { at: t0 - 5 * H }]);
    await fn({ relay, a1, a2, id: candidateId(relay.mspId, KEY) });
  } finally {
    await relay.close();
  }
}

const cycle = (relay: TestRelay) => runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });

async function pulledRules(a: TestAppliance, relay: TestRelay, version: number | null): Promise<{ version: number; ids: string[] } | null> {
  const res = await a.request("GET", `/api/sync/pull${version === null ? "" : `?ruleset_version=${version}`}`);
  assert.is(res.status, 200, await res.clone().text());
  const pulled = parsePullResponse(await res.json());
  if (!pulled.ruleset) return null;
  const keys = pulled.relay_keys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
  const v = await verifyRuleset(pulled.ruleset, { relayKeys: keys, currentVersion: version });
  void relay;
  return { version: v.payload.version, ids: v.payload.rules.map((r) => r.id) };
}

test("a fix proven at two sites becomes a candidate in shadow with its replay; a second cycle changes nothing", async () => {
  await withFleet(async ({ relay, id }) => {
    const r = await cycle(relay);
    assert.is(r.imported, 0, "the pushes recorded every attempt; the receipts import had nothing to catch up");
    assert.is(await count(relay.db, "healing_attempts"), 5);
    assert.equal(r.msps.map((m) => [m.proposed, m.shadowed, m.activated, m.published]), [[[id], [id], [], false]]);
    const c = await getCandidate(relay.db, id);
    assert.is(c.state, "shadow");
    assert.equal([c.replay?.agree, c.replay?.disagree, c.replay?.pass], [5, 0, true]);
    assert.equal((c.stats as { occurrences: number; sites: string[] }).occurrences, 5);
    assert.is((c.stats as { sites: string[] }).sites.length, 2);
    const again = await cycle(relay);
    assert.equal(again.msps.map((m) => [m.proposed, m.shadowed, m.published]), [[[], [], false]]);
    assert.is(await count(relay.db, "learning_transitions"), 2);
    assert.is(await count(relay.db, "rulesets"), 0, "nothing is published before approval");
  });
});

test("approval signs an MSP rule set with the rule; executions are counted; a failing canary disables it and the next set drops it", async () => {
  await withFleet(async ({ relay, a1, a2, id }) => {
    await cycle(relay);
    const tech = await asUser(relay, "msp_tech");
    const approved = await relay.db.transaction((tx) => approveCandidate(tx, { clock: relay.clock, relayKey: relay.relayKey }, id, { kind: "user", principal: tech.principal }, "proven at both clinics"));
    assert.equal([approved.state, approved.published], ["active", true]);
    const v1 = approved.ruleset_version!;
    assert.equal(await pulledRules(a1, relay, null), { version: v1, ids: [id] });
    assert.equal(await pulledRules(a2, relay, null), { version: v1, ids: [id] });

    // Another MSP's appliance never receives this MSP's rules.
    const env = { clock: relay.clock, random };
    const other = await createMsp(relay.db, { name: "Other MSP" }, env);
    const org = await createOrganisation(relay.db, { msp_id: other.id, name: "Other" }, env);
    const site = await createSite(relay.db, { org_id: org.id, name: "Other site" }, env);
    const stranger = await enrolledAppliance(relay, undefined, site.id);
    assert.is(await pulledRules(stranger, relay, null), null);

    // The rule runs at L1 at both sites: 1 success then 2 failures within the canary window.
    relay.clock.t += 2 * H;
    await pushAttempts(a1, [{ tier: "L1", rule_id: id }]);
    const last = await pushAttempts(a2, [{ tier: "L1", rule_id: id, outcome: "failed" }, { tier: "L1", rule_id: id, outcome: "deferred" }]);
    let r = await cycle(relay);
    assert.equal(r.msps[0]!.disabled, [], "two runs are too few for the canary");
    assert.equal((await ruleCounters(relay.db, relay.mspId, [id])).get(id), { executions: 2, successes: 1, failures: 1, not_run: 1, sites: 2, last_run_at: last.bodies[0]!.finished_at });
    await pushAttempts(a1, [{ tier: "L1", rule_id: id, outcome: "failed" }]);
    r = await cycle(relay);
    assert.equal(r.msps[0]!.disabled, [id]);
    assert.is(r.msps[0]!.published, true);
    const v2 = r.msps[0]!.ruleset_version!;
    assert.ok(v2 > v1);
    assert.equal(await pulledRules(a1, relay, v1), { version: v2, ids: [] }, "the next set no longer contains the rule");

    const steps = await ledger(relay.db, id);
    assert.equal(steps.map((s) => [s.to, s.actor_kind]), [["proposed", "system"], ["shadow", "system"], ["approved", "user"], ["active", "system"], ["auto_disabled", "system"]]);
    assert.equal(steps[3]!.proof["ruleset_version"], v1);
    assert.match(steps[4]!.reason, "canary failed: 1 of its first 3 runs succeeded");
    const audit = await relay.db.execute("SELECT action, target FROM audit_log WHERE action LIKE 'learning.%'");
    assert.equal(audit.rows.map((x) => [x["action"], x["target"]]), [["learning.candidate.approve", id]]);
  });
});

test("with auto-promotion on, policy approves a candidate whose replay passed, and it goes live at once", async () => {
  await withFleet(async ({ relay, a1, id }) => {
    await updateLearningPolicy(relay.db, relay.clock, relay.mspId, { auto_promote: true }, "test");
    const r = await cycle(relay);
    assert.equal([r.msps[0]!.approved, r.msps[0]!.activated, r.msps[0]!.published], [[id], [id], true]);
    assert.equal((await ledger(relay.db, id)).map((s) => `${s.to}:${s.actor_kind}:${s.actor_id}`), ["proposed:system:system:mining", "shadow:system:system:shadow-replay", "approved:policy:policy:auto_promote", "active:system:system:distribution"]);
    assert.equal((await pulledRules(a1, relay, null))?.ids, [id]);
  });
});

test("a group that meets the thresholds but whose rule appliances would refuse is never proposed", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Second clinic" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Second site" }, env);
    const a1 = await enrolledAppliance(relay);
    const a2 = await enrolledAppliance(relay, undefined, site2.id);
    const bitlocker = { check: "windows.bitlocker", runbook: "windows.enable_bitlocker_made_up" };
    await pushAttempts(a1, [bitlocker, bitlocker, bitlocker]);
    await pushAttempts(a2, [bitlocker, bitlocker]);
    const r = await cycle(relay);
    assert.equal(r.msps[0]!.proposed, []);
    assert.match(r.msps[0]!.skipped[0]!.problems.join("; "), "windows.enable_bitlocker_made_up is not in catalogue");
    assert.is(await count(relay.db, "learning_candidates"), 0);
  } finally {
    await relay.close();
  }
});

test("the scheduler runs cycles only while it holds the lease", async () => {
  await withFleet(async ({ relay, id }) => {
    const now = relay.clock.now();
    assert.ok(await takeLease(relay.db, "someone-else", now, now + 60_000));
    const deps = { db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log, random };
    const s = startLearningScheduler(deps, { intervalMs: 60_000 });
    try {
      assert.is(await s.runNow(), null, "another process holds the lease");
      assert.is(await count(relay.db, "learning_candidates"), 0);
      relay.clock.t += 61_000;
      await s.runNow(); // (the timer's own first tick may be the one that runs)
      assert.is((await getCandidate(relay.db, id)).state, "shadow");
    } finally {
      await s.stop();
    }
  });
});

test.run();
