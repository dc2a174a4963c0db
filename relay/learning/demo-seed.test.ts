import { test } from "uvu";
import * as assert from "uvu/assert";
import { count, random, testRelay } from "../_testing.ts";
import { createOrganisation, createSite } from "../tenants/tenants.ts";
import { listCandidates } from "./candidates.ts";
import { runLearningCycle } from "./cycle.ts";
import { seedSimulatedHistory, SIMULATED_APPLIANCE } from "./demo-seed.ts";

test("seedSimulatedHistory() writes a labelled simulated history at two sites from which the loop proposes both fixes", async () => {
  const relay = await testRelay();
  try {
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Lakeside Pediatrics" }, { clock: relay.clock, random });
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Lakeside main" }, { clock: relay.clock, random });
    const sites = [relay.siteId, site2.id];
    const r = await seedSimulatedHistory(relay.db, { sites, now: relay.clock.now() });
    assert.is(r.inserted, 12, "2 sites × 2 fixes × 3 resolutions");
    assert.is(await count(relay.db, "healing_attempts", "provenance LIKE 'simulated:%' AND appliance_id = ?", [SIMULATED_APPLIANCE]), 12);
    assert.is(await count(relay.db, "healing_attempts", "provenance NOT LIKE 'simulated:%'"), 0, "every row is labelled simulated");
    assert.equal((await seedSimulatedHistory(relay.db, { sites, now: relay.clock.now() })).inserted, 0, "seeding again adds nothing");

    await runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    const candidates = await listCandidates(relay.db, relay.mspId);
    assert.equal(candidates.map((c) => [c.check_id, c.runbook, c.state, c.replay?.pass]).sort(), [
      ["windows.defender_realtime", "windows.enable_defender_realtime", "shadow", true],
      ["windows.update_service", "windows.restart_windows_update", "shadow", true],
    ]);
  } finally {
    await relay.close();
  }
});

test("seedSimulatedHistory() with one site: 3 runs per fix propose nothing, 6 propose rules for that site only; unknown sites are refused", async () => {
  const relay = await testRelay();
  try {
    const learn = () => runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    await seedSimulatedHistory(relay.db, { sites: [relay.siteId], now: relay.clock.now() });
    await learn();
    assert.is(await count(relay.db, "learning_candidates"), 0, "3 runs per fix at one site: under 5, and one site is not fleet-wide");
    await seedSimulatedHistory(relay.db, { sites: [relay.siteId], now: relay.clock.now() + 60_000, perSite: 6 });
    await learn();
    const candidates = await listCandidates(relay.db, relay.mspId);
    assert.equal(candidates.map((c) => [c.check_id, c.scope_site_id, c.state, c.replay?.pass]).sort(), [
      ["windows.defender_realtime", relay.siteId, "shadow", true],
      ["windows.update_service", relay.siteId, "shadow", true],
    ]);
    try {
      await seedSimulatedHistory(relay.db, { sites: ["site_doesnotexist1"], now: relay.clock.now() });
      assert.unreachable("unknown site");
    } catch (e) {
      assert.match((e as Error).message, "no such site");
    }
  } finally {
    await relay.close();
  }
});

test("seedSimulatedHistory() keeps fixes that differ only in parameters apart", async () => {
  const relay = await testRelay();
  try {
    const base = { check: "windows.screen_lock", platform: "windows", runbook: "windows.set_screen_lock", host_id: "sim-ws-03", facts: {} };
    const r = await seedSimulatedHistory(relay.db, { sites: [relay.siteId], now: relay.clock.now(), perSite: 2, fixes: [{ ...base, params: { timeout_s: 600 } }, { ...base, params: { timeout_s: 900 } }] });
    assert.is(r.inserted, 4);
    assert.is(await count(relay.db, "healing_attempts", "params = ?", ['{"timeout_s":900}']), 2);
  } finally {
    await relay.close();
  }
});

test.run();
