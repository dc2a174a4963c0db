import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { RULESET_SCHEMA, type RulesetPayload } from "../../protocol/ruleset.ts";
import { random, testRelay } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { insertRuleset, latestRuleset, latestRulesetRow, publishRuleset, storedRulesetPayload } from "./rulesets.ts";

const payload = (version: number, at: number): RulesetPayload => ({ schema: RULESET_SCHEMA, version, issued_at: isoTime(at), rules: [] });

test("an MSP's rule set reaches only that MSP's sites; a set for every appliance reaches all; versions are one sequence", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const other = await createMsp(relay.db, { name: "Other MSP" }, env);
    const org = await createOrganisation(relay.db, { msp_id: other.id, name: "Other" }, env);
    const otherSite = await createSite(relay.db, { org_id: org.id, name: "Other site" }, env);
    const now = relay.clock.now();
    const versionFor = async (site_id: string) => (await latestRuleset(relay.db, { site_id }))?.version ?? null;

    assert.is(await versionFor(relay.siteId), null);
    await publishRuleset(relay.db, payload(1, now), relay.relayKey);
    assert.equal([await versionFor(relay.siteId), await versionFor(otherSite.id)], [1, 1]);
    await publishRuleset(relay.db, payload(2, now), relay.relayKey, { msp_id: relay.mspId });
    assert.equal([await versionFor(relay.siteId), await versionFor(otherSite.id)], [2, 1], "the other MSP keeps the shared set");
    assert.equal((await latestRulesetRow(relay.db, { msp_id: relay.mspId }))?.msp_id, relay.mspId);
    await publishRuleset(relay.db, payload(3, now), relay.relayKey);
    assert.equal([await versionFor(relay.siteId), await versionFor(otherSite.id)], [3, 3]);
    assert.is((await latestRuleset(relay.db))?.version, 3, "without a scope: the newest of all");

    try {
      await publishRuleset(relay.db, payload(3, now), relay.relayKey, { msp_id: other.id });
      assert.unreachable("stale");
    } catch (e) {
      assert.is((e as { code?: string }).code, "stale_version");
    }
    const stored = await latestRulesetRow(relay.db);
    assert.equal(storedRulesetPayload(stored!.envelope), payload(3, now));

    // A set for one site reaches only that site; one naming another MSP's site is refused and nothing is stored.
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Lakeside Pediatrics" }, env);
    const lakeside = await createSite(relay.db, { org_id: org2.id, name: "Lakeside main" }, env);
    await relay.db.transaction((tx) => insertRuleset(tx, payload(4, now), relay.relayKey, relay.mspId, lakeside.id));
    assert.equal([await versionFor(relay.siteId), await versionFor(lakeside.id), await versionFor(otherSite.id)], [3, 4, 3]);
    assert.is((await latestRulesetRow(relay.db, { msp_id: relay.mspId }))?.version, 3, "the MSP-wide look-up ignores site sets");
    try {
      await relay.db.transaction((tx) => insertRuleset(tx, payload(5, now), relay.relayKey, relay.mspId, otherSite.id));
      assert.unreachable("another MSP's site");
    } catch (e) {
      assert.match((e as Error).message, "rulesets.site_id must be a site of the set's msp_id");
    }
    assert.is((await latestRuleset(relay.db))?.version, 4);
  } finally {
    await relay.close();
  }
});

test.run();
